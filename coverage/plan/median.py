"""Exact p-median (population-weighted mean distance) on sparse formulations.

Array core in metre coordinates, independent of any GIS library. Existing points
are always open; ``k`` new points are chosen among the candidate sites. Every
problem is solved with :func:`scipy.optimize.milp` (HiGHS) under one time limit for
the whole solve, and the result carries the status (``"optimal"``, ``"feasible"``
with a proven gap, or ``"infeasible"`` with the demand cells that cause it), the
objective and a proven bound.

p-median (:func:`solve_p_median`): minimise ``sum_i P_i d(i, nearest open point)``.
Safe reduction: a candidate not strictly closer to cell ``i`` than its nearest
existing point can never be its nearest open point, so only those pairs are built;
without existing points, the nearest open point of a cell is among its
``n_candidates - k + 1`` nearest candidates (at most ``n_candidates - k`` stay
closed). The model is the radius formulation of Elloumi (2010): for the distinct
distances ``D_i^0 < ... < D_i^m`` of cell ``i`` (the last being its nearest existing
point), ``z_ik`` is 1 when no open point is within ``D_i^{k-1}``, with
``z_ik + sum_{d_ij <= D_i^{k-1}} y_j >= 1`` and cost
``P_i (D_i^0 + sum_k (D_i^k - D_i^{k-1}) z_ik)``. Each ``z`` sits in one row only,
so rows of different cells with the same site set merge into one with the summed
cost (exact; most rows merge). When the ladders are long (few or no existing
points) the chained form ``z_ik - z_i,k-1 + sum_{d_ij = D_i^{k-1}} y_j >= 0`` keeps
the model linear in the number of pairs (:data:`CHAIN_FACTOR`). Both have the LP
bound of the strong assignment formulation. Should HiGHS reach the time limit
without a solution, a greedy one is returned with the proven bound. Without
existing points this is the classical p-median, much harder than the reduced
problem with existing points, and that MILP is solved directly.

With existing points the MILP comes last (:func:`_median_lagrangian`): a greedy
solution improved by swaps (interchange) is the incumbent; the Lagrangian dual of
the assignment rows, raised by subgradient steps, bounds every solution, and each
candidate whose forced opening would cost more than the incumbent is fixed closed.
When the bound meets the incumbent (within ``mip_rel_gap``) it is proven optimal;
otherwise the MILP runs on the candidates left. The HiGHS LP of the whole model is
what used to take most of the time (about 50 s on the bundled sample).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from ..errors import SolverError
from .siting_core import (
    STATUS_FEASIBLE,
    STATUS_INFEASIBLE,
    STATUS_OPTIMAL,
    SitingResult,
    _equal_rows,
    _inputs,
    _list_some,
    _milp_options,
    _nearest,
    _open_distance,
    _pairs_within,
    _weighted_mean,
)

__all__ = [
    "CHAIN_FACTOR",
    "LAGRANGE_ITERATIONS",
    "LAGRANGE_MIN_STEP",
    "LAGRANGE_PATIENCE",
    "solve_p_median",
]

#: The p-median model switches from the radius formulation with one row per level
#: listing every nearer site to its chained form (linear size) when the former
#: would have more than this many times the non-zeros of the latter.
CHAIN_FACTOR = 4

#: Subgradient steps of the p-median Lagrangian bound (with existing points), and
#: the steps without improvement after which the step length is halved.
LAGRANGE_ITERATIONS = 1000
LAGRANGE_PATIENCE = 15
#: The dual ascent stops, and the MILP takes over, once the step is this short.
LAGRANGE_MIN_STEP = 1e-6


# ---------------------------------------------------------------------- p-median


def _median_pairs(
    d: np.ndarray, cand: np.ndarray, d_exist: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if np.all(np.isfinite(d_exist)):
        return _pairs_within(d, cand, d_exist, strict=True)
    # without existing points: the nearest open site is among the n - k + 1 nearest
    n_keep = len(cand) - k + 1
    dist, idx = cKDTree(cand).query(d, k=n_keep)
    dist = np.asarray(dist, dtype=float).reshape(len(d), n_keep)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(d), n_keep)
    cell = np.repeat(np.arange(len(d)), n_keep)
    pi, pj, pd = cell, idx.ravel(), dist.ravel()
    # cells that also have an existing point keep only strictly closer candidates
    keep = pd < d_exist[pi]
    return pi[keep], pj[keep], pd[keep]


def _merge_equal_rows(
    sets: sparse.csr_matrix, cost: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Merge rows with the same site set, adding their costs.

    Each ``z`` appears in its own row only and has a positive cost, so at the
    optimum ``z = max(0, 1 - y(S))``: rows with equal sets ``S`` take equal values
    and one row with the summed cost is the same model.
    """
    groups = _equal_rows(sets)
    if groups is None:
        return sets, cost
    first, inv = groups
    return sets[first], np.bincount(inv, weights=cost, minlength=len(first))


