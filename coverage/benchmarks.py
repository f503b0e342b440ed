"""Benchmark profiles: the figures a network is held against.

Profiles are TOML files shipped in ``coverage/profiles/``; a user may pass the path of
their own TOML file. Each value cites its source.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = [
    "SCOPES",
    "TIME_MODES",
    "Benchmark",
    "DistanceRule",
    "TimeRule",
    "list_benchmarks",
    "load_benchmark",
    "parse_benchmark",
    "rule_label",
    "time_rule_text",
]


@dataclass(frozen=True)
class DistanceRule:
    """A share of population that must live within a distance of a service point.

    Attributes
    ----------
    distance_km : float
        The distance threshold in kilometres (straight line).
    min_share : float
        The required share of population within ``distance_km``, in [0, 1].
    scope : str
        ``"all"`` (whole population), ``"rural"`` or ``"urban"`` (:data:`SCOPES`);
        rules on other scopes are reported but only ``"all"`` is evaluated.
    """

    distance_km: float
    min_share: float
    scope: str = "all"


@dataclass(frozen=True)
class TimeRule:
    """A share of population that must live within a travel time of a point.

    Attributes
    ----------
    minutes : float
        The time threshold in minutes (over roads and terrain: ``--roads``).
    min_share : float
        The required share of population within ``minutes``, in [0, 1].
    mode : str or None
        The travel mode the rule is stated for (``walk``, ``motorbike``, ``car``);
        ``None`` for any.
    """

    minutes: float
    min_share: float
    mode: str | None = None


_MODE_WORDS = {"walk": " on foot", "motorbike": " by motorbike", "car": " by car"}


def rule_label(rule: DistanceRule, *, scope_note: str = "") -> str:
    """Name a rule: ``95.0% within 5 km``, ``99.0% within 4.83 km (rural)``.

    Parameters
    ----------
    rule
        The distance rule.
    scope_note
        Text appended inside the scope's brackets (e.g. ``": not evaluated"``);
        a rule of scope ``"all"`` shows no scope.

    Examples
    --------
    >>> rule_label(DistanceRule(5.0, 0.95, "all"))
    '95.0% within 5 km'
    """
    scope = "" if rule.scope == "all" else f" ({rule.scope}{scope_note})"
    return f"{rule.min_share:.1%} within {rule.distance_km:g} km{scope}"


def time_rule_text(rule: TimeRule) -> str:
    """Describe a time rule: ``90.0% within 20 min by car``.

    Examples
    --------
    >>> time_rule_text(TimeRule(20.0, 0.9, "walk"))
    '90.0% within 20 min on foot'
    """
    mode = _MODE_WORDS.get(rule.mode or "", "")
    return f"{rule.min_share:.1%} within {rule.minutes:g} min{mode}"


@dataclass(frozen=True)
class Benchmark:
    """A benchmark profile.

    Attributes
    ----------
    name : str
        Short identifier used with ``--benchmark``.
    title : str
        One-line description.
    radius_km : float or None
        Maximum average service radius per point, km (lower is better).
    people_per_point : float or None
        Maximum people per service point (lower is better).
    require_staffed : bool
        Every commune must have at least one staffed point.
    distance_rules : tuple of DistanceRule
        Distance-based access rules ("95% of population within 5 km").
    sources : tuple of str
        Where the figures come from.
    time_rules : tuple of TimeRule
        Travel-time rules ("100% within 20 minutes by car"); they need ``--roads``.
    title_vi : str or None
        The title in Vietnamese (``--lang vi``); None falls back to ``title``.
    capacity : tuple of (str, float)
        ``[capacity]`` of the profile: default capacity per point kind, in the
        unit of the points' capacity column (counters, staff, dossiers per day),
        used where a point has no capacity of its own.
    people_per_unit : float
        ``[capacity] people_per_unit``: people one unit of capacity serves (1: the
        capacities are people already). Load = population served / (capacity x
        people_per_unit).
    """

    name: str
    title: str
    radius_km: float | None = None
    people_per_point: float | None = None
    require_staffed: bool = True
    distance_rules: tuple[DistanceRule, ...] = field(default_factory=tuple)
    sources: tuple[str, ...] = field(default_factory=tuple)
    path: str | None = None
    time_rules: tuple[TimeRule, ...] = field(default_factory=tuple)
    title_vi: str | None = None

    capacity: tuple[tuple[str, float], ...] = ()
    people_per_unit: float = 1.0

    def title_in(self, lang: str) -> str:
        """Return the title in ``lang`` (``title_vi`` for ``"vi"`` when given)."""
        return self.title_vi if lang == "vi" and self.title_vi else self.title

    @property
    def capacity_by_kind(self) -> dict[str, float]:
        """Default capacity per point kind (``[capacity]`` of the profile)."""
        return dict(self.capacity)

    @property
    def access_thresholds_km(self) -> tuple[float, ...]:
        """Distinct distance thresholds of the profile, ascending (km)."""
        return tuple(sorted({r.distance_km for r in self.distance_rules}))


def _profile_dir() -> Traversable:
    return resources.files("coverage") / "profiles"


_TOP_KEYS = (
    "name",
    "title",
    "title_vi",
    "radius_km",
    "people_per_point",
    "require_staffed",
    "distance_rules",
    "time_rules",
    "sources",
    "capacity",
)
_RULE_KEYS = ("distance_km", "min_share", "scope")
_TIME_RULE_KEYS = ("minutes", "min_share", "mode")
TIME_MODES = ("walk", "motorbike", "car")
# from one minute to a day
_MIN_RANGE = (1.0, 1440.0)
SCOPES = ("all", "rural", "urban")
# Bounds of meaningful values (less than a metre or one person per point, more
# than half the Earth's circumference); tiny values overflow the points needed.
_KM_RANGE = (0.001, 20_000.0)
_PEOPLE_RANGE = (1.0, 1e10)


def _unknown_keys(
    table: dict[str, Any], valid: tuple[str, ...], *, where: str
) -> list[str]:
    problems = []
    for key in table:
        if key in valid:
            continue
        close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        problems.append(
            f"unknown key '{where}{key}' ({hint}valid keys: {', '.join(valid)})"
        )
    return problems


def _number(
    value: Any, *, key: str, bounds: tuple[float, float], unit: str
) -> tuple[float | None, str | None]:
    """Return ``(value, None)`` for a finite number in ``bounds``, else a problem."""
    low, high = bounds
    wanted = f"'{key}' must be a number {unit}from {_figure(low)} to {_figure(high)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"{wanted}, got {_shown(value)}"
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        return None, f"{wanted}, got {value!r}"
    return number, None


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", str: "a string", list: "an array", dict: "a table"}
    for cls, text in kind.items():
        if isinstance(value, cls):
            return f"{text} ({value!r})" if cls is not dict else text
    return repr(value)


def _rule_tables(
    value: Any, problems: list[str], *, name: str, example: str
) -> list[tuple[str, dict[str, Any]]]:
    """``(where, table)`` of each rule table of ``name``; other items are problems."""
    if not isinstance(value, list):
        problems.append(
            f"'{name}' must be an array of tables such as [{example}], got "
            + _shown(value)
        )
        return []
    tables = []
    for i, rule in enumerate(value):
        where = f"{name}[{i}]"
        if isinstance(rule, dict):
            tables.append((where, rule))
        else:
            problems.append(
                f"'{where}' must be a table such as {example}, got " + _shown(rule)
            )
    return tables


def _rule_figures(
    rule: dict[str, Any],
    where: str,
    *,
    keys: tuple[str, ...],
    measure: str,
    bounds: tuple[float, float],
    unit: str,
) -> tuple[float | None, float | None, list[str]]:
    """Check a rule's keys, its measure (km or minutes) and ``min_share``."""
    found = _unknown_keys(rule, keys, where=f"{where}.")
    for key in (measure, "min_share"):
        if key not in rule:
            found.append(f"'{where}' lacks '{key}'")
    amount, share = None, None
    if measure in rule:
        amount, bad = _number(
            rule[measure], key=f"{where}.{measure}", bounds=bounds, unit=unit
        )
        found += [bad] if bad else []
    if "min_share" in rule:
        share, bad = _number(
            rule["min_share"], key=f"{where}.min_share", bounds=(0.0, 1.0), unit=""
        )
        found += [bad] if bad else []
    return amount, share, found


