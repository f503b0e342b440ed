"""The analysis stages: load and validate the layers, compute metrics and access.

:func:`analyze` runs every stage and reports each through ``on_stage``;
:func:`count_stages` says how many there will be. The joins of distance access
onto the commune and level tables live here too, with their per-level cache.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from ..benchmarks import Benchmark, DistanceRule
from ..errors import InputError
from ..i18n import Note
from ..metrics import (
    LEVEL_KEYS,
    aggregate_metrics,
    compute_commune_metrics,
    levels_present,
    overall_metrics,
    rank_gaps,
)
from ..model import DEFAULT_THRESHOLDS_KM, AccessOptions, Analysis, TravelOptions
from ..reasons import join_reasons
from .summary import access_summary, build_summary

if TYPE_CHECKING:
    from ..access import AccessResult

__all__ = [
    "DistanceEngine",
    "access_columns",
    "aggregate_to_level",
    "analyze",
    "apply_access",
    "composite_key",
    "count_stages",
    "counted_points",
    "find_sample",
    "join_on_level",
    "level_access",
    "load_inputs",
    "main_threshold_km",
    "thresholds_for",
]

_ACCESS_COLUMNS = (
    "mean_distance_km",
    "p90_distance_km",
    "max_distance_km",
    "farthest_lon",
    "farthest_lat",
)


class DistanceEngine(Protocol):
    """Builds the population surface and measures distances elsewhere (a cluster).

    Called instead of ``build_population_grid`` and ``compute_access`` with the
    communes (their own CRS), the counted points and the thresholds; returns the same
    :class:`~coverage.access.AccessResult` as the single-process run. Reports two
    stages through ``on_stage``, as the single run does.
    """

    def __call__(
        self,
        communes: gpd.GeoDataFrame,
        points: gpd.GeoDataFrame,
        *,
        thresholds_km: tuple[float, ...],
        zone_threshold_km: float,
        options: AccessOptions,
        on_stage: Callable[[str], None] | None,
    ) -> AccessResult:
        """Return the distances of every surface location to its nearest point."""
        ...


def find_sample() -> tuple[Path, Path] | None:
    """Locate the bundled sample (``data/`` in the working folder or source tree)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        communes = root / "data" / "boundaries" / "communes.geojson"
        points = root / "data" / "points" / "service_points.csv"
        if communes.exists() and points.exists():
            return communes, points
    return None


def thresholds_for(
    benchmark: Benchmark, given: Sequence[float] | None = None
) -> tuple[float, ...]:
    """Distance thresholds to report: ``given`` (or the defaults) plus rule distances.

    Examples
    --------
    >>> from coverage.benchmarks import Benchmark
    >>> thresholds_for(Benchmark(name="x", title="x"))
    (2.0, 3.0, 5.0)
    """
    rule_km = set(benchmark.access_thresholds_km)
    base = set(given) if given else (set() if rule_km else set(DEFAULT_THRESHOLDS_KM))
    values = sorted({float(t) for t in base | rule_km})
    bad = [t for t in values if not (np.isfinite(t) and t > 0)]
    if bad:
        msg = f"distance thresholds must be positive km, got {bad[0]:g}"
        raise InputError(msg)
    return tuple(values)


def main_threshold_km(benchmark: Benchmark, thresholds: Sequence[float]) -> float:
    """Choose the threshold of the uncovered zones and the map's share layer.

    The first distance rule of the benchmark applying to all people; else 5 km
    when reported (the common European rule); else the largest threshold.
    """
    from ..access import rule_evaluated

    for rule in benchmark.distance_rules:
        if rule_evaluated(rule):
            return float(rule.distance_km)
    if 5.0 in thresholds:
        return 5.0
    return float(max(thresholds))


def count_stages(
    access: AccessOptions | None = None, travel: TravelOptions | None = None
) -> int:
    """Return how many stages :func:`analyze` reports through ``on_stage``."""
    access = AccessOptions() if access is None else access
    n_access = (4 if access.catchments else 3) if access.enabled else 0
    n_travel = 3 if travel is not None and travel.enabled else 0
    return 3 + n_access + n_travel


def load_inputs(
    boundaries: str | Path,
    points: str | Path,
    *,
    columns: dict[str, str] | None,
    crs: str | None,
    points_crs: str | None,
    fix_invalid: bool,
    population_table: str | Path | None = None,
    layer: str | None = None,
    points_layer: str | None = None,
    snap_m: float = 50.0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[str]]:
    """Validate and read both layers: (communes, points assigned to them, notes)."""
    from ..validate import validate_inputs

    checked = validate_inputs(
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
        layer=layer,
        points_layer=points_layer,
        snap_m=snap_m,
    )
    notes = list(checked.notes)
    return checked.communes.frame, checked.assigned, notes


