"""Solver of the maximal covering problem (MCLP, ``--add K``) and shared HiGHS plumbing.

The set-covering problems (LSCP, commune rule) are in :mod:`coverage.plan.set_cover`.
Problems are reduced first (:mod:`coverage.plan.matrix`) and then solved exactly with
:func:`scipy.optimize.milp` (HiGHS) under a time limit, or with a lazy greedy (CELF)
whose result carries a proven bound. A greedy result is reported as optimal only when
its value reaches a proven bound.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..errors import InputError, SolverError
from .greedy import (
    _coverage_value,
    _greedy_order,
    _lazy_greedy,
    _prune,
    _top_sum,
)
from .matrix import _reduce

__all__ = [
    "AUTO_EXACT_MAX_NNZ",
    "COLGEN_FIRST_SITES",
    "HIGHS_TIME_SHARE",
    "LP_BOUND_MAX_NNZ",
    "MIN_SOLVER_TIME_S",
    "PRESOLVE_MAX_NNZ",
    "Method",
    "PlanResult",
    "PlanTarget",
    "parse_target",
    "solve_mclp",
]

Method = Literal["auto", "exact", "greedy"]

#: ``method="auto"`` solves exactly when the reduced coverage matrix has at most
#: this many non-zeros (and falls back to the greedy beyond it).
AUTO_EXACT_MAX_NNZ = 3_000_000
#: The greedy's LP-relaxation bound is computed when the reduced matrix is this small.
LP_BOUND_MAX_NNZ = 1_000_000

#: The column generation of the MCLP's LP starts from at least this many candidates
#: (the greedy's and those covering the most on their own).
COLGEN_FIRST_SITES = 200

#: HiGHS presolves a model only up to this many constraint non-zeros: its presolve
#: ignores the time limit, and took 54 s on a national set-covering model (447,502).
PRESOLVE_MAX_NNZ = 250_000

#: A HiGHS call is skipped when less than this is left of the time limit, seconds.
MIN_SOLVER_TIME_S = 0.01
#: Share of the time left that a HiGHS call gets: HiGHS checks its limit between
#: steps and overruns it by a fraction of a second, so the rest is a margin.
HIGHS_TIME_SHARE = 0.9

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
        ``"optimal"`` (proven, within ``mip_rel_gap``), ``"feasible (time limit)"``
        (the time limit cut the LP bound or the MILP short, or left no time for
        them; gap below), ``"greedy"`` (heuristic, gap below) or ``"infeasible"``
        (the target cannot be met; ``selected`` is then the best plan for the
        reachable part and ``uncoverable`` says what cannot be reached).
    bound : float
        Proven bound on the optimum: an upper bound on the newly covered population
        (mclp) or a lower bound on the number of sites (lscp, commune).
    gap : float
        Proven relative optimality gap: ``(bound - objective) / bound`` (mclp) or
        ``(objective - bound) / objective`` (lscp); 0 when proven optimal.
    method : str
        ``"exact"`` (MILP), ``"greedy"`` (no MILP was solved, also when the greedy
        is proven optimal by its own bound) or ``"direct"`` (commune rule).
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


def _time_left(deadline: float) -> float | None:
    """Seconds a HiGHS call may take before ``deadline``, None when too few are left."""
    left = deadline - time.perf_counter()
    return left * HIGHS_TIME_SHARE if left >= MIN_SOLVER_TIME_S else None


def _highs_options(time_limit_s: float, nnz: int, **more: float) -> dict[str, Any]:
    """HiGHS options: the time limit, and no presolve on large models.

    HiGHS does not check its time limit during presolve, which on a national
    set-covering model took minutes; without it the limit holds.
    """
    opts: dict[str, Any] = {"time_limit": float(time_limit_s), **more}
    if nnz > PRESOLVE_MAX_NNZ:
        opts["presolve"] = False
    return opts


def _time_limit_note(time_limit_s: float, stage: str) -> str:
    return f"time limit of {time_limit_s:g} s reached {stage}"


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
        options=_highs_options(time_limit_s, a_ub.nnz),
    )
    if res.status != 0:
        return math.inf
    # the LP optimum is the dual bound of the relaxation; a tiny tolerance keeps it safe
    return float(-res.fun) * (1 + 1e-9) + 1e-9


@dataclass
class _ColGen:
    bound: float  # proven upper bound of the MCLP optimum (Lagrangian, from the LP)
    selected: np.ndarray | None  # an integral restricted-LP or -MILP solution
    cut: bool  # the time limit stopped it before the bound was proven tight
    rounds: int


def _lagrangian_bound(
    csc: sparse.csc_matrix, w: np.ndarray, u: np.ndarray, p: int
) -> float:
    """Bound ``sum(max(0, w - u)) + top-p of A'u``: valid for every ``u >= 0``."""
    u = np.maximum(u, 0.0)
    col = np.asarray(csc.T @ u, dtype=float).ravel()
    value = float(np.maximum(w - u, 0.0).sum()) + _top_sum(col, p)
    return value * (1 + 1e-9) + 1e-9


def _restricted_lp(
    a: sparse.csc_matrix, w: np.ndarray, p: int, time_limit_s: float
) -> Any:
    m, n = a.shape
    a_ub = sparse.vstack(
        [
            sparse.hstack([-a.astype(float), sparse.identity(m, format="csr")]),
            sparse.hstack([np.ones((1, n)), sparse.csr_matrix((1, m))]),
        ]
    ).tocsc()
    return linprog(
        np.concatenate([np.zeros(n), -w]),
        A_ub=a_ub,
        b_ub=np.concatenate([np.zeros(m), [p]]),
        bounds=(0, 1),
        method="highs-ds",
        options=_highs_options(time_limit_s, a_ub.nnz),
    )


