"""The ``plan`` stages: read the optional layers, choose new sites, before/after.

The solver itself is :mod:`coverage.plan`; this module feeds it the analysed
communes, points and population surface of :func:`coverage.pipeline.analyze`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from ..benchmarks import Benchmark
from ..errors import InputError
from ..model import Analysis, PlanRun
from .analyze import counted_points
from .summary import plan_summary

if TYPE_CHECKING:
    from ..plan import CandidateSource, Method

__all__ = [
    "count_plan_stages",
    "plan_analysis",
    "plan_radius_km",
    "read_candidates",
    "read_exclusion",
    "run_plan",
]


def count_plan_stages() -> int:
    """Return how many stages :func:`plan_analysis` reports through ``on_stage``."""
    return 2


def read_candidates(
    path: str | Path, *, columns: dict[str, str] | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read candidate sites (CSV with lat/lon, or any point layer)."""
    from ..io import read_points

    return read_points(path, columns=columns, crs=crs).frame


def read_exclusion(path: str | Path) -> gpd.GeoDataFrame:
    """Read polygons where no new point may go (any GIS layer with a CRS)."""
    import pyogrio

    from ..geo import require_crs

    source = Path(path)
    if not source.exists():
        msg = f"{source}: no such file; check the --exclude path"
        raise InputError(msg)
    try:
        frame = gpd.read_file(source, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = (
            f"{source}: not a readable GIS layer ({exc}); give polygons (GeoJSON, GPKG)"
        )
        raise InputError(msg) from None
    require_crs(
        frame,
        what=f"{source} (--exclude)",
        operation="excluding areas",
        fix="assign its CRS in your GIS (e.g. save it as GeoJSON in EPSG:4326) and "
        "pass it again with --exclude",
    )
    kinds = set(frame.geometry.dropna().geom_type.unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{source}: --exclude needs polygons, found {', '.join(sorted(kinds))}"
        raise InputError(msg)
    return frame


def plan_radius_km(benchmark: Benchmark, given: float | None = None) -> float:
    """Choose the coverage distance of a plan: given, else benchmark radius or rule."""
    if given is not None:
        if not (np.isfinite(given) and given > 0):
            msg = f"--radius-km must be a positive number of km, got {given:g}"
            raise InputError(msg)
        return float(given)
    if benchmark.radius_km is not None:
        return float(benchmark.radius_km)
    for rule in benchmark.distance_rules:
        if rule.scope == "all":
            return float(rule.distance_km)
    msg = (
        f"benchmark {benchmark.name} has no radius and no distance rule; give the "
        "coverage distance with --radius-km"
    )
    raise InputError(msg)


def plan_analysis(
    analysis: Analysis,
    *,
    radius_km: float,
    add: int | None = None,
    target: str | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_source: CandidateSource = "cells",
    exclusion: gpd.GeoDataFrame | None = None,
    kinds: tuple[str, ...] | None = None,
    max_candidates: int = 3000,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    on_stage: Callable[[str], None] | None = None,
    within_min: float | None = None,
    objective: str | None = None,
    respect_capacity: bool = False,
    new_capacity: float | None = None,
) -> PlanRun:
    """Choose new sites for an analysed area and measure before and after.

    Existing points are all kept; demand is the population surface of the
    analysis (so the plan sees the same people as the access figures), and its
    cell size (``AccessOptions.cell_m`` of the analysis) is the plan's. With
    ``within_min`` (an analysis with ``--roads``) a site covers the cells that
    reach it within that many minutes instead of ``radius_km``. With an
    ``objective`` (``cover``, ``count``, ``median``, ``center``) or
    ``respect_capacity``, before_after.csv and plan.json also carry the objective's
    value before and after (:mod:`coverage.pipeline.objectives`).

    Raises
    ------
    ValueError
        When the analysis has no distance access (no population surface).
    """
    from ..plan import before_after, plan_from_layers

    if analysis.access is None:
        msg = "a plan needs an analysis with distance access (its population surface)"
        raise ValueError(msg)
    surface = analysis.access.surface
    cell_m = float(surface.cell_m)
    points = counted_points(analysis.points, kinds)
    points = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
    source: CandidateSource = "file" if candidates is not None else candidate_source
    cover_fn = None
    reach = f"{radius_km:g} km"
    if within_min is not None:
        from .travel import time_cover

        cover_fn = time_cover(analysis, within_min)
        reach = f"{within_min:g} min"
    t0 = time.perf_counter()
    if on_stage:
        what = f"{add} new sites" if add is not None else f"target {target}"
        on_stage(f"choosing {what} within {reach}")
    result, proposed = plan_from_layers(
        analysis.communes,
        points,
        candidates,
        radius_km=radius_km,
        add=add,
        target=target,
        cell_m=cell_m,
        candidate_source=source,
        exclusion=exclusion,
        max_candidates=max_candidates,
        surface=surface,
        time_limit_s=time_limit_s,
        method=method,
        cover_fn=cover_fn,
        objective="capacity" if respect_capacity else objective,
        existing_capacity=_people_capacity(points, analysis.benchmark)
        if respect_capacity
        else None,
        new_capacity=None
        if new_capacity is None
        else new_capacity * analysis.benchmark.people_per_unit,
    )
    analysis.timings["plan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if on_stage:
        on_stage("before/after figures")
    per_commune, overall = before_after(
        analysis.communes,
        points,
        proposed,
        radius_km=radius_km,
        cell_m=cell_m,
        surface=surface,
        cover_fn=cover_fn,
    )
    analysis.timings["before_after"] = time.perf_counter() - t0
    names = analysis.communes[
        [
            c
            for c in ("commune_code", "commune_name", "district_name", "province_name")
            if c in analysis.communes.columns
        ]
    ]
    table = names.merge(pd.DataFrame(per_commune), on="commune_code", how="right")
    measured = "capacity" if respect_capacity else objective
    figures = None
    if measured is not None:
        from .objectives import objective_before_after

        values, figures = objective_before_after(
            measured,
            analysis.communes,
            points,
            proposed,
            radius_km=radius_km,
            cell_m=cell_m,
            surface=surface,
            result=result,
        )
        table = table.merge(values, on="commune_code", how="left")
    run = PlanRun(
        result=result,
        proposed=proposed,
        before_after=table,
        overall=overall,
        radius_km=radius_km,
    )
    run.summary = plan_summary(run, analysis)
    if within_min is not None:
        run.summary["radius_km"] = None
        run.summary["within_min"] = float(within_min)
    if figures is not None:
        run.summary["objective_values"] = figures
    return run


def _people_capacity(points: gpd.GeoDataFrame, benchmark: Benchmark) -> np.ndarray:
    from .scores import point_capacity

    cap = point_capacity(points, benchmark)
    if cap is None:
        return np.full(len(points), np.nan)
    return cap * benchmark.people_per_unit


def run_plan(
    analysis: Analysis,
    *,
    add: int | None,
    target: str | None,
    radius_km: float | None = None,
    candidates_path: str | Path | None = None,
    candidate_source: Literal["cells", "centres", "settlements"] = "cells",
    settlements_path: str | Path | None = None,
    max_candidates: int = 3000,
    exclude_path: str | Path | None = None,
    columns: dict[str, str] | None = None,
    kinds: tuple[str, ...] | None = None,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    on_stage: Callable[[str], None] | None = None,
    within_min: float | None = None,
    objective: str | None = None,
    respect_capacity: bool = False,
    new_capacity: float | None = None,
) -> PlanRun:
    """Read the plan's optional layers and run :func:`plan_analysis`.

    ``within_min`` plans by travel time (an analysis with ``--roads``); default
    the benchmark's first time rule when the analysis has travel times.
    """
    bench = analysis.benchmark
    if analysis.travel is not None and within_min is None and bench.time_rules:
        within_min = bench.time_rules[0].minutes
    if within_min is not None:
        if analysis.travel is None:
            msg = "--within-min plans by travel time: add --roads ROADS"
            raise InputError(msg)
        if not (np.isfinite(within_min) and within_min > 0):
            msg = (
                f"--within-min must be a positive number of minutes, got {within_min:g}"
            )
            raise InputError(msg)
        # the radius only names the plan; coverage is by time
        radius = float(radius_km) if radius_km is not None else float(within_min)
    else:
        radius = plan_radius_km(bench, radius_km)
    candidates = (
        None
        if candidates_path is None
        else read_candidates(candidates_path, columns=columns)
    )
    if candidates is None and candidate_source == "settlements":
        from ..io import read_settlements

        if settlements_path is None:
            msg = "candidate source 'settlements' needs a settlements file"
            raise InputError(msg)
        candidates = read_settlements(settlements_path, columns=columns)
    exclusion = None if exclude_path is None else read_exclusion(exclude_path)
    # settlements were read as the candidates above
    generated = "file" if candidate_source == "settlements" else candidate_source
    return plan_analysis(
        analysis,
        radius_km=radius,
        add=add,
        target=target,
        candidates=candidates,
        candidate_source=generated,
        exclusion=exclusion,
        kinds=kinds,
        max_candidates=max_candidates,
        time_limit_s=time_limit_s,
        method=method,
        on_stage=on_stage,
        within_min=within_min,
        objective=objective,
        respect_capacity=respect_capacity,
        new_capacity=new_capacity,
    )
