"""Lazy greedy (CELF) for weighted maximal covering, with its proven bounds.

Coverage is submodular, so stale marginal gains are upper bounds of the current
ones: the greedy's value plus the largest stale gains bounds the optimum at every
step. Also the greedy ordering of a selection and the pruning of redundant sites.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__: list[str] = []


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
