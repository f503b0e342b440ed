"""Siting of new service points: maximal covering and location set covering.

Two layers:

* an array core in metric coordinates (:func:`build_coverage_matrix`,
  :func:`solve_mclp`, :func:`solve_lscp`, :func:`solve_commune_rule`,
  :func:`plan_new_sites`), independent of any GIS library, and
* a GeoDataFrame adapter (:func:`plan_from_layers`, :func:`before_after`) that
  builds the population surface, generates candidate sites and returns the proposals
  in EPSG:4326.

Existing points are never moved or dropped: they only enter as "demand already
covered", which contributes nothing to the objective. Problems are reduced before
solving (zero-population and already covered demand dropped, demand rows with the
same set of covering candidates merged with summed weights, dominated candidates
dropped) and then solved exactly with :func:`scipy.optimize.milp` (HiGHS) under a
time limit, or with a lazy greedy (CELF) whose result carries a proven bound. A
greedy result is reported as optimal only when its value reaches a proven bound.
"""

from __future__ import annotations

import heapq
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.spatial import cKDTree

from .errors import InputError, SolverError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "AUTO_EXACT_MAX_NNZ",
    "DISTANCE_TOLERANCE_M",
    "DOMINANCE_MAX_WORK",
    "LP_BOUND_MAX_NNZ",
    "BenchInstance",
    "PlanResult",
    "PlanTarget",
    "before_after",
    "build_coverage_matrix",
    "covered_by",
    "load_instance",
    "parse_target",
    "plan_from_layers",
    "plan_new_sites",
    "solve_commune_rule",
    "solve_lscp",
    "solve_mclp",
]

Method = Literal["auto", "exact", "greedy"]

#: ``method="auto"`` solves exactly when the reduced coverage matrix has at most
#: this many non-zeros (and falls back to the greedy beyond it).
AUTO_EXACT_MAX_NNZ = 3_000_000
#: Distances up to the radius plus this count as within it, so that grid points at
#: exactly the radius do not flip with the round-off of a reprojection.
DISTANCE_TOLERANCE_M = 1e-3
#: Dominated candidates are searched when the overlap product costs at most this.
DOMINANCE_MAX_WORK = 50_000_000
#: The greedy's LP-relaxation bound is computed when the reduced matrix is this small.
LP_BOUND_MAX_NNZ = 1_000_000

_STATUS_OPTIMAL = "optimal"
_STATUS_TIME_LIMIT = "feasible (time limit)"
_STATUS_GREEDY = "greedy"
_STATUS_INFEASIBLE = "infeasible"


@dataclass
class PlanResult:
    """Outcome of a siting problem.

    Attributes
    ----------
    problem : str
        ``"mclp"`` (maximise newly covered population with ``p`` new sites),
        ``"lscp"`` (fewest sites meeting a coverage target) or ``"commune"``
        (fewest sites giving every commune a point).
    selected : numpy.ndarray
        Indices of the chosen candidate sites, in rank order: the order in which a
        greedy would add them, so each one's marginal gain is as large as possible.
    objective : float
        Value of the optimised objective: newly covered population (mclp) or
        number of new sites (lscp, commune).
    status : str
        ``"optimal"`` (proven, within ``mip_rel_gap``), ``"feasible (time limit)"``,
        ``"greedy"`` (heuristic, gap below) or ``"infeasible"`` (the target cannot
        be met; ``selected`` is then the best plan for the reachable part and
        ``uncoverable`` says what cannot be reached).
    bound : float
        Proven bound on the optimum: an upper bound on the newly covered population
        (mclp) or a lower bound on the number of sites (lscp, commune).
    gap : float
        Proven relative optimality gap: ``(bound - objective) / bound`` (mclp) or
        ``(objective - bound) / objective`` (lscp); 0 when proven optimal.
    method : str
        ``"exact"`` (MILP), ``"greedy"`` or ``"direct"`` (commune rule).
    solve_time_s : float
        Wall time spent in the solver(s), seconds.
    marginal_gain : numpy.ndarray
        Newly covered population added by each selected site in rank order; its
        cumulative sum is the running total.
    newly_covered_pop : float
        Population newly brought within the radius by the selected sites.
    uncoverable : numpy.ndarray
        Indices of demand (cells; communes for the commune rule) with population
        that neither an existing point nor any candidate reaches.
    uncoverable_pop : float
        Their population.
    detail : str
        Human-readable explanation of the status (time limit, infeasibility, ...).
    stats : dict
        Problem sizes before and after reduction.
    timings : dict
        Seconds spent per stage (``build_s``, ``reduce_s``, ``solve_s``) when known.
    """

    problem: str
    selected: np.ndarray
    objective: float
    status: str
    bound: float
    gap: float
    method: str
    solve_time_s: float
    marginal_gain: np.ndarray
    newly_covered_pop: float
    uncoverable: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    uncoverable_pop: float = 0.0
    detail: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def running_total(self) -> np.ndarray:
        """Cumulative newly covered population in rank order."""
        return np.cumsum(self.marginal_gain)

    @property
    def is_optimal(self) -> bool:
        """Whether optimality is proven."""
        return self.status == _STATUS_OPTIMAL


@dataclass(frozen=True)
class PlanTarget:
    """A coverage target for the set-covering mode.

    Attributes
    ----------
    kind : str
        ``"all"`` (every populated cell within the radius), ``"share"`` (a share of
        the population within the radius) or ``"communes"`` (every commune has at
        least one point).
    min_share : float
        Required share of the population, in (0, 1]; 1.0 for ``"all"``.
    """

    kind: Literal["all", "share", "communes"]
    min_share: float = 1.0