def _choice(value: Any, choices: tuple[str, ...], key: str) -> list[str]:
    """Return the problem when ``value`` is not one of ``choices`` (closest one)."""
    if value in choices:
        return []
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return [f"'{key}' must be one of {', '.join(choices)}, got {_shown(value)}{hint}"]


def _parse_rules(value: Any, problems: list[str]) -> list[DistanceRule]:
    example = "{ distance_km = 5.0, min_share = 0.95 }"
    rules = []
    tables = _rule_tables(value, problems, name="distance_rules", example=example)
    for where, rule in tables:
        dist, share, found = _rule_figures(
            rule,
            where,
            keys=_RULE_KEYS,
            measure="distance_km",
            bounds=_KM_RANGE,
            unit="of km ",
        )
        scope = rule.get("scope", "all")
        found += _choice(scope, SCOPES, f"{where}.scope")
        problems += found
        if not found and dist is not None and share is not None:
            rules.append(DistanceRule(dist, share, str(scope)))
    return rules


def _parse_time_rules(value: Any, problems: list[str]) -> list[TimeRule]:
    example = '{ minutes = 20, min_share = 1.0, mode = "car" }'
    rules = []
    for where, rule in _rule_tables(
        value, problems, name="time_rules", example=example
    ):
        minutes, share, found = _rule_figures(
            rule,
            where,
            keys=_TIME_RULE_KEYS,
            measure="minutes",
            bounds=_MIN_RANGE,
            unit="of minutes ",
        )
        mode = rule.get("mode")
        if mode is not None:
            found += _choice(mode, TIME_MODES, f"{where}.mode")
        problems += found
        if not found and minutes is not None and share is not None:
            rules.append(TimeRule(minutes, share, None if mode is None else str(mode)))
    return rules


