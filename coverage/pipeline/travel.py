"""The travel-time stage: minutes over roads and terrain instead of straight lines.

:func:`apply_travel` runs after the distance stage, on the same population surface
and points in the same local UTM CRS: it reads the roads, barriers and DEM, runs
:func:`coverage.travel.times.travel_times_min`, and joins per commune, district,
province and overall the mean, p90 and largest minutes, the population and share
within each time threshold and the slowest place, with the benchmark's time rules
as gap reasons. The aggregation is the distance one
(:meth:`coverage.access.AccessResult.aggregate_by`) fed with minutes.

Decisions
---------
* Minutes enter the distance aggregation as "metres" ``minutes * 1000`` with the
  thresholds as "km", so every weighted mean, percentile and share is computed by
  the same code as the distances; the columns are then renamed.
* With roads, uncovered zones and catchments are by time: a zone holds the
  populated cells slower than ``zone_threshold_min`` and a point's catchment the
  cells that reach it first. A cell no point can reach belongs to the catchment
  of its straight-line nearest point (noted).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..benchmarks import Benchmark, TimeRule, time_rule_text
from ..errors import InputError
from ..model import DEFAULT_THRESHOLDS_MIN, Analysis, Summary, TravelOptions

if TYPE_CHECKING:
    from ..access import AccessResult
    from ..travel.times import TravelTimes

__all__ = [
    "TRAVEL_COLUMNS",
    "TravelAccess",
    "apply_travel",
    "check_travel_options",
    "join_level_travel",
    "min_label",
    "read_barriers",
    "time_cover",
    "time_rule_text",
    "travel_columns",
    "travel_summary",
    "travel_thresholds_for",
]

TRAVEL_COLUMNS = (
    "mean_time_min",
    "p90_time_min",
    "max_time_min",
    "slowest_lon",
    "slowest_lat",
)

_RENAME = {
    "mean_distance_km": "mean_time_min",
    "p90_distance_km": "p90_time_min",
    "max_distance_km": "max_time_min",
    "farthest_lon": "slowest_lon",
    "farthest_lat": "slowest_lat",
}
_WITHIN = re.compile(r"^(pop|share)_within_([0-9.]+)km$")
_WITHIN_MIN = re.compile(r"^(pop|share)_within_[0-9.]+min$")


@dataclass
class TravelAccess:
    """Travel times of an analysis.

    Attributes
    ----------
    times : TravelTimes
        Minutes and nearest point per surface location, the graph and profile.
    result : AccessResult
        The distance result with minutes in place of distances (``dist_m`` holds
        ``minutes * 1000``, ``thresholds_km`` the minute thresholds), for the
        shared aggregation.
    thresholds_min : tuple of float
        Thresholds reported, minutes.
    zone_threshold_min : float
        Threshold of the uncovered zones, minutes.
    description : str
        One line saying which measure is used.
    n_roads : int
        Road features read.
    dem : bool
        Whether a DEM gave the off-road slopes.
    n_barrier_layers : int
        Barrier layers used (0 or 1).
    inputs : dict
        The roads, barriers and DEM grid read, for the planner's coverage sets.
    levels : dict
        Cached per-level tables keyed by the grouping columns.
    """

    times: TravelTimes
    result: AccessResult
    thresholds_min: tuple[float, ...]
    zone_threshold_min: float
    description: str
    n_roads: int
    dem: bool = False
    n_barrier_layers: int = 0
    inputs: dict[str, Any] = field(default_factory=dict)
    levels: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)


def min_label(minutes: float) -> str:
    """Format a time threshold for column names: ``15 -> "15min"``.

    Examples
    --------
    >>> min_label(15), min_label(7.5)
    ('15min', '7.5min')
    """
    text = f"{float(minutes):.6f}".rstrip("0").rstrip(".")
    return f"{text}min"


def travel_thresholds_for(
    benchmark: Benchmark, given: Sequence[float] | None = None
) -> tuple[float, ...]:
    """Time thresholds to report: ``given`` (or the defaults) plus rule minutes."""
    rule_min = {r.minutes for r in benchmark.time_rules}
    base = set(given) if given else (set() if rule_min else set(DEFAULT_THRESHOLDS_MIN))
    values = sorted({float(t) for t in base | rule_min})
    bad = [t for t in values if not (np.isfinite(t) and t > 0)]
    if bad:
        msg = f"time thresholds must be positive minutes, got {bad[0]:g}"
        raise InputError(msg)
    return tuple(values)


def check_travel_options(benchmark: Benchmark, travel: TravelOptions | None) -> None:
    """Raise :class:`InputError` when the benchmark's time rules lack ``--roads``."""
    if benchmark.time_rules and (travel is None or not travel.enabled):
        rules = ", ".join(time_rule_text(r) for r in benchmark.time_rules)
        msg = (
            f"benchmark {benchmark.name} has time rules ({rules}): they need travel "
            "times; give the road network with --roads ROADS (and optionally --dem)"
        )
        raise InputError(msg)
    if travel is not None and not travel.enabled:
        given = [
            name
            for name, value in (
                ("--dem", travel.dem),
                ("--barriers", travel.barriers),
                ("--travel-profile", travel.profile),
                ("--within-min", travel.thresholds_min),
                ("--zones-min", travel.zone_threshold_min),
            )
            if value is not None
        ]
        if given:
            msg = f"{', '.join(given)} need(s) a road network: add --roads ROADS"
            raise InputError(msg)


