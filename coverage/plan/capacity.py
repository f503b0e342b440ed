"""Exact capacitated covering on a sparse formulation.

Array core in metre coordinates, independent of any GIS library. Existing points
are always open; ``k`` new points are chosen among the candidate sites, and the
problem is solved with :func:`scipy.optimize.milp` (HiGHS) under one time limit.

Capacitated covering (:func:`solve_capacitated_cover`): maximise the population
assigned to points within ``radius_m``, each point serving at most its capacity
(existing points included); a cell's population may be split between points.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import InputError, SolverError
from .siting_core import (
    STATUS_FEASIBLE,
    STATUS_OPTIMAL,
    SitingResult,
    _equal_rows,
    _inputs,
    _list_some,
    _milp_options,
    _pairs_within,
)

__all__ = ["DISTANCE_TOLERANCE_M", "solve_capacitated_cover"]

#: Distances up to the radius plus this count as within it (capacitated covering).
DISTANCE_TOLERANCE_M = 1e-3


# --------------------------------------------------------- capacitated covering


def _capacities(cap: np.ndarray | float, n: int, what: str) -> np.ndarray:
    a = np.broadcast_to(np.asarray(cap, dtype=float), (n,)).copy()
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        msg = f"{what} must be finite and >= 0 for every point"
        raise InputError(msg)
    return a


def solve_capacitated_cover(
    demand_xy: np.ndarray,
    demand_pop: np.ndarray,
    existing_xy: np.ndarray,
    existing_capacity: np.ndarray | float,
    candidate_xy: np.ndarray,
    candidate_capacity: np.ndarray | float,
    k: int,
    *,
    radius_m: float,
    demand_group: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-9,
) -> SitingResult:
    """Choose ``k`` new sites maximising the population served within capacity.

    Every point (existing, kept open, and new) serves people within ``radius_m``, at
    most its capacity in total; the population of a cell may be split.

    Parameters
    ----------
    demand_xy, demand_pop, existing_xy, candidate_xy, k
        As in :func:`solve_p_median`.
    existing_capacity, candidate_capacity
        People each point can serve (one value per point, or one for all).
    radius_m
        Coverage radius.
    demand_group
        Group label (commune code) per cell, to say where people stay unserved.
    time_limit_s
        Limit for the whole solve, seconds.
    mip_rel_gap
        Relative gap at which HiGHS stops.

    Returns
    -------
    SitingResult
        ``objective`` is the population served; ``objective_before`` the population
        the existing points serve within their capacity.
    """
    t0 = time.perf_counter()
    d, pop, ex, cand, k = _inputs(demand_xy, demand_pop, existing_xy, candidate_xy, k)
    cap_e = _capacities(existing_capacity, len(ex), "existing_capacity")
    cap_c = _capacities(candidate_capacity, len(cand), "candidate_capacity")
    if not radius_m >= 0:
        msg = f"radius_m must be >= 0, got {radius_m}"
        raise InputError(msg)
    live = np.flatnonzero(pop > 0)
    sites = np.vstack([ex, cand])
    cap = np.concatenate([cap_e, cap_c])
    n_ex = len(ex)
    r = np.full(len(live), float(radius_m) + DISTANCE_TOLERANCE_M)
    pi, pf, _ = _pairs_within(d[live], sites, r, strict=False)
    pi = live[pi]
    reach = np.zeros(len(d), bool)
    reach[pi] = True
    out_of_reach = live[~reach[live]]
    # cells reaching the same points are one demand row (their split is free)
    reached = np.flatnonzero(reach)
    rowmap = np.full(len(d), -1, np.int64)
    rowmap[reached] = np.arange(len(reached))
    reach_sets = sparse.csr_matrix(
        (np.ones(len(pi)), (rowmap[pi], pf)), shape=(len(reached), len(sites))
    )
    reach_sets.sum_duplicates()
    groups = _equal_rows(reach_sets)
    first, inv = groups if groups is not None else (np.arange(len(reached)),) * 2
    gpop = np.bincount(inv, weights=pop[reached], minlength=len(first))
    gsets = reach_sets[first].tocoo()
    gi, gf = gsets.row.astype(np.int64), gsets.col.astype(np.int64)
    is_cand = gf >= n_ex
    before_obj, _, _ = _cover_lp(
        gpop, cap, gi[~is_cand], gf[~is_cand], len(first), len(sites)
    )
    x, y, status, bound, stats = _cover_milp(
        gpop,
        cap,
        gi,
        gf,
        n_ex,
        len(first),
        len(sites),
        k,
        time_limit_s - (time.perf_counter() - t0),
        mip_rel_gap,
    )
    stats["n_demand_rows"] = len(first)
    sel = np.flatnonzero(y > 0.5)
    gcov = np.bincount(gi, weights=x, minlength=len(first))
    covered = np.zeros(len(d))
    with np.errstate(invalid="ignore", divide="ignore"):
        covered[reached] = gcov[inv] * pop[reached] / gpop[inv]
    load = np.bincount(gf, weights=x, minlength=len(sites))
    objective = float(covered.sum())
    bound = max(bound, objective)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    open_site = np.concatenate(
        [np.ones(n_ex, bool), np.isin(np.arange(len(cand)), sel)]
    )
    tol = 1e-6 * np.maximum(cap, 1.0)
    saturated = np.flatnonzero(open_site & (load >= cap - tol))
    # people within reach of some open point but not served: capacity is the cause
    open_pairs = open_site[pf]
    reach_open = np.zeros(len(d), bool)
    reach_open[pi[open_pairs]] = True
    short = np.where(reach_open, pop - covered, 0.0)
    short[short < 1e-9 * np.maximum(pop, 1.0)] = 0.0
    by_group: dict[Any, float] = {}
    parts = []
    if out_of_reach.size:
        parts.append(
            f"{pop[out_of_reach].sum():,.0f} people in {len(out_of_reach)} cell(s) "
            f"have no point or candidate within {radius_m:g} m"
        )
    if short.sum() > 0:
        sat_e = saturated[saturated < n_ex]
        sat_c = saturated[saturated >= n_ex] - n_ex
        where = ""
        if demand_group is not None:
            g = np.asarray(demand_group).ravel()
            if len(g) != len(d):
                msg = f"demand_group has {len(g)} labels for {len(d)} cells"
                raise InputError(msg)
            labels, inv = np.unique(g[short > 0], return_inverse=True)
            sums = np.bincount(inv.ravel(), weights=short[short > 0])
            top = np.argsort(-sums, kind="stable")
            by_group = {labels[t].item(): float(sums[t]) for t in top}
            where = "; most affected: " + ", ".join(
                f"{labels[t]} ({sums[t]:,.0f})" for t in top[:10]
            )
        parts.append(
            f"{short.sum():,.0f} people within reach stay unserved for lack of "
            f"capacity; saturated existing points: {_list_some(sat_e) or 'none'}; "
            f"saturated new sites: {_list_some(sat_c) or 'none'}{where}"
        )
    detail = "; ".join(parts)
    if status == STATUS_FEASIBLE:
        detail = f"time limit of {time_limit_s:g} s reached; proven gap {gap:.4%}" + (
            "; " + detail if detail else ""
        )
    return SitingResult(
        problem="capacitated-cover",
        selected=sel,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        objective_before=before_obj,
        distance_m=np.zeros(0),
        mean_distance_m=float("nan"),
        infeasible_demand=out_of_reach,
        detail=detail,
        solve_time_s=time.perf_counter() - t0,
        stats=stats,
        covered_pop=covered,
        facility_load=load,
        saturated_existing=saturated[saturated < n_ex],
        saturated_candidates=saturated[saturated >= n_ex] - n_ex,
        unserved_by_group=by_group,
    )


def _cover_rows(
    pop: np.ndarray, cap: np.ndarray, pi: np.ndarray, pf: np.ndarray, n: int, m: int
) -> tuple[sparse.csr_matrix, np.ndarray]:
    npair = len(pi)
    cols = np.arange(npair)
    a_dem = sparse.csr_matrix((np.ones(npair), (pi, cols)), shape=(n, npair))
    a_fac = sparse.csr_matrix((np.ones(npair), (pf, cols)), shape=(m, npair))
    return sparse.vstack([a_dem, a_fac]).tocsr(), np.concatenate([pop, cap])


def _cover_lp(
    pop: np.ndarray, cap: np.ndarray, pi: np.ndarray, pf: np.ndarray, n: int, m: int
) -> tuple[float, np.ndarray, int]:
    if len(pi) == 0:
        return 0.0, np.zeros(0), 0
    a, ub = _cover_rows(pop, cap, pi, pf, n, m)
    res = milp(
        -np.ones(len(pi)),
        constraints=[LinearConstraint(a, -np.inf, ub)],
        bounds=Bounds(0.0, np.inf),
    )
    if res.x is None:
        msg = f"the covering LP failed: {res.message}"
        raise SolverError(msg)
    return float(-res.fun), res.x, int(res.status)


def _cover_milp(
    pop: np.ndarray,
    cap: np.ndarray,
    pi: np.ndarray,
    pf: np.ndarray,
    n_ex: int,
    n: int,
    m: int,
    k: int,
    remaining_s: float,
    mip_rel_gap: float,
) -> tuple[np.ndarray, np.ndarray, str, float, dict[str, Any]]:
    n_cand = m - n_ex
    npair = len(pi)
    if npair == 0:
        return np.zeros(0), np.zeros(n_cand), STATUS_OPTIMAL, 0.0, {"n_pairs": 0}
    cols = np.arange(npair)
    a_dem = sparse.csr_matrix((np.ones(npair), (pi, cols)), shape=(n, npair + n_cand))
    # facility rows: sum_i x_ij - cap_j y_j <= 0 (candidates), <= cap_j (existing);
    # a site never serves more than the people within its reach, so that smaller
    # coefficient is the same model with a tighter relaxation
    reach_pop = np.bincount(pf, weights=pop[pi], minlength=m)
    cand_cap = np.minimum(cap[n_ex:], reach_pop[n_ex:])
    cand_cols = npair + np.arange(n_cand)
    a_fac = sparse.csr_matrix(
        (
            np.concatenate([np.ones(npair), -cand_cap]),
            (
                np.concatenate([pf, n_ex + np.arange(n_cand)]),
                np.concatenate([cols, cand_cols]),
            ),
        ),
        shape=(m, npair + n_cand),
    )
    fac_ub = np.concatenate([cap[:n_ex], np.zeros(n_cand)])
    # no x_ij <= P_i y_j rows: they tighten the relaxation but make its LP far
    # slower to solve than the capacity rows alone
    card = sparse.csr_matrix(
        (np.ones(n_cand), (np.zeros(n_cand, np.int64), cand_cols)),
        shape=(1, npair + n_cand),
    )
    a = sparse.vstack([a_dem, a_fac, card]).tocsr()
    ub = np.concatenate([pop, fac_ub, [float(min(k, n_cand))]])
    res = milp(
        np.concatenate([-np.ones(npair), np.zeros(n_cand)]),
        constraints=[LinearConstraint(a, -np.inf, ub)],
        integrality=np.concatenate([np.zeros(npair), np.ones(n_cand)]),
        bounds=Bounds(0.0, np.concatenate([np.full(npair, np.inf), np.ones(n_cand)])),
        options=_milp_options(remaining_s, mip_rel_gap),
    )
    if res.x is None:
        msg = f"the capacitated covering MILP found no solution: {res.message}"
        raise SolverError(msg)
    status = STATUS_OPTIMAL if res.status == 0 else STATUS_FEASIBLE
    bound = (
        -float(res.mip_dual_bound)
        if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound)
        else math.inf
    )
    stats = {"n_pairs": npair, "n_rows": a.shape[0], "nnz": a.nnz}
    return res.x[:npair], res.x[npair:], status, bound, stats