def _median_model(
    pop: np.ndarray,
    d_exist: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    n_cand: int,
) -> dict[str, Any]:
    """Radius formulation; returns the MILP pieces and the constant."""
    n = len(pop)
    term = np.flatnonzero(np.isfinite(d_exist))
    # levels: distinct (cell, distance) of the candidate pairs, plus each cell's
    # existing point as its last level; the terminal sorts after equal distances
    lv_cell = np.concatenate([pi, term])
    lv_dist = np.concatenate([pd, d_exist[term]])
    lv_term = np.concatenate([np.zeros(len(pi), bool), np.ones(len(term), bool)])
    lv_site = np.concatenate([pj, np.full(len(term), -1, np.int64)])
    order = np.lexsort((lv_term, lv_dist, lv_cell))
    lv_cell, lv_dist, lv_term, lv_site = (
        lv_cell[order],
        lv_dist[order],
        lv_term[order],
        lv_site[order],
    )
    new = np.ones(len(lv_cell), bool)
    new[1:] = (lv_cell[1:] != lv_cell[:-1]) | (lv_dist[1:] != lv_dist[:-1])
    level = np.cumsum(new) - 1
    g_cell = lv_cell[new]
    g_dist = lv_dist[new]
    n_lv = len(g_cell)
    first = np.ones(n_lv, bool)
    first[1:] = g_cell[1:] != g_cell[:-1]
    last = np.ones(n_lv, bool)
    last[:-1] = g_cell[1:] != g_cell[:-1]
    constant = float(np.sum(pop[g_cell[first]] * g_dist[first]))
    # one z (and one row) per non-first level
    zlev = np.flatnonzero(~first)
    zcol = np.full(n_lv, -1, np.int64)
    zcol[zlev] = np.arange(len(zlev))
    z_cost = pop[g_cell[zlev]] * (g_dist[zlev] - g_dist[zlev - 1])
    # every site of a pair is a column; only those below a cell's last level enter
    # its rows (the last level is reached anyway)
    is_site = ~lv_term
    used_sites, ycol_all = np.unique(lv_site[is_site], return_inverse=True)
    ycol = np.full(len(lv_site), -1, np.int64)
    ycol[is_site] = ycol_all.ravel()
    site_rows = is_site & ~last[level]
    ny, nz = len(used_sites), len(zlev)
    grp = np.cumsum(first) - 1
    last_of = np.flatnonzero(last)[grp]
    lam = level[site_rows]
    count = last_of[lam] - lam
    n_site_rows = int(site_rows.sum())
    if count.sum() <= CHAIN_FACTOR * (nz + n_site_rows):
        # z_g + (sites below level g) >= 1: a site enters every row above its level;
        # no z-to-z links, so equal rows merge and the LP solves fast
        offset = np.repeat(np.cumsum(count) - count, count)
        g = np.repeat(lam + 1, count) + np.arange(int(count.sum())) - offset
        sets = sparse.csr_matrix(
            (np.ones(len(g)), (zcol[g], np.repeat(ycol[site_rows], count))),
            shape=(nz, ny),
        )
        sets.sum_duplicates()
        sets, z_cost = _merge_equal_rows(sets, z_cost)
        nz = sets.shape[0]
        a = sparse.hstack([sets, sparse.identity(nz, format="csr")]).tocsr()
        lb = np.ones(nz)
    else:
        # long ladders (few or no existing points): the chained form, linear in size,
        # z_g - z_{g-1} + (sites at level g-1) >= 0, with z at the first level = 1
        rows_z = np.arange(nz)
        prev_is_z = ~first[zlev - 1]
        rows = [rows_z, rows_z[prev_is_z], zcol[lam + 1]]
        cols = [ny + rows_z, ny + zcol[zlev[prev_is_z] - 1], ycol[site_rows]]
        vals = [np.ones(nz), -np.ones(int(prev_is_z.sum())), np.ones(n_site_rows)]
        a = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(nz, ny + nz),
        )
        lb = np.where(prev_is_z, 0.0, 1.0)
    uncovered = np.ones(n, bool)
    uncovered[g_cell] = False
    return {
        "a": a,
        "lb": lb,
        "c": np.concatenate([np.zeros(ny), z_cost]),
        "ny": ny,
        "sites": used_sites,
        "constant": constant,
        "unserved": uncovered,
        "n_levels": n_lv,
    }