def analyze(
    boundaries: str | Path,
    points: str | Path,
    *,
    benchmark: Benchmark,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    points_crs: str | None = None,
    kinds: tuple[str, ...] | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
    access: AccessOptions | None = None,
    on_stage: Callable[[str], None] | None = None,
    travel: TravelOptions | None = None,
    distances: DistanceEngine | None = None,
    layer: str | None = None,
    points_layer: str | None = None,
    snap_m: float = 50.0,
) -> Analysis:
    """Validate and load both layers, then compute metrics and distance access.

    Parameters
    ----------
    boundaries, points
        Paths of the commune layer and the service-point layer.
    benchmark
        The benchmark profile.
    columns
        Explicit source column names keyed by canonical name (both layers).
    crs, points_crs
        CRS to assume for a layer that declares none.
    kinds
        Point kinds that count as service points (default: all).
    fix_invalid
        Repair invalid commune geometries instead of failing.
    population_table
        A table of commune code and population joined to a layer without
        population (GADM boundaries with census figures).
    access
        Distance access options (default :class:`AccessOptions`); ``None`` uses
        the defaults, ``AccessOptions(enabled=False)`` skips distances.
    on_stage
        Called with the name of each stage as it starts (progress reporting).
    travel
        Travel-time options (:class:`TravelOptions`); with a road network the
        minutes are joined next to the distances and zones and catchments are
        by time.
    distances
        Where the population surface and the distances are computed (e.g.
        :class:`coverage.distributed.DaskAccess`); default here, in one process.
    layer, points_layer
        The layer to read from a multi-layer commune or points file.
    snap_m
        Points at most this many metres outside every commune count in the
        nearest one (:func:`coverage.io.assign_points`); 0 snaps none.

    Returns
    -------
    Analysis

    Raises
    ------
    ValidationError
        Listing every fatal problem of both inputs.
    """
    from .travel import apply_travel, check_travel_options

    access = AccessOptions() if access is None else access
    check_travel_options(benchmark, travel)
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        return time.perf_counter()

    t0 = stage("loading and validating the inputs")
    communes, assigned, notes = load_inputs(
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
        layer=layer,
        points_layer=points_layer,
        snap_m=snap_m,
    )
    timings["load"] = time.perf_counter() - t0
    if kinds is not None:
        counted = assigned["kind"].isin(kinds)
        notes.append(
            Note(
                "kinds_counted",
                kinds=", ".join(kinds),
                n=int(counted.sum()),
                total=len(assigned),
            )
        )
    t0 = stage("computing postal metrics")
    metrics = compute_commune_metrics(communes, assigned, benchmark, kinds=kinds)
    timings["metrics"] = time.perf_counter() - t0
    analysis = Analysis(
        communes=metrics,
        points=assigned,
        benchmark=benchmark,
        levels={},
        gaps=pd.DataFrame(),
        summary={},
        notes=notes,
        timings=timings,
    )
    if access.enabled:
        apply_access(
            analysis, access, kinds=kinds, on_stage=on_stage, distances=distances
        )
    if travel is not None and travel.enabled:
        apply_travel(
            analysis,
            travel,
            kinds=kinds,
            catchments=access.catchments,
            on_stage=on_stage,
        )
    t0 = stage("aggregating to districts, provinces and the whole area")
    _finish(
        analysis,
        n_outside=int((~assigned["inside"]).sum()),
        inputs={"communes": str(boundaries), "points": str(points)},
    )
    timings["aggregate"] = time.perf_counter() - t0
    return analysis


def _finish(analysis: Analysis, *, n_outside: int, inputs: dict[str, str]) -> None:
    """Aggregate to levels, rank the gaps and build the summary."""
    bench = analysis.benchmark
    metrics = analysis.communes
    levels = {
        level: aggregate_metrics(metrics, level, bench)
        for level in levels_present(metrics)
    }
    if analysis.access is not None:
        for level, table in levels.items():
            levels[level] = _join_level_access(analysis, table, LEVEL_KEYS[level])
    if analysis.travel is not None:
        from .travel import join_level_travel

        for level, table in levels.items():
            levels[level] = join_level_travel(analysis, table, LEVEL_KEYS[level])
    analysis.levels = levels
    analysis.gaps = rank_gaps(metrics)
    overall = overall_metrics(metrics, bench)
    access_figures = None
    if analysis.access is not None:
        access_figures = access_summary(analysis, level_access(analysis, []))
    analysis.summary = build_summary(
        overall,
        bench,
        communes=metrics,
        n_outside=n_outside,
        notes=analysis.notes,
        inputs=inputs,
        access=access_figures,
    )
    if analysis.travel is not None:
        from .travel import travel_summary

        analysis.summary["travel"] = travel_summary(analysis)
        if analysis.summary.get("access"):
            # the zones are by time then: their threshold is in the travel part
            analysis.summary["access"]["zone_threshold_km"] = None
    if bench.time_rules:
        from .travel import time_rule_text

        analysis.summary["benchmark"]["time_rules"] = [
            {
                "minutes": r.minutes,
                "min_share": r.min_share,
                "mode": r.mode,
                "rule": time_rule_text(r),
            }
            for r in bench.time_rules
        ]


