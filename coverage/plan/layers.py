"""Adapters of the siting solvers: metric arrays and GeoDataFrames.

:func:`plan_new_sites` plans on metric arrays; :func:`plan_from_layers` builds the
population surface and the candidate sites from the commune and point layers and
returns the proposals in EPSG:4326; :func:`before_after` measures the layers before
and after adding them. Existing points are never moved or dropped: they only enter
as "demand already covered", which contributes nothing to the objective.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy import sparse

from ..errors import InputError
from ..model import DEFAULT_CELL_M
from .matrix import _as_xy, build_coverage_matrix, covered_by
from .set_cover import solve_commune_rule, solve_lscp
from .sites import (
    CandidateSource,
    ReachTest,
    _candidate_sites,
    _containing_index,
    _demand,
    _point_xy,
)
from .solvers import (
    Method,
    PlanResult,
    PlanTarget,
    parse_target,
    solve_mclp,
)

if TYPE_CHECKING:
    import geopandas as gpd

#: ``cover_fn(demand_xy, site_xy)``: boolean sparse coverage (e.g. by travel time).
CoverFn = Callable[[np.ndarray, np.ndarray], sparse.csr_matrix]

__all__ = [
    "PROPOSED_COLUMNS",
    "before_after",
    "plan_from_layers",
    "plan_new_sites",
]

PROPOSED_COLUMNS = [
    "rank",
    "lat",
    "lon",
    "commune_code",
    "newly_covered_pop",
    "running_total_pop",
]


def plan_new_sites(
    demand_xy_m: np.ndarray,
    demand_pop: np.ndarray,
    existing_xy_m: np.ndarray,
    candidate_xy_m: np.ndarray,
    *,
    radius_m: float,
    add: int | None = None,
    target: str | PlanTarget | None = None,
    candidate_commune: np.ndarray | None = None,
    existing_commune: np.ndarray | None = None,
    n_communes: int | None = None,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    mip_rel_gap: float = 1e-4,
    cover_fn: CoverFn | None = None,
) -> PlanResult:
    """Plan new sites on metric arrays: ``add`` K sites (MCLP) or meet a ``target``.

    Existing points are kept as they are: demand within ``radius_m`` of one is
    already covered and counts for nothing; the result only lists candidates.

    Parameters
    ----------
    demand_xy_m
        ``(n, 2)`` demand (cell centre) coordinates in metres.
    demand_pop
        Population per demand point.
    existing_xy_m
        ``(k, 2)`` existing point coordinates in metres (same CRS).
    candidate_xy_m
        ``(m, 2)`` candidate site coordinates in metres (same CRS).
    radius_m
        Coverage radius in metres.
    add
        Number of new sites to add (maximal covering). Exclusive with ``target``.
    target
        A rule for :func:`parse_target` (set covering or the commune rule).
    candidate_commune, existing_commune, n_communes
        Commune index per candidate / existing point (-1 outside) and the number
        of communes; needed by the ``"communes"`` target only.
    time_limit_s
        Time limit of the whole solve in seconds (see :func:`solve_mclp`).
    method
        ``"auto"``, ``"exact"`` or ``"greedy"``.
    mip_rel_gap
        Relative gap at which the MILP stops.
    cover_fn
        Coverage by another measure than the straight line within ``radius_m``
        (:class:`coverage.travel.cover.TimeCover`); given the whole demand.

    Returns
    -------
    PlanResult
        ``selected`` indexes ``candidate_xy_m``; ``timings`` holds ``build_s``,
        ``reduce_s`` and ``solve_s``.
    """
    if (add is None) == (target is None):
        msg = (
            "give exactly one of add (number of new sites) or target (a coverage rule)"
        )
        raise InputError(msg)
    pop = np.asarray(demand_pop, dtype=float)
    dxy = _as_xy(demand_xy_m, "demand")
    if pop.shape != (len(dxy),):
        msg = f"demand_pop must have one value per demand point ({len(dxy)})"
        raise InputError(msg)
    t0 = time.perf_counter()
    if cover_fn is None:
        covered = covered_by(dxy, existing_xy_m, radius_m)
    else:
        covered = cover_fn(dxy, existing_xy_m).getnnz(axis=1) > 0
    # only open demand needs its candidate sets: the rest stays as empty rows
    live = (pop > 0) & ~covered
    if cover_fn is None:
        sub = build_coverage_matrix(dxy[live], candidate_xy_m, radius_m)
    else:
        sub = cover_fn(dxy, candidate_xy_m)[live]
    counts = np.zeros(len(dxy), dtype=np.int64)
    counts[live] = np.diff(sub.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    cover = sparse.csr_matrix(
        (sub.data, sub.indices, indptr), shape=(len(dxy), sub.shape[1])
    )
    build_s = time.perf_counter() - t0
    if add is not None:
        result = solve_mclp(
            cover,
            pop,
            add,
            covered=covered,
            time_limit_s=time_limit_s,
            method=method,
            mip_rel_gap=mip_rel_gap,
        )
    else:
        rule = parse_target(target)  # type: ignore[arg-type]
        if rule.kind == "communes":
            if (
                candidate_commune is None
                or existing_commune is None
                or n_communes is None
            ):
                msg = (
                    "the 'communes' target needs the commune of every candidate and "
                    "existing point"
                )
                raise InputError(msg)
            result = solve_commune_rule(
                candidate_commune,
                existing_commune,
                n_communes,
                cover=cover,
                weights=pop,
                covered=covered,
            )
        else:
            result = solve_lscp(
                cover,
                weights=pop,
                covered=covered,
                min_share=rule.min_share,
                time_limit_s=time_limit_s,
                method=method,
                mip_rel_gap=mip_rel_gap,
            )
    result.timings = {"build_s": build_s, **result.timings}
    result.stats = {**result.stats, "pop_existing_covered": float(pop[covered].sum())}
    return result


def _reach_test(radius_m: float, cover_fn: CoverFn | None) -> ReachTest:
    if cover_fn is None:
        return lambda d, s: covered_by(d, s, radius_m)
    return lambda d, s: np.asarray(cover_fn(d, s).getnnz(axis=1) > 0)


def plan_from_layers(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None = None,
    *,
    radius_km: float,
    add: int | None = None,
    target: str | PlanTarget | None = None,
    cell_m: float = DEFAULT_CELL_M,
    candidate_source: CandidateSource = "cells",
    exclusion: gpd.GeoDataFrame | None = None,
    max_candidates: int = 3000,
    surface: Any | None = None,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    mip_rel_gap: float = 1e-4,
    cover_fn: CoverFn | None = None,
    objective: str | None = None,
    existing_capacity: np.ndarray | None = None,
    new_capacity: float | None = None,
) -> tuple[PlanResult, gpd.GeoDataFrame]:
    """Plan new service points from the commune and point layers.

    Parameters
    ----------
    communes
        Communes with ``commune_code``, ``population`` and polygons (any CRS).
    points
        Existing service points (all are kept).
    candidates
        Candidate sites (points, or polygons used by a point on their surface);
        required when ``candidate_source="file"``.
    radius_km
        Coverage radius (the benchmark distance), km.
    add
        Number of new sites to add (maximal covering). Exclusive with ``target``.
    target
        A rule for :func:`parse_target`.
    cell_m
        Population grid cell size, metres.
    candidate_source
        ``"cells"`` (populated cell centres, thinned to ``max_candidates`` by keeping
        the most populated cell per block), ``"centres"`` (a point inside each
        commune) or ``"file"`` (``candidates``).
    exclusion
        Polygons where no new site may go.
    max_candidates
        Largest number of generated candidate cells.
    surface
        A prebuilt population surface (:class:`coverage.access.PopulationSurface`,
        e.g. from settlements or a raster) to use as demand; by default a uniform
        grid of ``cell_m`` is built with :func:`coverage.access.build_population_grid`.
        Its CRS is the one everything is projected to.
    time_limit_s, method, mip_rel_gap
        Solver options (see :func:`solve_mclp`).
    cover_fn
        Coverage by another measure (see :func:`plan_new_sites`).
    objective
        ``"median"`` or ``"center"`` (``add`` new sites minimising the mean or the
        largest distance, :func:`~coverage.plan.solve_p_median`,
        :func:`~coverage.plan.solve_p_center`), ``"capacity"`` (capacitated
        covering with ``add`` new sites); ``None``, ``"cover"`` or ``"count"``:
        maximal or set covering as before.
    existing_capacity, new_capacity
        People each existing point, and each new site, can serve (``"capacity"``).

    Returns
    -------
    (PlanResult, geopandas.GeoDataFrame)
        The result (``selected`` indexes the candidate list used) and the proposed
        points in EPSG:4326 with columns ``rank, lat, lon, commune_code,
        newly_covered_pop, running_total_pop``.
    """
    import geopandas as gpd

    from ..geo import WGS84, require_crs

    if radius_km is None or not radius_km > 0:
        msg = f"radius_km must be positive, got {radius_km}"
        raise InputError(msg)
    crs, demand_xy, pop, _ = _demand(communes, cell_m, surface)
    communes_m = communes.to_crs(crs)
    for layer, what in (
        (points, "points"),
        (candidates, "candidates"),
        (exclusion, "exclusion"),
    ):
        if layer is not None and len(layer):
            require_crs(layer, what=f"the {what} layer", operation="planning new sites")
    points_m = points.to_crs(crs) if len(points) else points.iloc[0:0]
    exist_xy = _point_xy(points_m) if len(points_m) else np.zeros((0, 2))
    radius_m = float(radius_km) * 1000.0
    reach = None
    # covering plans need every populated cell reachable; distance objectives do not
    if objective not in ("median", "center", "capacity"):
        reach = _reach_test(radius_m, cover_fn)
    cand_xy, cand_pts, n_cover = _candidate_sites(
        communes_m,
        candidates,
        demand_xy,
        pop,
        crs=crs,
        candidate_source=candidate_source,
        exclusion=exclusion,
        max_candidates=max_candidates,
        cell_m=cell_m,
        reach=reach,
        existing_xy=exist_xy,
        block_m=radius_m * math.sqrt(2.0),
    )
    polys = communes_m.geometry.to_numpy()
    cand_commune = _containing_index(np.asarray(cand_pts), polys)
    exist_pts = gpd.points_from_xy(exist_xy[:, 0], exist_xy[:, 1], crs=crs)
    exist_commune = _containing_index(np.asarray(exist_pts), polys)
    codes = communes_m["commune_code"].astype(str).to_numpy()
    if objective in ("median", "center", "capacity"):
        cell_commune = _containing_index(shapely.points(demand_xy), polys)
        result = _solve_objective(
            objective,
            demand_xy,
            pop,
            exist_xy,
            cand_xy,
            add=0 if add is None else int(add),
            radius_m=radius_m,
            cell_code=np.where(
                cell_commune >= 0, codes[np.clip(cell_commune, 0, None)], ""
            ).astype(str),
            point_ids=points_m["point_id"].astype(str).to_numpy()
            if "point_id" in points_m.columns
            else np.arange(len(exist_xy)).astype(str),
            existing_capacity=existing_capacity,
            new_capacity=new_capacity,
            time_limit_s=time_limit_s,
        )
    else:
        result = plan_new_sites(
            demand_xy,
            pop,
            exist_xy,
            cand_xy,
            radius_m=radius_m,
            add=add,
            target=target,
            candidate_commune=cand_commune,
            existing_commune=exist_commune,
            n_communes=len(communes_m),
            time_limit_s=time_limit_s,
            method=method,
            mip_rel_gap=mip_rel_gap,
            cover_fn=cover_fn,
        )
    sel = result.selected
    c_idx = cand_commune[sel]
    newly = np.round(result.marginal_gain).astype(np.int64)
    geo = gpd.GeoSeries(cand_pts[sel], crs=crs).to_crs(WGS84)
    proposed = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(sel) + 1, dtype=np.int64),
            "lat": geo.y.to_numpy(),
            "lon": geo.x.to_numpy(),
            "commune_code": np.where(c_idx >= 0, codes[np.clip(c_idx, 0, None)], ""),
            "newly_covered_pop": newly,
            "running_total_pop": np.cumsum(newly),
        },
        geometry=geo.to_numpy(),
        crs=WGS84,
    )
    if "commune_name" in communes_m.columns:
        names = communes_m["commune_name"].astype(str).to_numpy()
        proposed.insert(
            len(PROPOSED_COLUMNS),
            "commune_name",
            np.where(c_idx >= 0, names[np.clip(c_idx, 0, None)], ""),
        )
    if n_cover:
        result.stats["n_candidates_for_reach"] = n_cover
        result.detail += (
            ("; " if result.detail else "")
            + f"candidates: the {len(cand_xy) - n_cover:,} most populated cells "
            + f"(at most {max_candidates:,}) and {n_cover:,} more so that every "
            + "populated cell is within reach"
        )
    solved_here = result.problem in _OBJECTIVE_PROBLEMS.values()
    if result.problem == "commune" and len(result.uncoverable):
        result.detail += ": " + _list_some(codes[result.uncoverable].tolist())
    elif len(result.uncoverable) and not solved_here:
        cells = result.uncoverable
        where = _containing_index(shapely.points(demand_xy[cells]), polys)
        by = np.bincount(
            where[where >= 0], weights=pop[cells][where >= 0], minlength=len(codes)
        )
        top = np.argsort(-by)[: int((by > 0).sum())]
        result.stats["unreachable_pop_by_commune"] = {
            str(codes[i]): float(by[i]) for i in top
        }
        result.detail += (
            ("; " if result.detail else "")
            + "population out of reach of every candidate and existing point, "
            + "by commune: "
            + _list_some([f"{codes[i]} ({by[i]:,.0f})" for i in top])
        )
    return result, proposed


_OBJECTIVE_PROBLEMS = {
    "median": "p-median",
    "center": "p-center",
    "capacity": "capacitated-cover",
}
_SITING_STATUS = {
    "optimal": "optimal",
    "feasible": "feasible (time limit)",
    "infeasible": "infeasible",
}


def _solve_objective(
    objective: str,
    demand_xy: np.ndarray,
    pop: np.ndarray,
    exist_xy: np.ndarray,
    cand_xy: np.ndarray,
    *,
    add: int,
    radius_m: float,
    cell_code: np.ndarray,
    point_ids: np.ndarray,
    existing_capacity: np.ndarray | None,
    new_capacity: float | None,
    time_limit_s: float,
) -> PlanResult:
    """Solve p-median, p-center or capacitated covering as a :class:`PlanResult`.

    ``marginal_gain`` is the population each new site brings newly within
    ``radius_m``, in rank order, as for covering; an infeasible problem names the
    communes (and, with capacities, the points) that cause it.
    """
    from .objectives import solve_capacitated_cover, solve_p_center, solve_p_median

    if objective == "capacity":
        cap = np.asarray(
            np.full(len(exist_xy), np.nan)
            if existing_capacity is None
            else existing_capacity,
            dtype=float,
        )
        missing = ~np.isfinite(cap)
        if missing.any():
            msg = (
                f"--respect-capacity: {int(missing.sum())} existing point(s) have no "
                f"capacity: {_list_some(point_ids[missing].tolist())}; give a "
                "capacity column (--capacity-column) or [capacity] defaults per "
                "kind in the benchmark profile"
            )
            raise InputError(msg)
        known = cap[np.isfinite(cap)]
        per_new = (
            float(new_capacity)
            if new_capacity is not None
            else float(np.median(known))
            if len(known)
            else 0.0
        )
        res = solve_capacitated_cover(
            demand_xy,
            pop,
            exist_xy,
            cap,
            cand_xy,
            per_new,
            add,
            radius_m=radius_m,
            demand_group=cell_code,
            time_limit_s=time_limit_s,
        )
        if len(res.saturated_existing):
            res.detail += "; saturated existing points (ids): " + _list_some(
                point_ids[res.saturated_existing].tolist()
            )
    elif objective == "median":
        res = solve_p_median(
            demand_xy, pop, exist_xy, cand_xy, add, time_limit_s=time_limit_s
        )
    else:
        res = solve_p_center(
            demand_xy, pop, exist_xy, cand_xy, add, time_limit_s=time_limit_s
        )
    bad = np.asarray(res.infeasible_demand, dtype=np.int64)
    if len(bad):
        codes, inv = np.unique(cell_code[bad], return_inverse=True)
        by = np.bincount(inv.ravel(), weights=pop[bad])
        top = np.argsort(-by, kind="stable")
        res.detail += (
            ("; " if res.detail else "")
            + "population no existing point or candidate can serve, by commune: "
            + _list_some([f"{codes[t] or '(outside)'} ({by[t]:,.0f})" for t in top])
        )
    if res.status == "infeasible":
        msg = f"the {_OBJECTIVE_PROBLEMS[objective]} plan cannot be met: {res.detail}"
        raise InputError(msg)
    if res.status == "feasible" and objective in ("median", "center"):
        res.detail += (
            f" ({len(cand_xy):,} candidates, {int((pop > 0).sum()):,} populated "
            "cells: fewer candidates with --max-candidates, a coarser --cell-m or a "
            "longer --time-limit prove the optimum sooner)"
        )
    sel = np.asarray(res.selected, dtype=np.int64)
    covered = covered_by(demand_xy, exist_xy, radius_m)
    gains = np.zeros(len(sel))
    for rank, j in enumerate(sel):
        near = covered_by(demand_xy, cand_xy[j : j + 1], radius_m) & ~covered
        gains[rank] = float(pop[near].sum())
        covered |= near
    return PlanResult(
        problem=_OBJECTIVE_PROBLEMS[objective],
        selected=sel,
        objective=float(res.objective),
        status=_SITING_STATUS.get(res.status, res.status),
        bound=float(res.bound),
        gap=float(res.gap),
        method="exact",
        solve_time_s=float(res.solve_time_s),
        marginal_gain=gains,
        newly_covered_pop=float(gains.sum()),
        uncoverable=bad,
        uncoverable_pop=float(pop[bad].sum()),
        detail=res.detail,
        stats={**res.stats, "objective_before": float(res.objective_before)},
    )


def _list_some(items: list[str], limit: int = 20) -> str:
    more = "" if len(items) <= limit else f" and {len(items) - limit} more"
    return ", ".join(items[:limit]) + more


def before_after(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    radius_km: float,
    cell_m: float = DEFAULT_CELL_M,
    surface: Any | None = None,
    cover_fn: CoverFn | None = None,
) -> tuple[Any, dict[str, float]]:
    """Per-commune and overall figures before and after adding the proposed points.

    Parameters
    ----------
    communes
        Communes with ``commune_code``, ``population`` and polygons.
    points
        Existing service points.
    proposed
        Proposed points (e.g. from :func:`plan_from_layers`).
    radius_km
        The benchmark distance, km.
    cell_m
        Population grid cell size, metres.
    surface
        A prebuilt population surface (see :func:`plan_from_layers`).
    cover_fn
        Coverage by another measure (see :func:`plan_new_sites`).

    Returns
    -------
    (pandas.DataFrame, dict)
        Per commune (``commune_code``): ``n_points``, ``radius_km`` (the average
        service radius ``sqrt(area / (pi N))``), ``people_per_point`` and
        ``share_within`` (share of the grid population within ``radius_km`` of a
        point), each with a ``_before`` and an ``_after`` column; and the same
        figures for the whole area.
    """
    import pandas as pd

    from ..geo import area_km2
    from ..metrics import people_per_point, service_radius_km

    crs, demand_xy, pop, cell_commune = _demand(communes, cell_m, surface)
    communes_m = communes.to_crs(crs)
    polys = communes_m.geometry.to_numpy()
    n_c = len(communes_m)
    if cell_commune is None:
        cell_commune = _containing_index(shapely.points(demand_xy), polys)
    area = area_km2(communes)
    population = communes_m["population"].to_numpy(float)
    radius_m = float(radius_km) * 1000.0
    out = pd.DataFrame({"commune_code": communes_m["commune_code"].astype(str)})
    overall: dict[str, float] = {}
    layers = {"before": [points], "after": [points, proposed]}
    for label, parts in layers.items():
        xy = np.vstack(
            [_point_xy(p.to_crs(crs)) for p in parts if len(p)] or [np.zeros((0, 2))]
        )
        pc = (
            _containing_index(shapely.points(xy), polys)
            if len(xy)
            else np.zeros(0, int)
        )
        n = np.bincount(pc[pc >= 0], minlength=n_c)
        if cover_fn is None:
            cov = covered_by(demand_xy, xy, radius_m)
        else:
            cov = cover_fn(demand_xy, xy).getnnz(axis=1) > 0
        inside = cell_commune >= 0
        pop_c = np.bincount(cell_commune[inside], weights=pop[inside], minlength=n_c)
        cov_c = np.bincount(
            cell_commune[inside], weights=(pop * cov)[inside], minlength=n_c
        )
        out[f"n_points_{label}"] = n
        out[f"radius_km_{label}"] = service_radius_km(area, n)
        out[f"people_per_point_{label}"] = people_per_point(population, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"share_within_{label}"] = np.where(pop_c > 0, cov_c / pop_c, np.nan)
        total_n = int(n.sum())
        overall[f"n_points_{label}"] = float(total_n)
        overall[f"radius_km_{label}"] = float(
            service_radius_km(np.array([area.sum()]), np.array([total_n]))[0]
        )
        overall[f"people_per_point_{label}"] = float(
            people_per_point(np.array([population.sum()]), np.array([total_n]))[0]
        )
        overall[f"share_within_{label}"] = (
            float((pop * cov).sum() / pop.sum()) if pop.sum() > 0 else math.nan
        )
    return out, overall