def solve_p_median(
    demand_xy: np.ndarray,
    demand_pop: np.ndarray,
    existing_xy: np.ndarray,
    candidate_xy: np.ndarray,
    k: int,
    *,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-9,
) -> SitingResult:
    """Choose ``k`` new sites minimising the population-weighted distance (p-median).

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand cell coordinates in metres.
    demand_pop
        Population per cell (>= 0); cells without population do not count.
    existing_xy
        ``(e, 2)`` existing points, always open.
    candidate_xy
        ``(c, 2)`` candidate sites.
    k
        Number of new sites (at most; fewer when no further site shortens anyone's
        distance).
    time_limit_s
        Limit for the whole solve, seconds.
    mip_rel_gap
        Relative gap at which HiGHS stops and the result is called optimal.

    Returns
    -------
    SitingResult
        ``objective`` in person-metres; ``mean_distance_m = objective / population``.
    """
    t0 = time.perf_counter()
    d, pop, ex, cand, k = _inputs(demand_xy, demand_pop, existing_xy, candidate_xy, k)
    live = np.flatnonzero(pop > 0)
    dl, wl = d[live], pop[live]
    d_exist = _nearest(dl, ex)
    before = float(np.sum(wl * d_exist)) if len(ex) else math.inf
    if len(ex) == 0 and (k == 0 or len(cand) == 0) and len(live):
        return _median_infeasible(d, live, t0, before)
    k_eff = min(k, len(cand))
    if k_eff == 0 or len(live) == 0:
        pi = pj = np.zeros(0, np.int64)
        pd = np.zeros(0)
    else:
        pi, pj, pd = _median_pairs(dl, cand, d_exist, k_eff)
    stats: dict[str, Any] = {
        "n_demand_populated": len(live),
        "n_pairs_reduced": len(pi),
    }
    n_useful = len(np.unique(pj))
    if n_useful <= k_eff:
        sel = np.unique(pj)
        status, bound, detail = STATUS_OPTIMAL, None, ""
        if n_useful < k:
            detail = f"only {n_useful} new site(s) shorten anyone's distance"
    elif len(ex):
        sel, status, bound = _median_lagrangian(
            wl,
            d_exist,
            dl,
            ex,
            cand,
            pi,
            pj,
            pd,
            k_eff,
            t0=t0,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            stats=stats,
        )
        detail = ""
    else:
        sel, status, bound = _median_milp(
            wl,
            d_exist,
            pi,
            pj,
            pd,
            len(cand),
            k_eff,
            exact_k=True,
            t0=t0,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
            stats=stats,
        )
        detail = ""
    dist = np.full(len(d), np.inf)
    dist[pop <= 0] = np.nan
    dist[live] = _open_distance(dl, ex, cand, sel)
    objective = float(np.sum(wl * dist[live]))
    bound = objective if bound is None else min(objective, bound)
    gap = (objective - bound) / objective if objective > 0 else 0.0
    if status == STATUS_FEASIBLE:
        detail = f"time limit of {time_limit_s:g} s reached; proven gap {gap:.4%}"
    return SitingResult(
        problem="p-median",
        selected=sel,
        objective=objective,
        bound=bound,
        gap=max(gap, 0.0),
        status=status,
        objective_before=before,
        distance_m=dist,
        mean_distance_m=_weighted_mean(pop, np.nan_to_num(dist, nan=0.0)),
        infeasible_demand=np.zeros(0, np.int64),
        detail=detail,
        solve_time_s=time.perf_counter() - t0,
        stats=stats,
    )