def counted_points(
    points: gpd.GeoDataFrame, kinds: tuple[str, ...] | None
) -> gpd.GeoDataFrame:
    """Return the points of the kinds that count (all of them for ``None``)."""
    if kinds is None:
        return points
    return points.loc[points["kind"].isin(kinds)]


def apply_access(
    analysis: Analysis,
    options: AccessOptions,
    *,
    kinds: tuple[str, ...] | None = None,
    on_stage: Callable[[str], None] | None = None,
    distances: DistanceEngine | None = None,
) -> None:
    """Measure distances and join them to the communes and the gap reasons.

    Every counted point serves people wherever they live, also across commune
    and province borders and when the point lies outside every commune. With
    ``distances`` the surface and the distances come from that engine; zones,
    catchments and the joins are computed here in both cases.
    """
    from ..access import check_grid_size, point_catchments, uncovered_zones

    bench = analysis.benchmark
    thresholds = thresholds_for(bench, options.thresholds_km)
    zone_km = options.zone_threshold_km or main_threshold_km(bench, thresholds)
    if zone_km not in thresholds:
        thresholds = tuple(sorted({*thresholds, float(zone_km)}))
    communes = analysis.communes
    points = counted_points(analysis.points, kinds)
    timings = analysis.timings
    if options.raster is None:
        check_grid_size(_land_area_km2(communes), options.cell_m)
    if distances is not None:
        t0 = time.perf_counter()
        result = distances(
            communes,
            points,
            thresholds_km=thresholds,
            zone_threshold_km=float(zone_km),
            options=options,
            on_stage=on_stage,
        )
        timings["distributed_access"] = time.perf_counter() - t0
    else:
        result = _measure(communes, points, thresholds, options, timings, on_stage)
    surface = result.surface
    analysis.access = result
    analysis.zone_threshold_km = float(zone_km)
    analysis.notes.extend(n for n in result.notes if n not in analysis.notes)
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"uncovered zones beyond {zone_km:g} km")
    analysis.zones = uncovered_zones(surface, result.dist_m, threshold_km=zone_km)
    timings["zones"] = time.perf_counter() - t0
    if options.catchments:
        t0 = time.perf_counter()
        if on_stage:
            on_stage("point catchments")
        located = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
        analysis.catchments = point_catchments(
            communes, located, surface, result.nearest_idx
        )
        timings["catchments"] = time.perf_counter() - t0
    analysis.communes = _join_commune_access(communes, result, bench)


def _measure(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    thresholds: tuple[float, ...],
    options: AccessOptions,
    timings: dict[str, float],
    on_stage: Callable[[str], None] | None,
) -> AccessResult:
    """Build the population surface and measure distances in this process."""
    from ..access import (
        build_population_grid,
        compute_access,
        population_from_raster,
        population_from_settlements,
    )

    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"population surface ({options.cell_m:g} m cells)")
    if options.raster is not None and options.settlements is not None:
        msg = "give either --population-raster or --settlements, not both"
        raise InputError(msg)
    if options.raster is not None:
        surface = population_from_raster(
            options.raster, communes, rescale=options.rescale
        )
    elif options.settlements is not None:
        from ..io import read_settlements

        surface = population_from_settlements(
            communes,
            read_settlements(options.settlements),
            rescale=options.rescale,
            cell_m=options.cell_m,
        )
    else:
        surface = build_population_grid(communes, cell_m=options.cell_m)
    timings["population_surface"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"distances from {len(surface):,} locations to {len(points):,} points")
    result = compute_access(
        communes,
        points,
        thresholds_km=thresholds,
        cell_m=options.cell_m,
        surface=surface,
    )
    timings["distances"] = time.perf_counter() - t0
    return result


def access_columns(table: pd.DataFrame) -> list[str]:
    """Return the distance-access columns of ``table`` (distances, pop/share within)."""
    pattern = re.compile(r"^(pop|share)_within_[0-9.]+km$")
    return [c for c in table.columns if c in _ACCESS_COLUMNS or pattern.match(c)]