def _parse_sources(value: Any, problems: list[str]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        problems.append(
            "'sources' must be a string or an array of strings, got " + _shown(value)
        )
        return ()
    return tuple(items)


def _parse_capacity(
    value: Any, problems: list[str]
) -> tuple[tuple[tuple[str, float], ...], float]:
    from .model import KINDS

    if not isinstance(value, dict):
        problems.append(
            "'capacity' must be a table such as [capacity] post_office = 3, got "
            + _shown(value)
        )
        return (), 1.0
    problems += _unknown_keys(value, (*KINDS, "people_per_unit"), where="capacity.")
    per_kind: list[tuple[str, float]] = []
    unit = 1.0
    for key in (*KINDS, "people_per_unit"):
        if key not in value:
            continue
        number, bad = _number(
            value[key], key=f"capacity.{key}", bounds=(0.0, 1e10), unit=""
        )
        problems += [bad] if bad else []
        if number is not None and key == "people_per_unit":
            unit = number
        elif number is not None:
            per_kind.append((key, number))
    return tuple(per_kind), unit


def parse_benchmark(data: dict[str, Any], *, origin: str) -> Benchmark:
    """Check a profile read from TOML against the schema and build the benchmark.

    Every problem is collected (unknown keys with the closest valid one, wrong
    types, non-finite or out-of-range values) and reported together.

    Parameters
    ----------
    data
        The parsed TOML document.
    origin
        How to name the profile in messages (its file path).

    Returns
    -------
    Benchmark
        The profile, with ``path`` set to ``origin``.

    Raises
    ------
    InputError
        Listing every problem, each naming its key, joined on one line.
    """
    problems = _unknown_keys(data, _TOP_KEYS, where="")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        got = "" if name is None else f", got {_shown(name)}"
        problems.append(f"'name' must be a non-empty string (a short identifier){got}")
    title = data.get("title", name)
    if "title" in data and not isinstance(title, str):
        problems.append(f"'title' must be a string, got {_shown(title)}")
    title_vi = data.get("title_vi")
    if title_vi is not None and not isinstance(title_vi, str):
        problems.append(f"'title_vi' must be a string, got {_shown(title_vi)}")
    values: dict[str, float | None] = {}
    for key, bounds, unit in (
        ("radius_km", _KM_RANGE, "of km "),
        ("people_per_point", _PEOPLE_RANGE, "of people "),
    ):
        values[key] = None
        if key in data:
            values[key], bad = _number(data[key], key=key, bounds=bounds, unit=unit)
            problems += [bad] if bad else []
    staffed = data.get("require_staffed", True)
    if not isinstance(staffed, bool):
        problems.append(
            "'require_staffed' must be a TOML boolean (true or false, without "
            f"quotes), got {_shown(staffed)}"
        )
    rules = _parse_rules(data.get("distance_rules", []), problems)
    time_rules = _parse_time_rules(data.get("time_rules", []), problems)
    sources = _parse_sources(data.get("sources", []), problems)
    capacity, per_unit = _parse_capacity(data.get("capacity", {}), problems)
    if problems:
        msg = f"{origin}: invalid benchmark profile: " + "; ".join(problems)
        raise InputError(msg)
    return Benchmark(
        name=str(name),
        title=str(title),
        radius_km=values["radius_km"],
        people_per_point=values["people_per_point"],
        require_staffed=bool(staffed),
        distance_rules=tuple(rules),
        sources=sources,
        path=origin,
        time_rules=tuple(time_rules),
        title_vi=title_vi if isinstance(title_vi, str) else None,
        capacity=capacity,
        people_per_unit=per_unit,
    )


def list_benchmarks() -> list[Benchmark]:
    """Return every benchmark profile shipped with the package, sorted by name."""
    out = []
    for entry in _profile_dir().iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            out.append(parse_benchmark(data, origin=f"profile {entry.name}"))
    return sorted(out, key=lambda b: b.name)


def load_benchmark(name_or_path: str | Path) -> Benchmark:
    """Load a shipped profile by name, or a user's TOML file by path.

    Parameters
    ----------
    name_or_path
        A profile name listed by ``coverage benchmarks`` or a path to a TOML file.

    Raises
    ------
    InputError
        When the name is unknown, or the file is unreadable or invalid.
    """
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            msg = (
                f"{path}: benchmark file not found; pass a profile name or a TOML path"
            )
            raise InputError(msg) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"{path}: cannot read benchmark TOML ({exc}); fix the file's syntax"
            raise InputError(msg) from None
        return parse_benchmark(data, origin=str(path))
    known = {b.name: b for b in list_benchmarks()}
    if text not in known:
        msg = (
            f"unknown benchmark {text!r}; choose one of {', '.join(sorted(known))} "
            "(see `coverage benchmarks`) or pass a path to a TOML file"
        )
        raise InputError(msg)
    return known[text]
