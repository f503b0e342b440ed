"""Exact p-median, p-center and capacitated covering on sparse formulations.

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
problem with existing points.

p-center (:func:`solve_p_center`): minimise the largest distance of a populated cell
to its nearest open point. The optimum is one of the sorted distinct cell-to-point
distances between a lower bound (every candidate open) and a greedy upper bound;
bisection over them, each step a set-cover feasibility MILP (fewest candidates
covering, within the radius, the cells no existing point covers) or a greedy cover
that already fits in ``k``.

Capacitated covering (:func:`solve_capacitated_cover`): maximise the population
assigned to points within ``radius_m``, each point serving at most its capacity
(existing points included); a cell's population may be split between points.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from ..errors import InputError, SolverError

__all__ = [
    "CHAIN_FACTOR",
    "DISTANCE_TOLERANCE_M",
    "SitingResult",
    "solve_capacitated_cover",
    "solve_p_center",
    "solve_p_median",
]

#: The p-median model switches from the radius formulation with one row per level
#: listing every nearer site to its chained form (linear size) when the former
#: would have more than this many times the non-zeros of the latter.
CHAIN_FACTOR = 4
#: Distances up to the radius plus this count as within it (capacitated covering).
DISTANCE_TOLERANCE_M = 1e-3

STATUS_OPTIMAL = "optimal"
STATUS_FEASIBLE = "feasible"
STATUS_INFEASIBLE = "infeasible"


@dataclass
class SitingResult:
    """Outcome of a siting problem.

    Attributes
    ----------
    problem : str
        ``"p-median"``, ``"p-center"`` or ``"capacitated-cover"``.
    selected : numpy.ndarray
        Indices of the chosen candidate sites, ascending.
    objective : float
        p-median: population-weighted sum of distances (person-metres); p-center:
        largest distance (m); capacitated cover: covered population.
    bound : float
        Proven bound on the optimum (lower for p-median and p-center, upper for
        covering).
    gap : float
        Proven relative gap ``|objective - bound| / |objective|``; 0 when optimal.
    status : str
        ``"optimal"``, ``"feasible"`` (time limit reached, gap above) or
        ``"infeasible"`` (``infeasible_demand`` says which cells cannot be served).
    objective_before : float
        The objective with the existing points only.
    distance_m : numpy.ndarray
        Distance of every demand cell to its nearest open point (p-median,
        p-center; ``inf`` where none); empty for covering.
    mean_distance_m : float
        Population-weighted mean of ``distance_m`` (p-median, p-center).
    infeasible_demand : numpy.ndarray
        Populated demand cells that no point can serve.
    detail : str
        Plain-language explanation of a non-optimal or infeasible status, or of
        unused capacity and unserved people (covering).
    solve_time_s : float
        Wall time of the whole solve, seconds.
    stats : dict
        Sizes of the reduced model and solver counts.
    covered_pop : numpy.ndarray
        Covering: population of every cell assigned to a point.
    facility_load : numpy.ndarray
        Covering: population assigned to every existing point then every candidate.
    saturated_existing, saturated_candidates : numpy.ndarray
        Covering: open points whose capacity is used up.
    unserved_by_group : dict
        Covering with groups: population within reach but unserved, per group.
    """

    problem: str
    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    objective_before: float
    distance_m: np.ndarray
    mean_distance_m: float
    infeasible_demand: np.ndarray
    detail: str
    solve_time_s: float
    stats: dict[str, Any] = field(default_factory=dict)
    covered_pop: np.ndarray = field(default_factory=lambda: np.zeros(0))
    facility_load: np.ndarray = field(default_factory=lambda: np.zeros(0))
    saturated_existing: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    saturated_candidates: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    unserved_by_group: dict[Any, float] = field(default_factory=dict)


# ----------------------------------------------------------------------- helpers


def _xy(xy: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(xy, dtype=float)
    if a.size == 0:
        return a.reshape(0, 2)
    if a.ndim != 2 or a.shape[1] != 2 or not np.all(np.isfinite(a)):
        msg = f"{what} must be an (n, 2) array of finite metre coordinates"
        raise InputError(msg)
    return a


def _inputs(
    demand_xy: np.ndarray,
    demand_pop: np.ndarray,
    existing_xy: np.ndarray,
    candidate_xy: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    d = _xy(demand_xy, "demand_xy")
    pop = np.asarray(demand_pop, dtype=float).ravel()
    if len(pop) != len(d) or np.any(~np.isfinite(pop)) or np.any(pop < 0):
        msg = f"demand_pop must hold {len(d)} finite values >= 0"
        raise InputError(msg)
    if int(k) != k or k < 0:
        msg = f"the number of new sites must be a non-negative integer, got {k}"
        raise InputError(msg)
    return (
        d,
        pop,
        _xy(existing_xy, "existing_xy"),
        _xy(candidate_xy, "candidate_xy"),
        int(k),
    )


def _nearest(xy: np.ndarray, points: np.ndarray) -> np.ndarray:
    if len(points) == 0:
        return np.full(len(xy), np.inf)
    dist, _ = cKDTree(points).query(xy)
    return np.asarray(dist, dtype=float)


def _open_distance(
    xy: np.ndarray, existing: np.ndarray, candidates: np.ndarray, sel: np.ndarray
) -> np.ndarray:
    return _nearest(xy, np.vstack([existing, candidates[sel]]))


def _pairs_within(
    xy: np.ndarray, sites: np.ndarray, radius: np.ndarray, *, strict: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (cell, site, distance) with distance below each cell's own radius.

    Cells are processed in bands of similar radius, so a few remote cells do not
    inflate the search of all the others.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    finite = np.flatnonzero(np.isfinite(radius) & (radius > 0))
    if len(sites) == 0 or len(finite) == 0:
        return empty
    tree = cKDTree(sites)
    order = finite[np.argsort(radius[finite], kind="stable")]
    out_i, out_j, out_d = [], [], []
    for band in np.array_split(order, min(8, len(order))):
        r_max = float(radius[band].max())
        hits = cKDTree(xy[band]).sparse_distance_matrix(
            tree, r_max, output_type="ndarray"
        )
        cell = band[hits["i"]]
        keep = hits["v"] < radius[cell] if strict else hits["v"] <= radius[cell]
        out_i.append(cell[keep])
        out_j.append(hits["j"][keep].astype(np.int64))
        out_d.append(hits["v"][keep])
    return (
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j),
        np.concatenate(out_d),
    )


def _milp_options(
    remaining_s: float, mip_rel_gap: float, *, presolve: bool = True
) -> dict[str, Any]:
    return {
        "time_limit": max(remaining_s, 0.05),
        "mip_rel_gap": mip_rel_gap,
        "presolve": presolve,
    }


def _list_some(idx: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(v)) for v in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def _weighted_mean(pop: np.ndarray, dist: np.ndarray) -> float:
    total = float(pop.sum())
    if total <= 0:
        return float("nan")
    with np.errstate(invalid="ignore"):
        return float(np.sum(pop * np.where(pop > 0, dist, 0.0)) / total)


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


def _equal_rows(sets: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
    """Group the non-empty rows of a 0/1 matrix that hold the same columns.

    Rows are grouped by two random 64-bit hashes of their column sets and the
    grouping is then verified entry by entry; ``None`` if any check fails (the
    caller then keeps every row).

    Returns
    -------
    (first, inverse) or None
        ``first``: one row index per group; ``inverse``: the group of every row.
    """
    m, n = sets.shape
    sets.sort_indices()
    nnz = np.diff(sets.indptr)
    if m == 0 or np.any(nnz == 0):
        return None
    keys = np.random.default_rng(12345).integers(0, 2**63, size=(2, n), dtype=np.uint64)
    starts = sets.indptr[:-1]
    h1 = np.add.reduceat(keys[0][sets.indices], starts)
    h2 = np.add.reduceat(keys[1][sets.indices], starts)
    _, first, inv = np.unique(
        np.stack([h1, h2, nnz.astype(np.uint64)], axis=1),
        axis=0,
        return_index=True,
        return_inverse=True,
    )
    inv = inv.ravel()
    t = np.arange(sets.nnz) - np.repeat(starts, nnz)
    rep = np.repeat(sets.indptr[first[inv]], nnz) + t
    if not np.array_equal(sets.indices, sets.indices[rep]):
        return None
    return first, inv


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
    model = _median_model(wl, d_exist, pi, pj, pd, len(cand))
    ny = model["ny"]
    stats = {
        "n_demand_populated": len(live),
        "n_pairs_reduced": len(pi),
        "n_levels": model["n_levels"],
        "n_site_vars": ny,
        "n_rows": model["a"].shape[0],
        "nnz": model["a"].nnz,
    }
    if ny <= k_eff:
        sel = np.sort(model["sites"])
        status, bound_extra, detail = STATUS_OPTIMAL, None, ""
        if ny < k:
            detail = f"only {ny} new site(s) shorten anyone's distance"
    else:
        card = sparse.csr_matrix(
            (np.ones(ny), (np.zeros(ny, np.int64), np.arange(ny))),
            shape=(1, model["a"].shape[1]),
        )
        nvar = model["a"].shape[1]
        res = milp(
            model["c"],
            constraints=[
                LinearConstraint(model["a"], model["lb"], np.inf),
                # without existing points the reduction assumes exactly k open
                LinearConstraint(card, 0.0 if len(ex) else float(k_eff), float(k_eff)),
            ],
            integrality=np.concatenate([np.ones(ny), np.zeros(nvar - ny)]),
            bounds=Bounds(0.0, 1.0),
            # HiGHS presolve costs more than it saves on this already reduced model
            options=_milp_options(
                time_limit_s - (time.perf_counter() - t0), mip_rel_gap, presolve=False
            ),
        )
        if res.x is not None:
            sel = np.sort(model["sites"][res.x[:ny] > 0.5])
        elif res.status == 1:
            # time limit before HiGHS found a solution: the greedy one, with the bound
            sel = _greedy_median(wl, d_exist, pi, pj, pd, k_eff)
        else:
            msg = f"the p-median MILP found no solution: {res.message}"
            raise SolverError(msg)
        status = STATUS_OPTIMAL if res.status == 0 else STATUS_FEASIBLE
        bound_extra = res.mip_dual_bound
        detail = ""
        stats["milp_status"] = int(res.status)
    dist = np.full(len(d), np.inf)
    dist[pop <= 0] = np.nan
    dist[live] = _open_distance(dl, ex, cand, sel)
    objective = float(np.sum(wl * dist[live]))
    if status == STATUS_OPTIMAL and bound_extra is None:
        bound = objective
    elif bound_extra is None or not np.isfinite(bound_extra):
        # every cell at least at its nearest kept distance
        bound = min(objective, model["constant"])
    else:
        bound = min(objective, float(bound_extra) + model["constant"])
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


# ---------------------------------------------------------------------- p-center


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
    res = milp(
        np.ones(len(sites)),
        constraints=[LinearConstraint(a.tocsr(), 1.0, np.inf)],
        integrality=np.ones(len(sites)),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": max(remaining_s, 0.05), "mip_rel_gap": 0.0},
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
    # facility rows: sum_i x_ij - cap_j y_j <= 0 (candidates), <= cap_j (existing)
    cand_cols = npair + np.arange(n_cand)
    a_fac = sparse.csr_matrix(
        (
            np.concatenate([np.ones(npair), -cap[n_ex:]]),
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