def _layer_or_default(path: Path, layer: str | None, default: str) -> str | None:
    if layer is not None or path.suffix.lower() != ".gpkg":
        return layer
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError):
        return None
    return default if default in names and len(names) > 1 else None


def read_barriers(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read barrier polygons (rivers, lakes) from any GIS layer with a CRS.

    Parameters
    ----------
    path
        A vector file; in a GeoPackage the layer ``barriers`` is read by default
        when there are several.
    layer
        The layer to read.

    Raises
    ------
    InputError
        A missing or unreadable file, no CRS, or no polygon.
    """
    import pyogrio

    from ..geo import require_crs

    source = Path(path)
    if not source.exists():
        msg = f"{source}: no such file; check the --barriers path"
        raise InputError(msg)
    layer = _layer_or_default(source, layer, "barriers")
    try:
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{source}: not a readable barrier layer ({exc}); give polygons"
        raise InputError(msg) from None
    require_crs(frame, what=f"{source} (--barriers)", operation="reading barriers")
    polygons = frame.geometry.dropna().geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygons.any():
        msg = (
            f"{source}: --barriers needs polygons (rivers, lakes), found none"
            + (f" in layer {layer!r}" if layer else "")
            + "; name the layer with --barriers-layer"
        )
        raise InputError(msg)
    return frame.loc[polygons[polygons].index]


def _read_roads(options: TravelOptions) -> gpd.GeoDataFrame:
    from ..geo import require_crs
    from ..travel.roads import read_roads

    path = Path(str(options.roads))
    layer = _layer_or_default(path, options.roads_layer, "roads")
    roads = read_roads(
        path,
        layer=layer,
        class_column=options.class_column,
        speed_column=options.speed_column,
        class_map=options.class_map,
    )
    require_crs(roads, what=f"{path} (--roads)", operation="measuring travel times")
    return roads


def _description(profile: Any, n_roads: int, options: TravelOptions) -> str:
    extras = []
    if options.dem is not None:
        extras.append("DEM")
    if options.barriers is not None:
        extras.append("1 barrier layer")
    tail = f" ({', '.join(extras)})" if extras else " (flat ground)"
    return f"Travel time by {profile.mode} over {n_roads:,} roads{tail}"


def _renamed(table: pd.DataFrame) -> pd.DataFrame:
    names = dict(_RENAME)
    for col in table.columns:
        match = _WITHIN.match(str(col))
        if match:
            names[col] = f"{match.group(1)}_within_{match.group(2)}min"
    return table.rename(columns=names)


def travel_columns(table: pd.DataFrame) -> list[str]:
    """Return the travel-time columns of ``table`` (minutes, pop/share within)."""
    return [
        c for c in table.columns if c in TRAVEL_COLUMNS or _WITHIN_MIN.match(str(c))
    ]


def _rule_fails(
    table: pd.DataFrame, rules: Sequence[TimeRule]
) -> list[tuple[TimeRule, np.ndarray, np.ndarray]]:
    out = []
    for rule in rules:
        share = table[f"share_within_{min_label(rule.minutes)}"].to_numpy(float)
        fails = np.isfinite(share) & (share < rule.min_share - 1e-12)
        out.append((rule, share, fails))
    return out


def _join_communes(analysis: Analysis, travel: TravelAccess) -> None:
    from ..reasons import encode_reason, join_reasons

    communes = analysis.communes
    n = len(communes)
    table = _renamed(travel.result.aggregate_by(np.arange(n), index=pd.RangeIndex(n)))
    out = communes.copy()
    cols = travel_columns(table)
    order = [c for c in TRAVEL_COLUMNS[:3] if c in cols]
    within = sorted(
        (c for c in cols if _WITHIN_MIN.match(c)),
        key=lambda c: (float(c.rsplit("_", 1)[1][:-3]), c[0] != "p"),
    )
    for col in [*order, *within, "slowest_lon", "slowest_lat"]:
        out[col] = table[col].to_numpy()
    masks = _rule_fails(out, analysis.benchmark.time_rules)
    if masks:
        meets = np.ones(n, dtype=bool)
        reasons = out["gap_reasons"].to_numpy(dtype=object).copy()
        affected = out["people_affected"].to_numpy(np.int64).copy()
        pop = out["population"].to_numpy(float)
        for rule, share, fails in masks:
            meets &= ~fails
            codes = encode_reason(
                "time_share_below",
                fails,
                rule.min_share,
                rule.minutes,
                np.where(np.isfinite(share), share * 100, 0.0),
            )
            reasons = join_reasons(reasons, codes)
            label = min_label(rule.minutes)
            beyond = np.round(pop - out[f"pop_within_{label}"].to_numpy(float))
            affected = np.where(fails, np.maximum(affected, beyond), affected)
        out["meets_time"] = meets
        out["fails"] = out["fails"].to_numpy(bool) | ~meets
        out["gap_reasons"] = reasons
        out["people_affected"] = np.maximum(affected, 0).astype(np.int64)
    analysis.communes = out


def province_cells(
    analysis: Analysis, commune: np.ndarray, province: str
) -> np.ndarray:
    """Mask of the cells (by their commune row ``commune``) in ``province``."""
    names = analysis.communes["province_name"].astype("string").fillna("")
    return (names == province).to_numpy(bool)[commune]


def level_travel(analysis: Analysis, keys: list[str]) -> pd.DataFrame:
    """Aggregate the cells' minutes to the units keyed by ``keys`` (``[]``: one row)."""
    from .analyze import aggregate_to_level

    travel = analysis.travel
    if travel is None:
        msg = "level travel times need an analysis with --roads"
        raise ValueError(msg)
    cached = travel.levels.get(tuple(keys))
    if cached is not None:
        return cached
    table = _renamed(aggregate_to_level(travel.result, analysis.communes, keys))
    travel.levels[tuple(keys)] = table
    return table


def join_level_travel(
    analysis: Analysis, table: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """Join the travel-time columns (and ``meets_time``) onto a level table."""
    from .analyze import join_on_level

    access = level_travel(analysis, keys)
    left = join_on_level(table, access, keys, travel_columns(access))
    masks = _rule_fails(left, analysis.benchmark.time_rules)
    if masks:
        meets = np.ones(len(left), dtype=bool)
        for _rule, _share, fails in masks:
            meets &= ~fails
        left["meets_time"] = meets
    return left


def time_cover(analysis: Analysis, limit_min: float) -> Any:
    """Return the planner's coverage by travel time within ``limit_min`` minutes.

    Parameters
    ----------
    analysis
        An analysis with travel times (``--roads``): the same roads, barriers,
        DEM, profile and CRS are used.
    limit_min
        A site covers a cell that reaches it within this many minutes.

    Returns
    -------
    coverage.travel.cover.TimeCover
    """
    from ..travel.cover import TimeCover

    travel = analysis.travel
    if travel is None:
        msg = "planning by travel time needs --roads"
        raise InputError(msg)
    surface = travel.result.surface
    return TimeCover(
        limit_min=float(limit_min),
        roads=travel.inputs.get("roads"),
        profile=travel.times.profile,
        crs=surface.crs,
        cell_m=float(surface.cell_m),
        dem=travel.inputs.get("dem"),
        barriers=travel.inputs.get("barriers"),
    )


def travel_summary(
    analysis: Analysis,
    *,
    province: str | None = None,
    zones: pd.DataFrame | None = None,
) -> Summary:
    """Build the ``travel`` part of ``summary.json``.

    Parameters
    ----------
    analysis
        An analysis with travel times (``--roads``).
    province
        Only this province's cells (``--by province``): the figures of its row
        of the province level, measured on the national graph.
    zones
        The province's uncovered zones (with ``province``); default the analysis's.
    """
    travel = analysis.travel
    if travel is None:
        msg = "the travel summary needs an analysis with --roads"
        raise ValueError(msg)
    surface = travel.result.surface
    if province is None:
        row = level_travel(analysis, []).iloc[0]
        in_area = np.ones(len(surface), dtype=bool)
        zones = analysis.zones
    else:
        table = level_travel(analysis, ["province_name"])
        name = table["province_name"].astype("string").fillna("")
        row = table.loc[(name == province).to_numpy()].iloc[0]
        in_area = province_cells(analysis, surface.commune, province)

    def num(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    rules = []
    for rule in analysis.benchmark.time_rules:
        share = num(row[f"share_within_{min_label(rule.minutes)}"])
        rules.append(
            {
                "rule": time_rule_text(rule),
                "minutes": rule.minutes,
                "min_share": rule.min_share,
                "mode": rule.mode,
                "share": share,
                "margin": None if share is None else share - rule.min_share,
                "passes": None if share is None else share >= rule.min_share - 1e-12,
            }
        )
    times = travel.times
    graph = times.graph
    return {
        "measure": travel.description,
        "mode": times.profile.mode,
        "dem": travel.dem,
        "n_barrier_layers": travel.n_barrier_layers,
        "profile": times.profile.name,
        "n_roads": travel.n_roads,
        "n_graph_nodes": int(graph.matrix_t.shape[0]),
        "n_graph_edges": graph.n_edges,
        "mean_time_min": num(row["mean_time_min"]),
        "p90_time_min": num(row["p90_time_min"]),
        "max_time_min": num(row["max_time_min"]),
        "slowest_lon": num(row.get("slowest_lon")),
        "slowest_lat": num(row.get("slowest_lat")),
        "within": [
            {
                "minutes": t,
                "pop_within": num(row[f"pop_within_{min_label(t)}"]),
                "share": num(row[f"share_within_{min_label(t)}"]),
            }
            for t in travel.thresholds_min
        ],
        "rules": rules,
        "unreachable_population": float(
            surface.pop[in_area & ~np.isfinite(times.minutes)].sum()
        ),
        "zone_threshold_min": travel.zone_threshold_min,
        **_zone_counts(zones),
    }


def _time_zones(analysis: Analysis, travel: TravelAccess) -> gpd.GeoDataFrame:
    from ..access import uncovered_zones

    zones = uncovered_zones(
        travel.result.surface,
        travel.result.dist_m,
        threshold_km=travel.zone_threshold_min,
    )
    return zones.rename(
        columns={
            "max_distance_km": "max_time_min",
            "mean_distance_km": "mean_time_min",
        }
    )


def apply_travel(
    analysis: Analysis,
    options: TravelOptions,
    *,
    kinds: tuple[str, ...] | None = None,
    catchments: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> None:
    """Measure travel times and join them to the communes and the gap reasons.

    Parameters
    ----------
    analysis
        An analysis after the distance stage (its population surface and points
        are reused).
    options
        The road network, DEM, barriers, mode and thresholds.
    kinds
        Point kinds that count (as for distances).
    catchments
        Also replace the catchments by time catchments.
    on_stage
        Called with the name of each stage as it starts.

    Raises
    ------
    InputError
        Bad roads, DEM, barriers or profile; no distance stage (``--no-access``).
    """
    from ..travel.times import travel_times_min

    result = analysis.access
    if result is None:
        msg = "--roads needs the population surface: drop --no-access"
        raise InputError(msg)
    bench = analysis.benchmark
    timings = analysis.timings
    t0 = time.perf_counter()
    if on_stage:
        on_stage("reading roads, barriers and the DEM")
    roads = _read_roads(options)
    barriers = (
        None
        if options.barriers is None
        else read_barriers(options.barriers, layer=options.barriers_layer)
    )
    rule_modes = [r.mode for r in bench.time_rules if r.mode]
    mode = options.mode or (rule_modes[0] if rule_modes else "motorbike")
    profile_ref = options.profile if options.profile is not None else mode
    from ..travel.profiles import load_travel_profile

    profile = load_travel_profile(profile_ref)
    for rule_mode in sorted(set(rule_modes) - {profile.mode}):
        analysis.notes.append(
            f"the benchmark's time rule is stated for {rule_mode}; measured by "
            f"{profile.mode}"
        )
    surface = result.surface
    dem = None
    if options.dem is not None:
        from ..travel.terrain import read_dem

        located = np.vstack([surface.xy, result.point_xy])
        lo = located.min(0) - surface.cell_m
        hi = located.max(0) + surface.cell_m
        dem = read_dem(
            options.dem,
            bounds=(lo[0], lo[1], hi[0], hi[1]),
            bounds_crs=surface.crs,
            pixel_m=surface.cell_m / 2.0,
        )
    timings["travel_read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"travel times by {profile.mode} from {len(surface):,} locations")
    times = travel_times_min(
        surface.xy,
        result.point_xy,
        roads,
        cell_m=surface.cell_m,
        profile=profile,
        crs=surface.crs,
        dem=dem,
        barriers=barriers,
    )
    timings["travel_times"] = time.perf_counter() - t0
    thresholds = travel_thresholds_for(bench, options.thresholds_min)
    zone_min = options.zone_threshold_min or (
        bench.time_rules[0].minutes if bench.time_rules else 60.0
    )
    if zone_min not in thresholds:
        thresholds = tuple(sorted({*thresholds, float(zone_min)}))
    timed = dataclasses.replace(
        result,
        dist_m=np.asarray(times.minutes, dtype=float) * 1000.0,
        nearest_idx=times.nearest,
        thresholds_km=thresholds,
        notes=[],
    )
    travel = TravelAccess(
        times=times,
        result=timed,
        thresholds_min=thresholds,
        zone_threshold_min=float(zone_min),
        description=_description(profile, len(roads), options),
        n_roads=len(roads),
        dem=options.dem is not None,
        n_barrier_layers=int(options.barriers is not None),
        inputs={"roads": roads, "barriers": barriers, "dem": dem},
    )
    analysis.travel = travel
    analysis.notes.extend(n for n in times.notes if n not in analysis.notes)
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"uncovered zones beyond {zone_min:g} min")
    analysis.zones = _time_zones(analysis, travel)
    if catchments and analysis.catchments is not None:
        from ..access import point_catchments
        from .analyze import counted_points

        points = counted_points(analysis.points, kinds)
        located = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
        nearest = np.where(times.nearest >= 0, times.nearest, result.nearest_idx)
        if (times.nearest < 0).any():
            analysis.notes.append(
                "catchments by time: cells no point can reach go to their "
                "straight-line nearest point"
            )
        analysis.catchments = point_catchments(
            analysis.communes, located, surface, nearest
        )
    timings["travel_zones"] = time.perf_counter() - t0
    _join_communes(analysis, travel)


def _zone_counts(zones: pd.DataFrame | None) -> dict[str, float | int]:
    from .summary import zone_counts

    return zone_counts(zones)
