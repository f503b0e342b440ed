"""Solvers of the set-covering problems: LSCP (``--target``) and the commune rule.

As :mod:`coverage.plan.solvers`: the problem is reduced first
(:mod:`coverage.plan.matrix`), then solved exactly with :func:`scipy.optimize.milp`
(HiGHS) under one time limit, or with a lazy greedy whose result carries a proven
bound (the counting bound or the LP relaxation's).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..errors import InputError, SolverError
from .greedy import (
    _greedy_order,
    _lazy_greedy,
    _min_count_bound,
    _prune,
)
from .matrix import _reduce
from .solvers import (
    _STATUS_GREEDY,
    _STATUS_INFEASIBLE,
    _STATUS_OPTIMAL,
    _STATUS_TIME_LIMIT,
    LP_BOUND_MAX_NNZ,
    Method,
    PlanResult,
    _choose_method,
    _empty_result,
    _highs_options,
    _time_left,
    _time_limit_note,
)

__all__ = ["solve_commune_rule", "solve_lscp"]


def _lscp_milp(
    a: sparse.csr_matrix,
    w: np.ndarray,
    need: float | None,
    time_limit_s: float,
    mip_rel_gap: float,
) -> Any:
    m, n = a.shape
    opts = _highs_options(time_limit_s, 2 * a.nnz + m + n, mip_rel_gap=mip_rel_gap)
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
    opts = _highs_options(time_limit_s, 2 * a.nnz + m + n)
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
        Time limit of the whole solve in seconds (see :func:`solve_mclp`).
    method
        ``"exact"``, ``"greedy"`` or ``"auto"`` (see :func:`solve_mclp`); the
        greedy is proven optimal without HiGHS when it needs no more sites than the
        fewest whose weights could add up to the target.
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
    deadline = t0 + float(time_limit_s)
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
    cut = ""  # the stage the time limit cut short, if any
    if len(sel) <= bound:
        pass  # the greedy meets the counting bound: proven optimal without HiGHS
    elif chosen == "greedy" and a.nnz <= LP_BOUND_MAX_NNZ and n_cols:
        left = _time_left(deadline)
        if left is None:
            cut = "before the LP bound"
        else:
            lp = _lscp_lp_bound(a, w, need_abs, left)
            bound = max(bound, math.ceil(lp - 1e-6))
            if _time_left(deadline) is None:
                cut = "in the LP bound"
    elif chosen == "exact" and n_cols:
        left = _time_left(deadline)
        if left is None:
            cut = "before the MILP"
        else:
            used = "exact"
            res = _lscp_milp(a, w, need_abs, left, mip_rel_gap)
            milp_status = res.status
            if res.status not in (0, 1):
                msg = f"the MILP solver failed: {res.message}"
                raise SolverError(msg)
            if res.status == 1:
                cut = "in the MILP"
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
        else (_STATUS_TIME_LIMIT if used == "exact" or cut else _STATUS_GREEDY)
    )
    if not optimal:
        detail = f"proven gap {gap:.3%} ({count:g} sites, lower bound {bound:g})"
        if cut:
            detail = _time_limit_note(time_limit_s, cut) + "; " + detail
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