def parse_target(rule: str | PlanTarget) -> PlanTarget:
    """Parse a ``--target`` rule.

    Parameters
    ----------
    rule
        ``"all"`` (or ``"cells"``): every populated cell within the radius;
        ``"95%"``, ``"share:95"`` or ``"share:0.95"``: that share of the population
        within the radius; ``"communes"``: every commune with at least one point.

    Returns
    -------
    PlanTarget
    """
    if isinstance(rule, PlanTarget):
        return rule
    text = str(rule).strip().lower()
    if text in {"all", "cells", "every-cell", "100%"}:
        return PlanTarget("all", 1.0)
    if text in {"communes", "commune", "every-commune"}:
        return PlanTarget("communes", 1.0)
    m = re.fullmatch(r"(?:share[:=])?\s*([0-9]*\.?[0-9]+)\s*(%?)", text)
    if m:
        value = float(m.group(1))
        share = value / 100.0 if (m.group(2) or value > 1.0) else value
        if 0.0 < share <= 1.0:
            return PlanTarget("all" if share == 1.0 else "share", share)
    msg = (
        f"unknown target rule {rule!r}: use 'all' (every populated cell within the "
        "radius), a share such as '95%' or 'share:0.95', or 'communes' (every "
        "commune with at least one point)"
    )
    raise InputError(msg)


# --------------------------------------------------------------------------- matrix


def _as_xy(xy: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(xy, dtype=float)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        msg = f"{what}: expected an (n, 2) array of x, y metres, got shape {arr.shape}"
        raise InputError(msg)
    if not np.all(np.isfinite(arr)):
        msg = f"{what}: coordinates contain NaN or infinite values"
        raise InputError(msg)
    return arr


def build_coverage_matrix(
    demand_xy: np.ndarray, site_xy: np.ndarray, radius_m: float
) -> sparse.csr_matrix:
    """Build the demand x site coverage matrix.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    site_xy
        ``(m, 2)`` site coordinates in metres (same CRS).
    radius_m
        Coverage radius in metres; a site covers demand at distance ``<= radius_m``
        (plus :data:`DISTANCE_TOLERANCE_M`).

    Returns
    -------
    scipy.sparse.csr_matrix
        Boolean ``(n, m)`` matrix with sorted column indices per row.
    """
    dxy = _as_xy(demand_xy, "demand")
    sxy = _as_xy(site_xy, "sites")
    shape = (len(dxy), len(sxy))
    if not radius_m > 0:
        msg = f"radius_m must be positive, got {radius_m}"
        raise InputError(msg)
    if shape[0] == 0 or shape[1] == 0:
        return sparse.csr_matrix(shape, dtype=bool)
    pairs = cKDTree(dxy).sparse_distance_matrix(
        cKDTree(sxy), float(radius_m) + DISTANCE_TOLERANCE_M, output_type="ndarray"
    )
    mat = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=bool), (pairs["i"], pairs["j"])), shape=shape
    )
    mat.sum_duplicates()
    mat.sort_indices()
    return mat


def covered_by(
    demand_xy: np.ndarray, point_xy: np.ndarray, radius_m: float
) -> np.ndarray:
    """Flag demand within ``radius_m`` of at least one point.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    point_xy
        ``(k, 2)`` point coordinates in metres.
    radius_m
        Radius in metres (inclusive, plus :data:`DISTANCE_TOLERANCE_M`).

    Returns
    -------
    numpy.ndarray
        Boolean array of length ``n``.
    """
    dxy = _as_xy(demand_xy, "demand")
    pxy = _as_xy(point_xy, "points")
    if len(pxy) == 0 or len(dxy) == 0:
        return np.zeros(len(dxy), dtype=bool)
    reach = float(radius_m) + DISTANCE_TOLERANCE_M
    dist, _ = cKDTree(pxy).query(dxy, k=1, distance_upper_bound=reach)
    return dist <= reach


# --------------------------------------------------------------------------- reduction


@dataclass
class _Reduced:
    cover: sparse.csr_matrix  # merged rows x kept sites
    weights: np.ndarray  # population per merged row
    count: np.ndarray  # number of original demand rows per merged row
    sites: np.ndarray  # original column index per kept column
    uncoverable: np.ndarray  # original demand rows with pop, not covered, no candidate
    stats: dict[str, Any]


