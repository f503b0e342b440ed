"""Exact p-center (the largest distance) on sparse set-cover formulations.

Array core in metre coordinates, as :mod:`coverage.plan.median`: existing points
are always open, ``k`` new points are chosen among the candidate sites, one time
limit bounds the whole solve.

p-center (:func:`solve_p_center`): minimise the largest distance of a populated cell
to its nearest open point. The optimum is one of the sorted distinct cell-to-point
distances between a lower bound (every candidate open) and a greedy upper bound;
bisection over them, each step a set-cover feasibility MILP (fewest candidates
covering, within the radius, the cells no existing point covers) or a greedy cover
that already fits in ``k``; the MILP carries ``sum y <= k`` and stops at its first
cover, since only whether ``k`` sites suffice matters.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from .median import _median_infeasible
from .siting_core import (
    STATUS_FEASIBLE,
    STATUS_OPTIMAL,
    SitingResult,
    _inputs,
    _nearest,
    _open_distance,
    _pairs_within,
    _weighted_mean,
)

__all__ = ["solve_p_center"]


def _greedy_center(
    dl: np.ndarray, d_exist: np.ndarray, cand: np.ndarray, k: int
) -> np.ndarray:
    """Farthest-first: open the candidate nearest to the currently worst cell."""
    tree = cKDTree(cand)
    cur = d_exist.copy()
    chosen: list[int] = []
    for _ in range(k):
        worst = int(np.argmax(cur))
        _, j = tree.query(dl[worst])
        j = int(j)
        if j in chosen:
            break
        chosen.append(j)
        cur = np.minimum(cur, np.hypot(*(dl - cand[j]).T))
    return np.array(sorted(chosen), dtype=np.int64)


def _greedy_cover(a: sparse.csc_matrix, limit: int) -> np.ndarray | None:
    """Greedy set cover of every row; None if it needs more than ``limit`` columns."""
    m = a.shape[0]
    left = np.ones(m, bool)
    chosen: list[int] = []
    while left.any():
        if len(chosen) >= limit:
            return None
        gain = a.T @ left.astype(float)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            return None
        chosen.append(j)
        rows = a.indices[a.indptr[j] : a.indptr[j + 1]]
        left[rows] = False
    return np.array(chosen, dtype=np.int64)


def solve_p_center(
    demand_xy: np.ndarray,
    demand_pop: np.ndarray,
    existing_xy: np.ndarray,
    candidate_xy: np.ndarray,
    k: int,
    *,
    time_limit_s: float = 60.0,
) -> SitingResult:
    """Choose ``k`` new sites minimising the largest distance of a populated cell.

    Parameters
    ----------
    demand_xy, demand_pop, existing_xy, candidate_xy, k
        As in :func:`solve_p_median`; only cells with population count.
    time_limit_s
        Limit for the whole solve (all bisection steps), seconds.

    Returns
    -------
    SitingResult
        ``objective`` and ``bound`` in metres: the largest distance reached and the
        proven lower bound on the optimum.
    """
    t0 = time.perf_counter()
    d, pop, ex, cand, k = _inputs(demand_xy, demand_pop, existing_xy, candidate_xy, k)
    live = np.flatnonzero(pop > 0)
    dl = d[live]
    d_exist = _nearest(dl, ex)
    before = float(d_exist.max()) if len(live) and len(ex) else math.inf
    if len(live) == 0:
        return _center_result(
            d, pop, live, ex, cand, np.zeros(0, np.int64), 0.0, 0.0, before, t0, {}
        )
    if len(ex) == 0 and (k == 0 or len(cand) == 0):
        res = _median_infeasible(d, live, t0, before)
        res.problem = "p-center"
        return res
    k_eff = min(k, len(cand))
    if k_eff == 0:
        return _center_result(
            d,
            pop,
            live,
            ex,
            cand,
            np.zeros(0, np.int64),
            before,
            before,
            before,
            t0,
            {},
        )
    sel_hi = _greedy_center(dl, d_exist, cand, k_eff)
    hi_val = float(_open_distance(dl, ex, cand, sel_hi).max())
    lo_val = float(np.minimum(d_exist, _nearest(dl, cand)).max())
    # candidate radii: pair distances and existing distances within [lo, hi]
    pi, pj, pd = _pairs_within(dl, cand, np.minimum(d_exist, hi_val), strict=False)
    values = np.unique(np.concatenate([pd, d_exist]))
    values = values[(values >= lo_val) & (values <= hi_val)]
    if len(values) == 0 or values[-1] < hi_val:
        values = np.append(values, hi_val)
    lo, hi = 0, len(values) - 1  # values[hi] feasible; values < values[lo] infeasible
    steps = milps = 0
    timed_out = False
    while lo < hi:
        remaining = time_limit_s - (time.perf_counter() - t0)
        if remaining <= 0:
            timed_out = True
            break
        mid = (lo + hi) // 2
        r = values[mid]
        verdict, sel, used_milp = _cover_within(
            r, d_exist, pi, pj, pd, len(cand), k_eff, remaining
        )
        steps += 1
        milps += used_milp
        if verdict is None:
            timed_out = True
            break
        if verdict:
            hi, sel_hi = mid, sel
        else:
            lo = mid + 1
    stats = {
        "n_radii": len(values),
        "bisection_steps": steps,
        "milps": milps,
        "n_pairs": len(pi),
    }
    res = _center_result(
        d,
        pop,
        live,
        ex,
        cand,
        sel_hi,
        float(values[hi]),
        float(values[lo]),
        before,
        t0,
        stats,
    )
    if timed_out and lo < hi:
        res.status = STATUS_FEASIBLE
        res.detail = (
            f"time limit of {time_limit_s:g} s reached; the optimum lies between "
            f"{values[lo]:.1f} m and {res.objective:.1f} m (gap {res.gap:.4%})"
        )
    return res


def _cover_within(
    r: float,
    d_exist: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    n_cand: int,
    k: int,
    remaining_s: float,
) -> tuple[bool | None, np.ndarray, int]:
    """Can ``k`` candidates bring every cell within ``r``? (verdict, sites, milp?)."""
    need = d_exist > r
    keep = need[pi] & (pd <= r)
    rows_of = np.cumsum(need) - 1
    n_rows = int(need.sum())
    if n_rows == 0:
        return True, np.zeros(0, np.int64), 0
    rows = rows_of[pi[keep]]
    if len(np.unique(rows)) < n_rows:
        return False, np.zeros(0, np.int64), 0
    sites, col = np.unique(pj[keep], return_inverse=True)
    a = sparse.csc_matrix(
        (np.ones(len(rows)), (rows, col.ravel())), shape=(n_rows, len(sites))
    )
    greedy = _greedy_cover(a, k)
    if greedy is not None:
        return True, np.sort(sites[greedy]), 0
    # only "at most k?" matters: with the cardinality row a radius needing more
    # is refused by the relaxation instead of a search for its exact minimum
    card = sparse.csr_matrix(np.ones((1, len(sites))))
    res = milp(
        np.ones(len(sites)),
        constraints=[
            LinearConstraint(a.tocsr(), 1.0, np.inf),
            LinearConstraint(card, 0.0, float(k)),
        ],
        integrality=np.ones(len(sites)),
        bounds=Bounds(0.0, 1.0),
        # any cover within k answers yes: stop at the first one
        options={"time_limit": max(remaining_s, 0.05), "mip_rel_gap": 1.0},
    )
    if res.status == 2:
        return False, np.zeros(0, np.int64), 1
    if res.x is not None and res.x.sum() <= k + 0.5:
        return True, np.sort(sites[res.x > 0.5]), 1
    if res.status == 0 or (
        res.mip_dual_bound is not None and res.mip_dual_bound > k + 1e-6
    ):
        return False, np.zeros(0, np.int64), 1
    return None, np.zeros(0, np.int64), 1


def _center_result(
    d: np.ndarray,
    pop: np.ndarray,
    live: np.ndarray,
    ex: np.ndarray,
    cand: np.ndarray,
    sel: np.ndarray,
    value: float,
    bound: float,
    before: float,
    t0: float,
    stats: dict[str, Any],
) -> SitingResult:
    dist = np.full(len(d), np.nan)
    if len(live):
        dist[live] = _open_distance(d[live], ex, cand, sel)
        value = float(dist[live].max())
    bound = min(bound, value)
    gap = (value - bound) / value if value > 0 else 0.0
    return SitingResult(
        problem="p-center",
        selected=np.sort(sel),
        objective=value,
        bound=bound,
        gap=gap,
        status=STATUS_OPTIMAL,
        objective_before=before,
        distance_m=dist,
        mean_distance_m=_weighted_mean(pop, np.nan_to_num(dist, nan=0.0)),
        infeasible_demand=np.zeros(0, np.int64),
        detail="",
        solve_time_s=time.perf_counter() - t0,
        stats=stats,
    )