def _mclp_colgen(
    csc: sparse.csc_matrix,
    w: np.ndarray,
    p: int,
    seed: np.ndarray,
    deadline: float,
    mip_rel_gap: float,
    *,
    rounding: bool = True,
) -> _ColGen:
    """Solve the MCLP's LP relaxation by column generation, with a proven bound.

    The restricted LP over a few promising candidates gives row duals ``u``; every
    ``u >= 0`` bounds the full problem (:func:`_lagrangian_bound`), and candidates
    whose ``A'u`` exceeds the cardinality dual are added until the bound meets the
    restricted LP. An integral restricted LP is then optimal; with ``rounding`` a
    fractional one is rounded by a MILP over the restricted candidates only.
    """
    n_cols = csc.shape[1]
    solo = np.asarray(csc.T @ w, dtype=float).ravel()
    first = min(n_cols, max(COLGEN_FIRST_SITES, 20 * p))
    cols = np.union1d(seed, np.argsort(-solo, kind="stable")[:first])
    bound, rounds = math.inf, 0
    while True:
        left = _time_left(deadline)
        if left is None:
            return _ColGen(bound, None, True, rounds)
        sub = csc[:, cols]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        res = _restricted_lp(sub[rows], w[rows], p, left)
        rounds += 1
        if res.status != 0:
            return _ColGen(bound, None, True, rounds)
        m = len(rows)
        # rows no restricted candidate reaches have y = 0, so their dual is w
        u = w.copy()
        u[rows] = -res.ineqlin.marginals[:m]
        bound = min(bound, _lagrangian_bound(csc, w, u, p))
        lam = -float(res.ineqlin.marginals[m])
        col = np.asarray(csc.T @ np.maximum(u, 0.0), dtype=float).ravel()
        price = col - lam
        price[cols] = -math.inf
        new = np.flatnonzero(price > 1e-9 * max(1.0, lam))
        if bound <= -res.fun * (1 + mip_rel_gap) or len(new) == 0:
            break
        add = new[np.argsort(-price[new], kind="stable")[: max(50, 5 * p)]]
        cols = np.union1d(cols, add)
    x = res.x[: len(cols)]
    if not rounding:
        return _ColGen(bound, None, False, rounds)
    if np.all((x < 1e-6) | (x > 1 - 1e-6)):
        return _ColGen(bound, cols[x > 0.5], False, rounds)
    left = _time_left(deadline)
    if left is None:
        return _ColGen(bound, None, True, rounds)
    mres = _mclp_milp(sub[rows].tocsr(), w[rows], p, left, mip_rel_gap)
    picked = None if mres.x is None else cols[mres.x[: len(cols)] > 0.5]
    return _ColGen(bound, picked, mres.status != 0, rounds)


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
        Time limit of the whole solve in seconds (reduction, greedy, LP bound and
        MILP): every HiGHS call gets what is left of it. When it cuts a stage short,
        the status is ``"feasible (time limit)"`` unless optimality is proven anyway.
    method
        ``"exact"`` (MILP, HiGHS), ``"greedy"`` (lazy greedy with a proven bound) or
        ``"auto"`` (exact up to :data:`AUTO_EXACT_MAX_NNZ` non-zeros after
        reduction, greedy beyond). The greedy runs first: when it reaches its own
        bound it is proven optimal, and neither an LP nor the MILP is solved.
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
    deadline = t0 + float(time_limit_s)
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
    cut = ""  # the stage the time limit cut short, if any
    if n_cols <= p:
        bound = value  # every useful candidate is taken: nothing better exists
    elif value >= _finish_mclp_bound(bound, w):
        pass  # the greedy reaches its own bound: proven optimal without HiGHS
    elif chosen == "greedy" and a.nnz <= LP_BOUND_MAX_NNZ:
        left = _time_left(deadline)
        if left is None:
            cut = "before the LP bound"
        else:
            cg = _mclp_colgen(csc, w, p, sel, deadline, mip_rel_gap, rounding=False)
            bound = min(bound, cg.bound)
            if _time_left(deadline) is None:
                cut = "in the LP bound"
    elif chosen == "exact" and _time_left(deadline) is None:
        cut = "before the MILP"
    elif chosen == "exact":
        used = "exact"
        cg = _mclp_colgen(csc, w, p, sel, deadline, mip_rel_gap)
        bound = min(bound, cg.bound)
        if cg.selected is not None:
            cval = _coverage_value(csc, w, cg.selected)
            if cval > value:
                sel, value = cg.selected, cval
        left = _time_left(deadline)
        # the full MILP only when the LP bound does not prove the incumbent optimal
        if left is not None and value < _finish_mclp_bound(bound, w) * (
            1 - mip_rel_gap
        ):
            res = _mclp_milp(a, w, p, left, mip_rel_gap)
            milp_status = res.status
            if res.x is not None:
                msel = np.flatnonzero(res.x[:n_cols] > 0.5)
                mval = _coverage_value(csc, w, msel)
                if mval >= value:
                    sel, value = msel, mval
                else:
                    detail = "the solution found before the MILP was better than "
                    detail += "its incumbent; "
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
    elif value < bound and cut:
        status = _STATUS_TIME_LIMIT
        detail = (
            _time_limit_note(time_limit_s, cut)
            + f"; greedy solution, proven gap {gap:.3%}"
        )
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
        options=_highs_options(
            time_limit_s, link.nnz + card.nnz, mip_rel_gap=mip_rel_gap
        ),
    )