def _merge_identical_rows(
    cover: sparse.csr_matrix, weights: np.ndarray
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    n_rows = cover.shape[0]
    if n_rows == 0:
        return cover, weights, np.zeros(0)
    rng = np.random.default_rng(20240601)
    h = rng.integers(
        0, np.iinfo(np.int64).max, size=(2, cover.shape[1]), dtype=np.int64
    )
    h = h.astype(np.uint64)
    deg = np.diff(cover.indptr)
    row_of = np.repeat(np.arange(n_rows), deg)
    keys = np.zeros((n_rows, 3), dtype=np.uint64)
    # two independent 64-bit sums of random column keys: a collision is checked below
    for k in range(2):
        np.add.at(keys[:, k], row_of, h[k][cover.indices])
    keys[:, 2] = deg.astype(np.uint64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    rep = first[inverse]
    diff = cover.astype(np.int8) - cover[rep].astype(np.int8)
    if diff.count_nonzero():
        bad = np.unique(diff.tocoo().row)
        group = inverse.copy()
        group[bad] = inverse.max() + 1 + np.arange(len(bad))
        _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    merged = cover[first]
    w = np.bincount(inverse, weights=weights, minlength=len(first))
    count = np.bincount(inverse, minlength=len(first)).astype(float)
    return merged.tocsr(), w, count


def _drop_dominated_columns(cover: sparse.csr_matrix) -> np.ndarray:
    """Return the columns to keep, dropping any whose rows are a subset of another's."""
    n_cols = cover.shape[1]
    a = cover.astype(np.int32).tocsc()
    deg = np.diff(a.indptr)
    keep = deg > 0
    overlap = (a.T @ a).tocoo()
    i, j, v = overlap.row, overlap.col, overlap.data
    off = i != j
    i, j, v = i[off], j[off], v[off]
    # i is dominated by j when all of i's rows are in j; ties keep the lower index
    dominated = (v == deg[i]) & ((deg[j] > deg[i]) | (j < i))
    keep[np.unique(i[dominated])] = False
    return np.flatnonzero(keep[:n_cols])


def _reduce(
    cover: sparse.csr_matrix,
    weights: np.ndarray,
    covered: np.ndarray | None,
    *,
    drop_dominated: bool = True,
) -> _Reduced:
    cover = sparse.csr_matrix(cover, dtype=bool)
    cover.sort_indices()
    n, m = cover.shape
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        msg = f"weights must have one value per demand row ({n}), got shape {w.shape}"
        raise InputError(msg)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        msg = "weights (population) must be finite and >= 0"
        raise InputError(msg)
    done = np.zeros(n, bool) if covered is None else np.asarray(covered, dtype=bool)
    if done.shape != (n,):
        msg = f"covered must have one flag per demand row ({n}), got shape {done.shape}"
        raise InputError(msg)
    deg = np.diff(cover.indptr)
    live = (w > 0) & ~done
    uncoverable = np.flatnonzero(live & (deg == 0))
    rows = np.flatnonzero(live & (deg > 0))
    sub = cover[rows]
    merged, mw, count = _merge_identical_rows(sub, w[rows])
    cols = np.flatnonzero(np.diff(merged.tocsc().indptr) > 0)
    row_deg = np.diff(merged.indptr).astype(float)
    # the pairwise overlap product costs sum(deg^2); skip it when that is huge
    if drop_dominated and len(cols) and float(row_deg @ row_deg) <= DOMINANCE_MAX_WORK:
        cols = cols[_drop_dominated_columns(merged[:, cols])]
    reduced = merged[:, cols].tocsr()
    stats = {
        "n_demand": int(n),
        "n_demand_pop": int((w > 0).sum()),
        "n_demand_already_covered": int(((w > 0) & done).sum()),
        "n_demand_uncoverable": len(uncoverable),
        "n_demand_open": len(rows),
        "n_rows_merged": int(reduced.shape[0]),
        "n_candidates": int(m),
        "n_candidates_kept": len(cols),
        "nnz": int(cover.nnz),
        "nnz_reduced": int(reduced.nnz),
        "pop_total": float(w.sum()),
        "pop_already_covered": float(w[done].sum()),
        "pop_uncoverable": float(w[uncoverable].sum()),
        "pop_open": float(w[rows].sum()),
    }
    return _Reduced(reduced, mw, count, cols, uncoverable, stats)


# --------------------------------------------------------------------------- helpers


def _coverage_value(csc: sparse.csc_matrix, w: np.ndarray, sel: np.ndarray) -> float:
    if len(sel) == 0:
        return 0.0
    hit = np.zeros(csc.shape[0], bool)
    for j in sel:
        hit[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = True
    return float(w[hit].sum())


def _greedy_order(
    csc: sparse.csc_matrix, w: np.ndarray, sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order ``sel`` greedily by marginal gain; return (order, gains)."""
    sel = np.asarray(sel, dtype=np.int64)
    if len(sel) == 0:
        return sel, np.zeros(0)
    g = _lazy_greedy(csc[:, sel].tocsc(), w, 0, max_steps=len(sel))
    rest = np.setdiff1d(np.arange(len(sel)), g.selected)
    order = np.concatenate([g.selected, rest]).astype(np.int64)
    gains = np.concatenate([g.gains, np.zeros(len(rest))])
    return sel[order], gains


def _top_sum(values: np.ndarray, p: int) -> float:
    if p <= 0 or len(values) == 0:
        return 0.0
    if p >= len(values):
        return float(values.sum())
    return float(np.partition(values, len(values) - p)[len(values) - p :].sum())


@dataclass
class _Greedy:
    selected: np.ndarray
    gains: np.ndarray
    value: float
    bound: float  # online (Minoux) bound on max coverage with p sites
    evaluations: int


def _lazy_greedy(
    csc: sparse.csc_matrix,
    w: np.ndarray,
    p: int,
    *,
    stop_at: float | None = None,
    max_steps: int | None = None,
) -> _Greedy:
    """CELF lazy greedy for weighted max coverage.

    Stale gains are upper bounds of the current ones (coverage is submodular), so
    ``f(S_i) + sum of the p largest stale gains`` is a valid bound at every step.
    With ``stop_at`` it runs until the value reaches it (set covering mode).
    """
    n_cols = csc.shape[1]
    indptr, indices = csc.indptr, csc.indices
    ub = np.asarray(csc.T @ w, dtype=float).ravel()
    hit = np.zeros(csc.shape[0], bool)
    stamp = np.zeros(n_cols, np.int64)
    heap = [(-g, j) for j, g in enumerate(ub) if g > 0]
    heapq.heapify(heap)
    value, bound, evals = 0.0, math.inf, 0
    selected: list[int] = []
    gains: list[float] = []
    steps = p if max_steps is None else max_steps
    step = 0
    while step < steps and heap:
        if stop_at is not None and value >= stop_at:
            break
        if p > 0:
            bound = min(bound, value + _top_sum(ub, p))
        while heap:
            neg, j = heapq.heappop(heap)
            if stamp[j] == step:
                break
            rows = indices[indptr[j] : indptr[j + 1]]
            g = float(w[rows][~hit[rows]].sum())
            evals += 1
            ub[j] = g
            stamp[j] = step
            if g > 0:
                heapq.heappush(heap, (-g, j))
        else:
            break
        g = -neg
        selected.append(j)
        gains.append(g)
        value += g
        hit[indices[indptr[j] : indptr[j + 1]]] = True
        ub[j] = 0.0
        step += 1
    if p > 0:
        exact_gain = np.asarray(csc.T @ (w * ~hit), dtype=float).ravel()
        bound = min(bound, value + _top_sum(exact_gain, p))
    return _Greedy(
        np.asarray(selected, np.int64), np.asarray(gains), value, bound, evals
    )


def _integral(w: np.ndarray) -> bool:
    return bool(np.all(w == np.round(w)))


def _empty_result(problem: str, objective: float, detail: str) -> PlanResult:
    return PlanResult(
        problem=problem,
        selected=np.zeros(0, np.int64),
        objective=objective,
        status=_STATUS_OPTIMAL,
        bound=objective,
        gap=0.0,
        method="direct",
        solve_time_s=0.0,
        marginal_gain=np.zeros(0),
        newly_covered_pop=0.0,
        detail=detail,
    )


def _choose_method(method: str, nnz: int) -> str:
    if method not in {"auto", "exact", "greedy"}:
        msg = f"method must be 'auto', 'exact' or 'greedy', got {method!r}"
        raise InputError(msg)
    if method == "auto":
        return "exact" if nnz <= AUTO_EXACT_MAX_NNZ else "greedy"
    return method


def _mclp_lp_bound(
    a: sparse.csr_matrix, w: np.ndarray, p: int, time_limit_s: float
) -> float:
    m, n = a.shape
    c = np.concatenate([np.zeros(n), -w])
    a_ub = sparse.vstack(
        [
            sparse.hstack([-a.astype(float), sparse.identity(m, format="csr")]),
            sparse.hstack([np.ones((1, n)), sparse.csr_matrix((1, m))]),
        ]
    ).tocsr()
    b_ub = np.concatenate([np.zeros(m), [p]])
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=(0, 1),
        method="highs",
        options={"time_limit": max(time_limit_s, 0.1)},
    )
    if res.status != 0:
        return math.inf
    # the LP optimum is the dual bound of the relaxation; a tiny tolerance keeps it safe
    return float(-res.fun) * (1 + 1e-9) + 1e-9


def _finish_mclp_bound(bound: float, w: np.ndarray) -> float:
    bound = min(bound, float(w.sum()))
    if _integral(w):
        bound = math.floor(bound + 1e-6)
    return bound


def solve_mclp(
    cover: sparse.spmatrix,
    weights: np.ndarray,
    p: int,
    *,
    covered: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    mip_rel_gap: float = 1e-4,
) -> PlanResult:
    """Choose up to ``p`` sites maximising the newly covered weight (MCLP).

    Parameters
    ----------
    cover
        ``(n_demand, n_sites)`` boolean coverage matrix of the candidate sites.
    weights
        Population per demand row (>= 0).
    p
        Number of new sites.
    covered
        Demand already covered by existing points; it contributes nothing.
    time_limit_s
        Time limit of the MILP solver in seconds.
    method
        ``"exact"`` (MILP, HiGHS), ``"greedy"`` (lazy greedy with a proven bound) or
        ``"auto"`` (exact up to :data:`AUTO_EXACT_MAX_NNZ` non-zeros after
        reduction, greedy beyond).
    mip_rel_gap
        Relative gap at which the MILP stops and reports "optimal".

    Returns
    -------
    PlanResult
        Fewer than ``p`` sites are returned when no further site would cover
        anyone new.
    """
    if int(p) != p or p < 0:
        msg = f"the number of new sites must be a non-negative integer, got {p}"
        raise InputError(msg)
    p = int(p)
    t0 = time.perf_counter()
    red = _reduce(cover, weights, covered)
    t_reduce = time.perf_counter() - t0
    a, w = red.cover, red.weights
    n_cols = a.shape[1]
    chosen = _choose_method(method, a.nnz)
    t1 = time.perf_counter()
    csc = a.tocsc()
    greedy = _lazy_greedy(csc, w, p)
    sel, value, bound = greedy.selected, greedy.value, greedy.bound
    used = "greedy"
    milp_status: int | None = None
    detail = ""
    if n_cols <= p:
        bound = value  # every useful candidate is taken: nothing better exists
    elif chosen == "greedy" and a.nnz <= LP_BOUND_MAX_NNZ:
        bound = min(bound, _mclp_lp_bound(a, w, p, time_limit_s))
    elif chosen == "exact":
        used = "exact"
        res = _mclp_milp(
            a, w, p, time_limit_s - (time.perf_counter() - t1), mip_rel_gap
        )
        milp_status = res.status
        if res.x is not None:
            msel = np.flatnonzero(res.x[:n_cols] > 0.5)
            mval = _coverage_value(csc, w, msel)
            if mval >= value:
                sel, value = msel, mval
            else:
                detail = "the greedy solution was better than the MILP incumbent; "
        if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
            bound = min(bound, -float(res.mip_dual_bound) * (1 + 1e-9) + 1e-9)
        if res.status not in (0, 1):
            msg = f"the MILP solver failed: {res.message}"
            raise SolverError(msg)
    bound = max(_finish_mclp_bound(bound, w), value)
    gap = (bound - value) / bound if bound > 0 else 0.0
    if used == "exact":
        optimal = milp_status == 0 or gap <= mip_rel_gap
        status = _STATUS_OPTIMAL if optimal else _STATUS_TIME_LIMIT
        if not optimal:
            detail += f"time limit of {time_limit_s:g} s reached; proven gap {gap:.3%}"
    else:
        status = _STATUS_OPTIMAL if value >= bound else _STATUS_GREEDY
        if not detail and status == _STATUS_GREEDY:
            detail = f"greedy heuristic; proven gap {gap:.3%}"
    order, gains = _greedy_order(csc, w, _prune(csc, w, sel, value))
    useful = gains > 0
    if not np.all(useful):
        order, gains = order[useful], gains[useful]
    if len(order) < p:
        short = (
            "no candidate reaches anyone not already covered"
            if len(order) == 0
            else f"only {len(order)} new site(s) add coverage; more would cover "
            "nobody new"
        )
        detail = (detail + "; " if detail else "") + short
    solve_s = time.perf_counter() - t1
    return PlanResult(
        problem="mclp",
        selected=red.sites[order],
        objective=float(value),
        status=status,
        bound=float(bound),
        gap=float(gap),
        method=used,
        solve_time_s=solve_s,
        marginal_gain=gains,
        newly_covered_pop=float(value),
        uncoverable=red.uncoverable,
        uncoverable_pop=red.stats["pop_uncoverable"],
        detail=detail,
        stats={**red.stats, "greedy_evaluations": greedy.evaluations},
        timings={"reduce_s": t_reduce, "solve_s": solve_s},
    )


def _mclp_milp(
    a: sparse.csr_matrix, w: np.ndarray, p: int, time_limit_s: float, mip_rel_gap: float
) -> Any:
    m, n = a.shape
    c = np.concatenate([np.zeros(n), -w])
    link = sparse.hstack([-a.astype(float), sparse.identity(m, format="csr")]).tocsr()
    card = sparse.hstack([np.ones((1, n)), sparse.csr_matrix((1, m))]).tocsr()
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(card, -np.inf, float(p)),
    ]
    integrality = np.concatenate([np.ones(n), np.zeros(m)])
    return milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={
            "time_limit": max(float(time_limit_s), 0.1),
            "mip_rel_gap": mip_rel_gap,
        },
    )


# --------------------------------------------------------------------------- LSCP


def _min_count_bound(col_weight: np.ndarray, need: float) -> int:
    """Fewest columns whose weights could add up to ``need`` (a valid lower bound)."""
    if need <= 0:
        return 0
    csum = np.cumsum(np.sort(col_weight)[::-1])
    k = int(np.searchsorted(csum, need * (1 - 1e-12), side="left")) + 1
    return min(k, len(col_weight))


def _prune(
    csc: sparse.csc_matrix, w: np.ndarray, sel: np.ndarray, need: float
) -> np.ndarray:
    """Drop selected sites (last first) while the covered weight stays >= need."""
    count = np.zeros(csc.shape[0], np.int64)
    for j in sel:
        count[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] += 1
    value = float(w[count > 0].sum())
    keep = list(sel)
    for j in sel[::-1]:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        loss = float(w[rows][count[rows] == 1].sum())
        if value - loss >= need * (1 - 1e-12):
            count[rows] -= 1
            value -= loss
            keep.remove(j)
    return np.asarray(keep, np.int64)


def _lscp_milp(
    a: sparse.csr_matrix,
    w: np.ndarray,
    need: float | None,
    time_limit_s: float,
    mip_rel_gap: float,
) -> Any:
    m, n = a.shape
    opts = {"time_limit": max(float(time_limit_s), 0.1), "mip_rel_gap": mip_rel_gap}
    if need is None:
        return milp(
            np.ones(n),
            constraints=[LinearConstraint(a.astype(float), 1.0, np.inf)],
            integrality=np.ones(n),
            bounds=Bounds(0.0, 1.0),
            options=opts,
        )
    c = np.concatenate([np.ones(n), np.zeros(m)])
    link = sparse.hstack([-a.astype(float), sparse.identity(m, format="csr")]).tocsr()
    share = sparse.hstack([sparse.csr_matrix((1, n)), w[None, :]]).tocsr()
    return milp(
        c,
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(share, need * (1 - 1e-12), np.inf),
        ],
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=Bounds(0.0, 1.0),
        options=opts,
    )


def _lscp_lp_bound(
    a: sparse.csr_matrix, w: np.ndarray, need: float | None, time_limit_s: float
) -> float:
    m, n = a.shape
    opts = {"time_limit": max(time_limit_s, 0.1)}
    if need is None:
        res = linprog(
            np.ones(n),
            A_ub=-a.astype(float),
            b_ub=-np.ones(m),
            bounds=(0, 1),
            method="highs",
            options=opts,
        )
    else:
        a_ub = sparse.vstack(
            [
                sparse.hstack([-a.astype(float), sparse.identity(m, format="csr")]),
                sparse.hstack([sparse.csr_matrix((1, n)), -w[None, :]]),
            ]
        ).tocsr()
        res = linprog(
            np.concatenate([np.ones(n), np.zeros(m)]),
            A_ub=a_ub,
            b_ub=np.concatenate([np.zeros(m), [-need]]),
            bounds=(0, 1),
            method="highs",
            options=opts,
        )
    return float(res.fun) if res.status == 0 else 0.0


def solve_lscp(
    cover: sparse.spmatrix,
    *,
    weights: np.ndarray | None = None,
    covered: np.ndarray | None = None,
    min_share: float = 1.0,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    mip_rel_gap: float = 1e-4,
) -> PlanResult:
    """Find the fewest sites meeting a coverage target (location set covering).

    With ``min_share = 1`` every demand row with weight > 0 must end within reach of
    an existing (``covered``) or a new point; otherwise the existing and new points
    together must reach ``min_share`` of the total weight.

    Demand that no candidate reaches makes a full target infeasible. The solver then
    still solves the reachable part (fewest sites covering every coverable row; for
    a share target: every coverable row, the largest share achievable), returns
    status ``"infeasible"`` and lists the unreachable rows in ``uncoverable``; the
    selection is optimal for that reachable part when ``detail`` says so.

    Parameters
    ----------
    cover
        ``(n_demand, n_sites)`` boolean coverage matrix of the candidate sites.
    weights
        Population per demand row; ``None`` counts every row as 1.
    covered
        Demand already covered by existing points.
    min_share
        Required share of the total weight within reach, in (0, 1].
    time_limit_s
        Time limit of the MILP solver in seconds.
    method
        ``"exact"``, ``"greedy"`` or ``"auto"`` (see :func:`solve_mclp`).
    mip_rel_gap
        Relative gap at which the MILP stops.

    Returns
    -------
    PlanResult
        ``objective`` and ``bound`` are numbers of sites (bound is a lower bound).
    """
    if not 0.0 < min_share <= 1.0:
        msg = f"min_share must be in (0, 1], got {min_share}"
        raise InputError(msg)
    n = cover.shape[0]
    w_in = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    t0 = time.perf_counter()
    red = _reduce(cover, w_in, covered)
    t_reduce = time.perf_counter() - t0
    a, w, st = red.cover, red.weights, red.stats
    n_rows, n_cols = a.shape
    chosen = _choose_method(method, a.nnz)
    t1 = time.perf_counter()
    csc = a.tocsc()
    infeasible = False
    need_abs: float | None
    if min_share >= 1.0:
        need_abs = None
        infeasible = len(red.uncoverable) > 0
    else:
        need_abs = min_share * st["pop_total"] - st["pop_already_covered"]
        if need_abs > st["pop_open"] * (1 + 1e-12):
            infeasible = True
            need_abs = None
    if need_abs is not None and need_abs <= 0:
        res0 = _empty_result("lscp", 0.0, "the existing points already meet the target")
        res0.stats, res0.timings = st, {"reduce_s": t_reduce, "solve_s": 0.0}
        return res0
    # in "cover everything reachable" mode each merged row counts once
    gw = np.ones(n_rows) if need_abs is None else w
    need_g = float(n_rows) if need_abs is None else need_abs
    greedy = _lazy_greedy(csc, gw, 0, stop_at=need_g * (1 - 1e-12), max_steps=n_cols)
    sel = _prune(csc, gw, greedy.selected, need_g)
    col_w = np.asarray(csc.T @ gw).ravel()
    bound = float(_min_count_bound(col_w, need_g))
    used = "greedy"
    milp_status: int | None = None
    detail = ""
    if chosen == "greedy" and a.nnz <= LP_BOUND_MAX_NNZ and n_cols:
        bound = max(
            bound, math.ceil(_lscp_lp_bound(a, w, need_abs, time_limit_s) - 1e-6)
        )
    elif chosen == "exact" and n_cols:
        used = "exact"
        res = _lscp_milp(
            a, w, need_abs, time_limit_s - (time.perf_counter() - t1), mip_rel_gap
        )
        milp_status = res.status
        if res.status not in (0, 1):
            msg = f"the MILP solver failed: {res.message}"
            raise SolverError(msg)
        if res.x is not None:
            msel = np.flatnonzero(res.x[:n_cols] > 0.5)
            if len(msel) <= len(sel):
                sel = _prune(csc, gw, _greedy_order(csc, gw, msel)[0], need_g)
        if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
            bound = max(bound, math.ceil(float(res.mip_dual_bound) - 1e-6))
    count = float(len(sel))
    bound = min(bound, count)
    gap = (count - bound) / count if count > 0 else 0.0
    optimal = count <= bound or (used == "exact" and milp_status == 0)
    status = (
        _STATUS_OPTIMAL
        if optimal
        else (_STATUS_TIME_LIMIT if used == "exact" else _STATUS_GREEDY)
    )
    if not optimal:
        detail = f"proven gap {gap:.3%} ({count:g} sites, lower bound {bound:g})"
    if infeasible:
        reach = st["pop_already_covered"] + st["pop_open"]
        best = reach / st["pop_total"] if st["pop_total"] > 0 else 1.0
        what = (
            "not every populated demand row can be covered"
            if min_share >= 1.0
            else f"at most {best:.2%} of the population can be within reach "
            f"(target {min_share:.2%})"
        )
        detail = (
            f"target infeasible: {len(red.uncoverable)} demand row(s) with population "
            f"{st['pop_uncoverable']:g} are out of reach of every candidate and "
            f"existing point, so {what}; the selection covers all reachable demand "
            f"({status})" + (f"; {detail}" if detail else "")
        )
        status = _STATUS_INFEASIBLE
    order, gains = _greedy_order(csc, w, sel)
    solve_s = time.perf_counter() - t1
    return PlanResult(
        problem="lscp",
        selected=red.sites[order],
        objective=count,
        status=status,
        bound=float(bound),
        gap=float(gap),
        method=used,
        solve_time_s=solve_s,
        marginal_gain=gains,
        newly_covered_pop=float(gains.sum()),
        uncoverable=red.uncoverable,
        uncoverable_pop=st["pop_uncoverable"],
        detail=detail,
        stats={**st, "greedy_evaluations": greedy.evaluations},
        timings={"reduce_s": t_reduce, "solve_s": solve_s},
    )


# --------------------------------------------------------------------------- communes


def solve_commune_rule(
    candidate_commune: np.ndarray,
    existing_commune: np.ndarray,
    n_communes: int,
    *,
    cover: sparse.spmatrix | None = None,
    weights: np.ndarray | None = None,
    covered: np.ndarray | None = None,
) -> PlanResult:
    """Give every commune without an existing point one new point.

    The fewest sites is the number of communes without a point; each gets the
    candidate inside it that newly covers the most population on its own (the first
    candidate when no coverage matrix is given).

    Parameters
    ----------
    candidate_commune
        Commune index (0 .. n_communes - 1) of each candidate; -1 outside all.
    existing_commune
        Commune index of each existing point; -1 outside all.
    n_communes
        Number of communes.
    cover
        Optional ``(n_demand, n_candidates)`` coverage matrix, to pick and rank sites.
    weights
        Population per demand row (with ``cover``).
    covered
        Demand already covered by existing points (with ``cover``).

    Returns
    -------
    PlanResult
        ``uncoverable`` holds the communes without a point and without any
        candidate inside; the status is then ``"infeasible"``.
    """
    t0 = time.perf_counter()
    cand = np.asarray(candidate_commune, dtype=np.int64)
    exist = np.asarray(existing_commune, dtype=np.int64)
    has_point = np.zeros(n_communes, bool)
    has_point[exist[(exist >= 0) & (exist < n_communes)]] = True
    needy = ~has_point
    n_cand = len(cand)
    if cover is not None and weights is not None:
        w = np.asarray(weights, dtype=float).copy()
        if covered is not None:
            w[np.asarray(covered, dtype=bool)] = 0.0
        csc = sparse.csc_matrix(cover, dtype=bool)
        gain = np.asarray(csc.T.astype(float) @ w).ravel()
    else:
        csc, w, gain = None, None, np.zeros(n_cand)
    ok = (cand >= 0) & (cand < n_communes)
    ok[ok] &= needy[cand[ok]]
    idx = np.flatnonzero(ok)
    order = np.lexsort((idx, -gain[idx], cand[idx]))
    idx = idx[order]
    first = np.ones(len(idx), bool)
    first[1:] = cand[idx][1:] != cand[idx][:-1]
    picked = idx[first]
    served = np.zeros(n_communes, bool)
    served[cand[picked]] = True
    missing = np.flatnonzero(needy & ~served)
    if csc is not None and w is not None:
        sel, gains = _greedy_order(csc, w, picked)
    else:
        sel, gains = picked, np.zeros(len(picked))
    count = float(len(sel))
    status, detail = _STATUS_OPTIMAL, ""
    if len(missing):
        status = _STATUS_INFEASIBLE
        detail = (
            f"{len(missing)} commune(s) without a point have no candidate site inside; "
            "the selection serves every other commune"
        )
    return PlanResult(
        problem="commune",
        selected=sel,
        objective=count,
        status=status,
        bound=count,
        gap=0.0,
        method="direct",
        solve_time_s=time.perf_counter() - t0,
        marginal_gain=gains,
        newly_covered_pop=float(gains.sum()),
        uncoverable=missing,
        uncoverable_pop=0.0,
        detail=detail,
        stats={
            "n_communes": int(n_communes),
            "n_communes_without_point": int(needy.sum()),
            "n_candidates": int(n_cand),
        },
    )


# ------------------------------------------------------------------ adapter (arrays)


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
        Solver time limit in seconds.
    method
        ``"auto"``, ``"exact"`` or ``"greedy"``.
    mip_rel_gap
        Relative gap at which the MILP stops.

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
    covered = covered_by(dxy, existing_xy_m, radius_m)
    # only open demand needs its candidate sets: the rest stays as empty rows
    live = (pop > 0) & ~covered
    sub = build_coverage_matrix(dxy[live], candidate_xy_m, radius_m)
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


# ------------------------------------------------------------------ bench format


@dataclass
class BenchInstance:
    """A coverage-location instance in the bench format (metres).

    Attributes
    ----------
    demand_xy, demand_pop, existing_xy, candidate_xy : numpy.ndarray
        Coordinates in metres and population per demand cell.
    radius_m : float
        Coverage radius.
    p : int
        Number of new sites for the maximal covering problem.
    meta : dict
        The parsed ``meta.json``.
    """

    demand_xy: np.ndarray
    demand_pop: np.ndarray
    existing_xy: np.ndarray
    candidate_xy: np.ndarray
    radius_m: float
    p: int
    meta: dict[str, Any]


def _read_csv(path: Path, columns: list[str]) -> np.ndarray:
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    if header != columns:
        msg = f"{path}: expected columns {','.join(columns)}, found {','.join(header)}"
        raise InputError(msg)
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=float)
    return data.reshape(-1, len(columns))


def load_instance(directory: str | Path) -> BenchInstance:
    """Read a bench instance folder.

    The folder holds ``demand.csv`` (id,x,y,pop), ``existing.csv`` and
    ``candidates.csv`` (id,x,y) in metres, and ``meta.json`` (``radius_m``, ``p``).

    Parameters
    ----------
    directory
        The instance folder (see ``bench/README`` of the shared benchmark).

    Returns
    -------
    BenchInstance
    """
    d = Path(directory)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        msg = f"{meta_path}: file not found (is {d} a bench instance folder?)"
        raise InputError(msg)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    dem = _read_csv(d / "demand.csv", ["id", "x", "y", "pop"])
    ex = _read_csv(d / "existing.csv", ["id", "x", "y"])
    ca = _read_csv(d / "candidates.csv", ["id", "x", "y"])
    return BenchInstance(
        demand_xy=dem[:, 1:3],
        demand_pop=dem[:, 3],
        existing_xy=ex[:, 1:3],
        candidate_xy=ca[:, 1:3],
        radius_m=float(meta["radius_m"]),
        p=int(meta["p"]),
        meta=meta,
    )


# ------------------------------------------------------------------ adapter (layers)

CandidateSource = Literal["cells", "centres", "file"]
PROPOSED_COLUMNS = [
    "rank",
    "lat",
    "lon",
    "commune_code",
    "newly_covered_pop",
    "running_total_pop",
]


def _containing_index(geoms: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the first polygon intersecting each geometry, -1 when none does."""
    out = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(polygons) == 0:
        return out
    tree = shapely.STRtree(polygons)
    g_idx, p_idx = tree.query(geoms, predicate="intersects")
    order = np.lexsort((p_idx, g_idx))
    g_idx, p_idx = g_idx[order], p_idx[order]
    uniq, start = np.unique(g_idx, return_index=True)
    out[uniq] = p_idx[start]
    return out


def _thin_cells(
    xy: np.ndarray, pop: np.ndarray, max_count: int, cell_m: float
) -> np.ndarray:
    """Pick at most ``max_count`` populated cells, the most populated per block."""
    idx = np.flatnonzero(pop > 0)
    if len(idx) <= max_count:
        return idx
    factor = max(2, math.ceil(math.sqrt(len(idx) / max_count)))
    while True:
        block = cell_m * factor
        bx = np.floor(xy[idx, 0] / block).astype(np.int64)
        by = np.floor(xy[idx, 1] / block).astype(np.int64)
        order = np.lexsort((-pop[idx], by, bx))
        keys = np.column_stack([bx[order], by[order]])
        first = np.ones(len(order), bool)
        first[1:] = np.any(keys[1:] != keys[:-1], axis=1)
        kept = idx[order[first]]
        if len(kept) <= max_count:
            return np.sort(kept)
        factor += 1


def _population_grid(communes: gpd.GeoDataFrame, cell_m: float, crs: Any) -> Any:
    from .access import build_population_grid

    return build_population_grid(communes, cell_m=cell_m, crs=crs)


def _demand(
    communes: gpd.GeoDataFrame, cell_m: float, surface: Any | None
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]:
    """Return (metric CRS, demand xy, population, commune row per location or None)."""
    from .geo import metric_crs

    if surface is None:
        crs = metric_crs(communes)
        surface = _population_grid(communes, cell_m, crs)
    else:
        crs = surface.crs
    xy = np.column_stack(
        [np.asarray(surface.x_m, dtype=float), np.asarray(surface.y_m, dtype=float)]
    )
    commune = getattr(surface, "commune", None)
    if commune is not None:
        commune = np.asarray(commune, dtype=np.int64)
        if len(commune) != len(xy):
            commune = None
    return crs, xy, np.asarray(surface.pop, dtype=float), commune


def _point_xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    geoms = gdf.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = shapely.point_on_surface(geoms[ok])
    return shapely.get_coordinates(pts).reshape(-1, 2)


def plan_from_layers(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None = None,
    *,
    radius_km: float,
    add: int | None = None,
    target: str | PlanTarget | None = None,
    cell_m: float = 250.0,
    candidate_source: CandidateSource = "cells",
    exclusion: gpd.GeoDataFrame | None = None,
    max_candidates: int = 3000,
    surface: Any | None = None,
    time_limit_s: float = 60.0,
    method: Method = "auto",
    mip_rel_gap: float = 1e-4,
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

    Returns
    -------
    (PlanResult, geopandas.GeoDataFrame)
        The result (``selected`` indexes the candidate list used) and the proposed
        points in EPSG:4326 with columns ``rank, lat, lon, commune_code,
        newly_covered_pop, running_total_pop``.
    """
    import geopandas as gpd

    from .geo import WGS84, require_crs

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
    if candidate_source == "file":
        if candidates is None or len(candidates) == 0:
            msg = "candidate_source='file' needs a non-empty candidates layer"
            raise InputError(msg)
        cand_xy = _point_xy(candidates.to_crs(crs))
    elif candidate_source == "cells":
        cand_xy = demand_xy[_thin_cells(demand_xy, pop, max_candidates, cell_m)]
    elif candidate_source == "centres":
        cand_xy = _point_xy(communes_m)
    else:
        msg = (
            "candidate_source must be 'cells', 'centres' or 'file', "
            f"not {candidate_source!r}"
        )
        raise InputError(msg)
    cand_pts = gpd.points_from_xy(cand_xy[:, 0], cand_xy[:, 1], crs=crs)
    if exclusion is not None and len(exclusion):
        excl = exclusion.to_crs(crs).geometry.to_numpy()
        inside = _containing_index(np.asarray(cand_pts), excl) >= 0
        cand_xy, cand_pts = cand_xy[~inside], cand_pts[~inside]
    if len(cand_xy) == 0:
        msg = "no candidate site is left (all excluded or none generated)"
        raise InputError(msg)
    polys = communes_m.geometry.to_numpy()
    cand_commune = _containing_index(np.asarray(cand_pts), polys)
    exist_xy = _point_xy(points_m) if len(points_m) else np.zeros((0, 2))
    exist_pts = gpd.points_from_xy(exist_xy[:, 0], exist_xy[:, 1], crs=crs)
    exist_commune = _containing_index(np.asarray(exist_pts), polys)
    result = plan_new_sites(
        demand_xy,
        pop,
        exist_xy,
        cand_xy,
        radius_m=float(radius_km) * 1000.0,
        add=add,
        target=target,
        candidate_commune=cand_commune,
        existing_commune=exist_commune,
        n_communes=len(communes_m),
        time_limit_s=time_limit_s,
        method=method,
        mip_rel_gap=mip_rel_gap,
    )
    sel = result.selected
    codes = communes_m["commune_code"].astype(str).to_numpy()
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
    if result.problem == "commune" and len(result.uncoverable):
        result.detail += ": " + _list_some(codes[result.uncoverable].tolist())
    elif len(result.uncoverable):
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


def _list_some(items: list[str], limit: int = 20) -> str:
    more = "" if len(items) <= limit else f" and {len(items) - limit} more"
    return ", ".join(items[:limit]) + more


def before_after(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    radius_km: float,
    cell_m: float = 250.0,
    surface: Any | None = None,
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

    from .geo import area_km2
    from .metrics import people_per_point, service_radius_km

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
        cov = covered_by(demand_xy, xy, radius_m)
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