def _rule_masks(
    table: pd.DataFrame, rules: Sequence[DistanceRule]
) -> list[tuple[DistanceRule, np.ndarray, np.ndarray]]:
    """Per rule of scope "all": (rule, share, fails) over the rows of ``table``."""
    from ..access import rule_evaluated, rule_fails, rule_share

    out = []
    for rule in rules:
        if not rule_evaluated(rule):
            continue
        share = rule_share(table, rule)
        out.append((rule, share, rule_fails(share, rule.min_share)))
    return out


def _join_commune_access(
    metrics: gpd.GeoDataFrame,
    result: AccessResult,
    bench: Benchmark,
) -> gpd.GeoDataFrame:
    from ..access import rule_columns, rule_gap_reason

    table = result.communes
    cols = access_columns(table)
    out = metrics.copy()
    for col in cols:
        out[col] = table[col].to_numpy()
    masks = _rule_masks(out, bench.distance_rules)
    meets = np.ones(len(out), dtype=bool)
    reasons = out["gap_reasons"].to_numpy(dtype=object).copy()
    affected = out["people_affected"].to_numpy(np.int64).copy()
    pop = out["population"].to_numpy(float)
    for rule, share, fails in masks:
        meets &= ~fails
        reasons = join_reasons(reasons, rule_gap_reason(rule, share))
        beyond = np.round(pop - out[rule_columns(rule)[0]].to_numpy(float))
        affected = np.where(fails, np.maximum(affected, beyond), affected)
    if masks:
        out["meets_access"] = meets
        out["fails"] = out["fails"].to_numpy(bool) | ~meets
    out["gap_reasons"] = reasons
    out["people_affected"] = np.maximum(affected, 0).astype(np.int64)
    return out


_KEY_SEP = "\x1f"


def composite_key(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Join ``keys`` into one text key per row (districts are named per province)."""
    parts = [frame[k].astype("string").fillna("") for k in keys]
    if not parts:
        return np.full(len(frame), "", dtype=object)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + _KEY_SEP + part
    return joined.to_numpy(dtype=object)


def level_access(analysis: Analysis, keys: list[str]) -> pd.DataFrame:
    """Aggregate the cells to the units keyed by ``keys`` (``[]``: one row)."""
    cached = analysis.access_levels.get(tuple(keys))
    if cached is not None:
        return cached
    result = analysis.access
    if result is None:
        msg = "level access needs an analysis with distance access"
        raise ValueError(msg)
    table = aggregate_to_level(result, analysis.communes, keys)
    analysis.access_levels[tuple(keys)] = table
    return table


def aggregate_to_level(
    result: AccessResult, communes: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """Aggregate a result's cells to the units keyed by ``keys``, keys as columns.

    Parameters
    ----------
    result
        Distances (or minutes, as :mod:`coverage.pipeline.travel` passes them) per
        cell, with one stable sort kept by :meth:`AccessResult.aggregate_by`.
    communes
        The commune table (the level columns of ``keys``).
    keys
        Level columns, e.g. ``["province_name", "district_name"]``; ``[]``: one
        row for the whole area.
    """
    if keys:
        labels = composite_key(communes, keys)
    else:
        labels = np.full(len(communes), "all", dtype=object)
    table = result.aggregate_by(labels, index=pd.Index(pd.unique(labels)))
    table.index.name = "_key"
    table = table.reset_index()
    if keys:
        parts = table["_key"].str.split(_KEY_SEP, expand=True)
        for i, key in enumerate(keys):
            table[key] = parts[i].replace("", pd.NA)
    return table.drop(columns="_key")


def join_on_level(
    table: pd.DataFrame, level: pd.DataFrame, keys: list[str], cols: list[str]
) -> pd.DataFrame:
    """Copy ``cols`` of ``level`` onto the rows of ``table`` with the same ``keys``."""
    left = table.copy()
    lookup = level.set_index(composite_key(level, keys))[cols]
    row_keys = composite_key(left, keys)
    for col in cols:
        left[col] = lookup[col].reindex(row_keys).to_numpy()
    return left


def _join_level_access(
    analysis: Analysis, table: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    access = level_access(analysis, keys)
    left = join_on_level(table, access, keys, access_columns(access))
    masks = _rule_masks(left, analysis.benchmark.distance_rules)
    if masks:
        meets = np.ones(len(left), dtype=bool)
        for _rule, _share, fails in masks:
            meets &= ~fails
        left["meets_access"] = meets
    return left


def _land_area_km2(communes: gpd.GeoDataFrame) -> np.ndarray:
    """Commune areas from the metrics (computed once), else measured."""
    if "area_km2" in communes.columns:
        return np.asarray(communes["area_km2"], dtype=float)
    from ..geo import area_km2

    return np.asarray(area_km2(communes), dtype=float)