def _median_milp(
    w: np.ndarray,
    d_exist: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    n_cand: int,
    k: int,
    *,
    exact_k: bool,
    t0: float,
    time_limit_s: float,
    mip_rel_gap: float,
    stats: dict[str, Any],
) -> tuple[np.ndarray, str, float | None]:
    """Solve the radius-formulation MILP on the given pairs: (sites, status, bound)."""
    model = _median_model(w, d_exist, pi, pj, pd, n_cand)
    ny = model["ny"]
    nvar = model["a"].shape[1]
    stats.update(
        n_levels=model["n_levels"],
        n_site_vars=ny,
        n_rows=model["a"].shape[0],
        nnz=model["a"].nnz,
    )
    if ny <= k:
        return np.sort(model["sites"]), STATUS_OPTIMAL, None
    card = sparse.csr_matrix(
        (np.ones(ny), (np.zeros(ny, np.int64), np.arange(ny))), shape=(1, nvar)
    )
    res = milp(
        model["c"],
        constraints=[
            LinearConstraint(model["a"], model["lb"], np.inf),
            # without existing points the reduction assumes exactly k open
            LinearConstraint(card, float(k) if exact_k else 0.0, float(k)),
        ],
        integrality=np.concatenate([np.ones(ny), np.zeros(nvar - ny)]),
        bounds=Bounds(0.0, 1.0),
        # HiGHS presolve costs more than it saves on this already reduced model
        options=_milp_options(
            time_limit_s - (time.perf_counter() - t0), mip_rel_gap, presolve=False
        ),
    )
    stats["milp_status"] = int(res.status)
    if res.x is not None:
        sel = np.sort(model["sites"][res.x[:ny] > 0.5])
    elif res.status == 1:
        # time limit before HiGHS found a solution: the greedy one, with the bound
        sel = _greedy_median(w, d_exist, pi, pj, pd, k)
    else:
        msg = f"the p-median MILP found no solution: {res.message}"
        raise SolverError(msg)
    if res.status == 0:
        return sel, STATUS_OPTIMAL, None
    dual = res.mip_dual_bound
    # every cell at least at its nearest kept distance
    bound = model["constant"] + (
        float(dual) if dual is not None and np.isfinite(dual) else 0.0
    )
    return sel, STATUS_FEASIBLE, bound


