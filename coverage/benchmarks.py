"""Benchmark profiles: the figures a network is held against.

Profiles are TOML files shipped in ``coverage/profiles/``; a user may pass the path of
their own TOML file. Each value cites its source.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import InputError

__all__ = [
    "Benchmark",
    "DistanceRule",
    "list_benchmarks",
    "load_benchmark",
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
        ``"all"`` (whole population) or ``"rural"``; rules on other scopes are
        reported but only ``"all"`` is evaluated.
    """

    distance_km: float
    min_share: float
    scope: str = "all"


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
    """

    name: str
    title: str
    radius_km: float | None = None
    people_per_point: float | None = None
    require_staffed: bool = True
    distance_rules: tuple[DistanceRule, ...] = field(default_factory=tuple)
    sources: tuple[str, ...] = field(default_factory=tuple)
    path: str | None = None

    @property
    def access_thresholds_km(self) -> tuple[float, ...]:
        """Distinct distance thresholds of the profile, ascending (km)."""
        return tuple(sorted({r.distance_km for r in self.distance_rules}))


def _profile_dir():
    return resources.files("coverage") / "profiles"


def _parse(data: dict, *, origin: str) -> Benchmark:
    problems = []
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append("missing 'name' (a short identifier)")
    for key in ("radius_km", "people_per_point"):
        value = data.get(key)
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or value <= 0
        ):
            problems.append(f"'{key}' must be a positive number, got {value!r}")
    rules = []
    for i, rule in enumerate(data.get("distance_rules", []) or []):
        try:
            dist = float(rule["distance_km"])
            share = float(rule["min_share"])
        except (KeyError, TypeError, ValueError):
            problems.append(
                f"distance_rules[{i}] needs numeric 'distance_km' and 'min_share'"
            )
            continue
        if dist <= 0 or not 0 <= share <= 1:
            problems.append(
                f"distance_rules[{i}]: distance_km must be > 0 and min_share in [0, 1]"
            )
            continue
        rules.append(DistanceRule(dist, share, str(rule.get("scope", "all"))))
    if problems:
        msg = f"{origin}: invalid benchmark profile: " + "; ".join(problems)
        raise InputError(msg)
    sources = data.get("sources", [])
    if isinstance(sources, str):
        sources = [sources]
    return Benchmark(
        name=name,
        title=str(data.get("title", name)),
        radius_km=None if data.get("radius_km") is None else float(data["radius_km"]),
        people_per_point=None
        if data.get("people_per_point") is None
        else float(data["people_per_point"]),
        require_staffed=bool(data.get("require_staffed", True)),
        distance_rules=tuple(rules),
        sources=tuple(str(s) for s in sources),
        path=origin,
    )


def list_benchmarks() -> list[Benchmark]:
    """Return every benchmark profile shipped with the package, sorted by name."""
    out = []
    for entry in _profile_dir().iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            out.append(_parse(data, origin=f"profile {entry.name}"))
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
        return _parse(data, origin=str(path))
    known = {b.name: b for b in list_benchmarks()}
    if text not in known:
        msg = (
            f"unknown benchmark {text!r}; choose one of {', '.join(sorted(known))} "
            "(see `coverage benchmarks`) or pass a path to a TOML file"
        )
        raise InputError(msg)
    return known[text]
