"""Travel profiles: the speed of a mode on each road class and off road.

A profile is a small TOML file. The shipped ones (``walk``, ``motorbike``, ``car``)
live in ``coverage/profiles/travel/`` and cite their sources or state their
assumptions; a user passes a path to their own file, which may start from a shipped
profile with ``base = "motorbike"`` and override only some values::

    name = "motorbike-wet-season"
    base = "motorbike"
    offroad_speed_kmh = 3.0

    [road_speed_kmh]
    track = 8.0

Keys: ``name`` (str), ``title`` (str), ``mode`` (str), ``base`` (str, a shipped
profile), ``offroad_speed_kmh`` (number > 0), ``sources`` (list of str) and the
table ``road_speed_kmh`` whose keys are road classes
(:data:`coverage.travel.roads.ROAD_CLASSES`) and whose values are finite numbers
>= 0; ``0`` closes the class to the mode (pedestrians on motorways). Any other key
raises :class:`~coverage.errors.InputError` naming it.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InputError
from .roads import ROAD_CLASSES

__all__ = [
    "MODES",
    "TravelProfile",
    "list_travel_profiles",
    "load_travel_profile",
    "parse_travel_profile",
]

#: Names of the shipped profiles.
MODES = ("walk", "motorbike", "car")

_KEYS = {"name", "title", "mode", "base", "offroad_speed_kmh", "sources"}
_TABLE = "road_speed_kmh"


@dataclass(frozen=True)
class TravelProfile:
    """Speeds of one travel mode.

    Attributes
    ----------
    name : str
        Short identifier (``motorbike``).
    title : str
        Human-readable name.
    mode : str
        The mode (``walk``, ``motorbike``, ``car`` or a user's own word).
    road_speed_kmh : Mapping of str to float
        Speed on each road class (every class of ``ROAD_CLASSES``), km/h; ``0``
        means the mode does not use that class.
    offroad_speed_kmh : float
        Walking speed off the road network on flat ground, km/h. With a DEM the
        off-road speed follows Tobler's hiking function scaled to this value on
        flat ground (:func:`coverage.travel.terrain.offroad_speed_kmh`).
    sources : tuple of str
        Where the figures come from, or the stated assumption.
    path : str
        The file the profile was read from.
    """

    name: str
    title: str
    mode: str
    road_speed_kmh: Mapping[str, float]
    offroad_speed_kmh: float
    sources: tuple[str, ...] = ()
    path: str = ""

    @property
    def top_speed_kmh(self) -> float:
        """Fastest speed of the mode on any road class or off road, km/h."""
        return max(max(self.road_speed_kmh.values()), self.offroad_speed_kmh)


def _profile_dir() -> Any:
    return resources.files("coverage") / "profiles" / "travel"


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check(data: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in data:
        if key not in _KEYS and key != _TABLE:
            problems.append(
                f"unknown key {key!r} (known: {', '.join(sorted([*_KEYS, _TABLE]))})"
            )
    for key in ("name", "title", "mode", "base"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            problems.append(f"{key!r} must be a non-empty string, got {data[key]!r}")
    if "offroad_speed_kmh" in data:
        value = data["offroad_speed_kmh"]
        if not _number(value) or value <= 0:
            problems.append(
                f"'offroad_speed_kmh' must be a finite number > 0, got {value!r}"
            )
    sources = data.get("sources", [])
    if not isinstance(sources, str | list) or (
        isinstance(sources, list) and not all(isinstance(s, str) for s in sources)
    ):
        problems.append("'sources' must be a string or a list of strings")
    table = data.get(_TABLE, {})
    if not isinstance(table, Mapping):
        problems.append(f"'{_TABLE}' must be a table of road class = speed")
        table = {}
    for key, value in table.items():
        if key not in ROAD_CLASSES:
            problems.append(
                f"unknown road class {key!r} in [{_TABLE}] "
                f"(known: {', '.join(ROAD_CLASSES)})"
            )
        elif not _number(value) or value < 0:
            problems.append(
                f"[{_TABLE}] {key} must be a finite number >= 0, got {value!r}"
            )
    return problems


def parse_travel_profile(
    data: Mapping[str, Any], *, origin: str = "<profile>"
) -> TravelProfile:
    """Validate a profile given as a mapping (a parsed TOML document).

    Parameters
    ----------
    data
        The profile's keys (see the module docstring).
    origin
        Where the data came from, named in error messages.

    Returns
    -------
    TravelProfile

    Raises
    ------
    InputError
        On an unknown key, a wrong type, a non-finite or negative speed, an unknown
        ``base`` or road class, or a road class without a speed (and no ``base``).
    """
    problems = _check(data)
    if problems:
        raise InputError(f"{origin}: invalid travel profile: " + "; ".join(problems))
    base_name = data.get("base")
    merged: dict[str, Any] = {}
    speeds: dict[str, float] = {}
    sources: list[str] = []
    if base_name is not None:
        if base_name not in MODES:
            msg = (
                f"{origin}: unknown base profile {base_name!r}; "
                f"choose one of {', '.join(MODES)}"
            )
            raise InputError(msg)
        base = load_travel_profile(base_name)
        merged = {
            "name": base.name,
            "title": base.title,
            "mode": base.mode,
            "offroad_speed_kmh": base.offroad_speed_kmh,
        }
        speeds = dict(base.road_speed_kmh)
        sources = list(base.sources)
    merged.update({k: v for k, v in data.items() if k not in (_TABLE, "sources")})
    speeds.update({k: float(v) for k, v in data.get(_TABLE, {}).items()})
    own = data.get("sources", [])
    sources += [own] if isinstance(own, str) else list(own)
    missing = [c for c in ROAD_CLASSES if c not in speeds]
    if "name" not in merged or "offroad_speed_kmh" not in merged or missing:
        what = [k for k in ("name", "offroad_speed_kmh") if k not in merged]
        if missing:
            what.append(f"[{_TABLE}] {', '.join(missing)}")
        msg = (
            f"{origin}: travel profile lacks {'; '.join(what)}; give them, or start "
            f'from a shipped profile with base = "motorbike" (or walk, car)'
        )
        raise InputError(msg)
    if max(speeds.values()) <= 0:
        msg = f"{origin}: every road speed is 0; give at least one class a speed > 0"
        raise InputError(msg)
    return TravelProfile(
        name=str(merged["name"]),
        title=str(merged.get("title", merged["name"])),
        mode=str(merged.get("mode", merged["name"])),
        road_speed_kmh={c: speeds[c] for c in ROAD_CLASSES},
        offroad_speed_kmh=float(merged["offroad_speed_kmh"]),
        sources=tuple(sources),
        path=origin,
    )


def _read_toml(path: Path | Any, *, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{origin}: travel profile not found; pass {', '.join(MODES)} or a path"
        raise InputError(msg) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{origin}: cannot read the travel profile TOML ({exc}); fix its syntax"
        raise InputError(msg) from None


def list_travel_profiles() -> list[TravelProfile]:
    """Return the shipped travel profiles in the order of :data:`MODES`."""
    return [load_travel_profile(mode) for mode in MODES]


def load_travel_profile(name_or_path: str | Path) -> TravelProfile:
    """Load a shipped profile by name or a user's TOML file by path.

    Parameters
    ----------
    name_or_path
        ``walk``, ``motorbike``, ``car``, or a path to a TOML file.

    Returns
    -------
    TravelProfile

    Raises
    ------
    InputError
        When the name is unknown or the file is missing, unreadable or invalid.

    Examples
    --------
    >>> load_travel_profile("motorbike").road_speed_kmh["trunk"]
    45.0
    """
    text = str(name_or_path)
    if text in MODES:
        entry = _profile_dir() / f"{text}.toml"
        return parse_travel_profile(
            _read_toml(entry, origin=f"travel profile {text}"),
            origin=f"travel profile {text}",
        )
    path = Path(text)
    if not text.endswith(".toml") and not path.exists():
        msg = f"unknown travel mode {text!r}; choose {', '.join(MODES)} or a TOML path"
        raise InputError(msg)
    return parse_travel_profile(_read_toml(path, origin=text), origin=text)