def _interchange(
    w: np.ndarray,
    dl: np.ndarray,
    ex: np.ndarray,
    cand: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    sel: np.ndarray,
    *,
    deadline: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Best-improvement swap local search (Teitz-Bart); returns (sites, distances).

    For every open new site ``r`` and closed candidate ``a`` the change of
    ``sum_i w_i d_i`` when ``a`` replaces ``r`` is, with ``d1``/``d2`` the nearest
    and second-nearest open distances, ``L_r - G_a + C_ra``: the loss of closing
    ``r``, the gain of opening ``a``, and a correction over the pairs of the cells
    whose nearest point is ``r`` (existing points stay open, so ``d2`` is finite).
    """
    n_cand = len(cand)
    cur = [int(j) for j in sel]
    n_ex = len(ex)
    while True:
        dd, ii = cKDTree(np.vstack([ex, cand[cur]])).query(dl, k=2)
        d1, d2 = dd[:, 0], dd[:, 1]
        if not cur or time.perf_counter() > deadline:
            return np.array(sorted(cur), dtype=np.int64), d1
        near = ii[:, 0] - n_ex
        own = near >= 0
        gain = np.bincount(
            pj, weights=w[pi] * np.maximum(d1[pi] - pd, 0.0), minlength=n_cand
        )
        loss = np.bincount(
            near[own], weights=w[own] * (d2[own] - d1[own]), minlength=len(cur)
        )
        at = own[pi]
        ci, ca, cd = pi[at], pj[at], pd[at]
        corr = w[ci] * (
            np.minimum(cd, d2[ci]) - d2[ci] + d1[ci] - np.minimum(cd, d1[ci])
        )
        delta = np.bincount(
            near[ci] * n_cand + ca, weights=corr, minlength=len(cur) * n_cand
        ).reshape(len(cur), n_cand)
        delta += loss[:, None] - gain[None, :]
        delta[:, cur] = np.inf
        r, a = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[r, a] < -1e-12 * float(np.sum(w * d1)):
            return np.array(sorted(cur), dtype=np.int64), d1
        cur[int(r)] = int(a)


def _median_lagrangian(
    w: np.ndarray,
    d_exist: np.ndarray,
    dl: np.ndarray,
    ex: np.ndarray,
    cand: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    k: int,
    *,
    t0: float,
    time_limit_s: float,
    mip_rel_gap: float,
    stats: dict[str, Any],
) -> tuple[np.ndarray, str, float | None]:
    """Incumbent, Lagrangian bound and candidate fixing, then the MILP if needed.

    With existing points every cell ``i`` has a finite ``D_i`` (its nearest
    existing point). For any radii ``0 <= r_i <= D_i``,

    ``L(r) = sum_i w_i r_i - (sum of the k largest g_j)``,
    ``g_j = sum_i w_i max(0, r_i - d_ij)``,

    is a lower bound on every solution (the dual of the strong LP relaxation):
    ``min(D_i, d_i(S)) >= r_i - sum_{j in S} max(0, r_i - d_ij)``. It is raised
    by projected subgradient steps from the incumbent's distances. A candidate
    ``j`` outside the ``k`` largest with ``L + g_(k) - g_j`` above the incumbent
    cannot be in a better solution (forcing it open costs at least that), so it
    is fixed closed. The incumbent is proven optimal once ``L`` reaches it;
    otherwise the MILP runs on the candidates left, in the remaining time.
    """
    n_cand = len(cand)
    deadline = t0 + time_limit_s
    greedy = _greedy_median(w, d_exist, pi, pj, pd, k)
    sel, r = _interchange(w, dl, ex, cand, pi, pj, pd, greedy, deadline=deadline)
    ub = float(np.sum(w * r))
    tol = mip_rel_gap * abs(ub)
    # sums, not BLAS dot products: on a busy machine threaded BLAS calls on
    # vectors this short cost milliseconds each
    fixed = np.zeros(n_cand, bool)
    in_sel = np.zeros(n_cand, bool)
    in_sel[sel] = True
    # the bound only has to hold for solutions better than the incumbent, so the
    # pairs of candidates fixed closed are dropped as the fixing proceeds
    fi, fj, fd = pi, pj, pd
    fw = w[fi]
    best = -math.inf
    step, stall, it = 1.0, 0, 0
    # the dual ascent may take part of the time only: the MILP needs the rest
    stop_at = t0 + 0.5 * time_limit_s
    while it < LAGRANGE_ITERATIONS:
        it += 1
        g = np.bincount(fj, weights=fw * np.maximum(r[fi] - fd, 0.0), minlength=n_cand)
        top = np.argpartition(-g, k - 1)[:k]
        low = float(np.min(g[top]))
        value = float(np.sum(w * r)) - float(np.sum(g[top]))
        fixed |= (value + low - g > ub + tol) & ~in_sel
        if value > best + 1e-6 * tol:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= LAGRANGE_PATIENCE:
                step, stall = step / 2, 0
        if (
            ub - best <= tol
            or step < LAGRANGE_MIN_STEP
            or time.perf_counter() > stop_at
            or int(np.count_nonzero(~fixed)) <= k
        ):
            break
        if it % 10 == 0:
            live_pair = ~fixed[fj]
            fi, fj, fd, fw = fi[live_pair], fj[live_pair], fd[live_pair], fw[live_pair]
        in_top = np.zeros(n_cand, bool)
        in_top[top] = True
        hit = in_top[fj] & (fd < r[fi])
        sub = w * (1.0 - np.bincount(fi[hit], minlength=len(w)))
        sub[(r >= d_exist) & (sub > 0)] = 0.0
        sub[(r <= 0) & (sub < 0)] = 0.0
        norm = float(np.sum(sub * sub))
        if norm == 0:
            break
        r = np.clip(r + step * (ub - value) / norm * sub, 0.0, d_exist)
    fixed[sel] = False
    stats.update(
        lagrange_iterations=it,
        lagrange_gap=max(ub - best, 0.0) / ub if ub > 0 else 0.0,
        n_candidates_fixed_closed=int(fixed.sum()),
    )
    if ub - best <= tol:
        return sel, STATUS_OPTIMAL, None
    free = np.flatnonzero(~fixed)
    if len(free) <= k:
        # opening every candidate left is at least as good as any subset of them
        return free, STATUS_OPTIMAL, None
    keep = ~fixed[pj]
    m_sel, m_status, m_bound = _median_milp(
        w,
        d_exist,
        pi[keep],
        pj[keep],
        pd[keep],
        n_cand,
        k,
        exact_k=False,
        t0=t0,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        stats=stats,
    )
    m_obj = float(np.sum(w * _open_distance(dl, ex, cand, m_sel)))
    if m_obj < ub:
        sel, ub = m_sel, m_obj
    if m_status == STATUS_OPTIMAL:
        # the fixed candidates only lead to solutions worse than the incumbent
        return sel, STATUS_OPTIMAL, None
    # a better solution is either in the restricted problem or above the incumbent
    restricted = m_bound if m_bound is not None else ub
    return sel, STATUS_FEASIBLE, max(best, min(restricted, ub))


def _greedy_median(
    w: np.ndarray,
    d_exist: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    pd: np.ndarray,
    k: int,
) -> np.ndarray:
    """Add, ``k`` times, the site that most reduces the weighted distance."""
    if len(pi) == 0:
        return np.zeros(0, np.int64)
    far = float(pd.max()) * 2 + 1.0
    cur = np.where(np.isfinite(d_exist), d_exist, far)
    n_sites = int(pj.max()) + 1
    chosen: list[int] = []
    for _ in range(k):
        gain = np.bincount(
            pj, weights=w[pi] * np.maximum(cur[pi] - pd, 0.0), minlength=n_sites
        )
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        at = pj == j
        np.minimum.at(cur, pi[at], pd[at])
    return np.array(sorted(chosen), dtype=np.int64)


def _median_infeasible(
    d: np.ndarray, live: np.ndarray, t0: float, before: float
) -> SitingResult:
    return SitingResult(
        problem="p-median",
        selected=np.zeros(0, np.int64),
        objective=math.inf,
        bound=math.inf,
        gap=0.0,
        status=STATUS_INFEASIBLE,
        objective_before=before,
        distance_m=np.full(len(d), np.inf),
        mean_distance_m=math.inf,
        infeasible_demand=live,
        detail=(
            f"no existing point and no new site: the {len(live)} populated cell(s) "
            f"({_list_some(live)}) cannot be served"
        ),
        solve_time_s=time.perf_counter() - t0,
    )
