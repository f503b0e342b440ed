"""Capacity load and floating-catchment access scores (2SFCA, E2SFCA).

Two layers, as in spopt:

* an array core on numpy/scipy arrays: :func:`neighbour_pairs` (sparse pairs from
  metre coordinates), :func:`pairs_from_cost_matrix` (a precomputed sparse cost
  matrix, e.g. travel minutes), :func:`capacity_load`, :func:`floating_catchment`,
  :func:`two_step_fca`, :func:`enhanced_two_step_fca` and :func:`aggregate_scores`;
* a thin adapter, :func:`access_scores`, that takes coordinates or a cost matrix and
  returns the per-cell scores and the per-group table.

Floating catchment (Luo & Wang 2003; Luo & Qi 2009). With demand ``P_i`` at cell
``i``, supply ``S_j`` at point ``j``, cost ``d_ij`` and a weight ``W(d)`` that is 0
beyond the catchment size ``d0``:

* step 1, supply-to-demand ratio of every point: ``R_j = S_j / sum_i P_i W(d_ij)``;
* step 2, access score of every cell: ``A_i = sum_j R_j W(d_ij)``.

2SFCA uses ``W(d) = 1`` for ``d <= d0``. E2SFCA uses a step decay over zones with
upper edges ``e_1 < e_2 < ... < e_m = d0``: ``W(d) = w_k`` for
``e_{k-1} < d <= e_k`` (``e_0 = -inf``), by default Luo & Qi's three zones with
weights 1.00, 0.68 and 0.22 (:data:`LUO_QI_WEIGHTS`, from a Gaussian decay at the
zone midpoints). Zone edges are inclusive, as in PySAL ``access``'s ``step_fn``.

Decisions
---------
* Only pairs within ``d0`` are ever built (``cKDTree.sparse_distance_matrix``); no
  dense cell-by-point matrix. Pairs are kept as three arrays, so a cost of exactly 0
  (a cell centre on a point) stays a pair, unlike in a scipy sparse matrix.
* A point with no demand within reach has no defined ratio; it gets ``R_j = 0`` and
  is flagged in ``FCAResult.idle``. When no point is idle, the scores conserve the
  supply: ``sum_i P_i A_i = sum_j S_j`` (exactly for 2SFCA, and for E2SFCA as well
  because the same weights enter both steps).
* A cell with no point within reach scores 0 (no access), not NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = [
    "LUO_QI_WEIGHTS",
    "CapacityLoad",
    "CostPairs",
    "FCAResult",
    "GroupScores",
    "access_scores",
    "aggregate_scores",
    "capacity_load",
    "enhanced_two_step_fca",
    "floating_catchment",
    "neighbour_pairs",
    "pairs_from_cost_matrix",
    "step_weights",
    "two_step_fca",
    "zone_edges",
]

#: Step weights of the three E2SFCA zones of Luo & Qi (2009), nearest zone first.
LUO_QI_WEIGHTS: tuple[float, float, float] = (1.00, 0.68, 0.22)


@dataclass(frozen=True)
class CostPairs:
    """Sparse demand-to-supply pairs within reach, with their cost.

    Attributes
    ----------
    demand_idx, supply_idx : numpy.ndarray
        Integer indices of the demand cell and of the point of every pair.
    cost : numpy.ndarray
        Cost of every pair (metres or minutes, as the source gave them).
    n_demand, n_supply : int
        Number of demand cells and of points (pairs need not mention all).
    """

    demand_idx: np.ndarray
    supply_idx: np.ndarray
    cost: np.ndarray
    n_demand: int
    n_supply: int

    def __len__(self) -> int:
        return len(self.cost)

    def within(self, max_cost: float) -> CostPairs:
        """Return the pairs whose cost is at most ``max_cost``."""
        keep = self.cost <= max_cost
        return CostPairs(
            self.demand_idx[keep],
            self.supply_idx[keep],
            self.cost[keep],
            self.n_demand,
            self.n_supply,
        )


@dataclass(frozen=True)
class CapacityLoad:
    """Load of every point under nearest-point assignment.

    Attributes
    ----------
    pop_served : numpy.ndarray
        Population whose nearest point it is.
    capacity : numpy.ndarray
        The capacity given (people the point can serve).
    load : numpy.ndarray
        ``pop_served / capacity``; ``inf`` for a point of zero capacity serving
        someone, NaN for a point of zero or unknown capacity serving nobody.
    overloaded : numpy.ndarray
        ``load > 1``.
    nearest_idx : numpy.ndarray
        Nearest point of every demand cell (``-1`` without points).
    """

    pop_served: np.ndarray
    capacity: np.ndarray
    load: np.ndarray
    overloaded: np.ndarray
    nearest_idx: np.ndarray


@dataclass(frozen=True)
class FCAResult:
    """Floating-catchment scores.

    Attributes
    ----------
    score : numpy.ndarray
        Access score ``A_i`` of every demand cell (supply per person, >= 0).
    ratio : numpy.ndarray
        Supply-to-demand ratio ``R_j`` of every point (0 where ``idle``).
    demand_in_reach : numpy.ndarray
        Weighted demand ``sum_i P_i W(d_ij)`` of every point.
    idle : numpy.ndarray
        Points with no demand within reach.
    no_access : numpy.ndarray
        Demand cells with no point within reach.
    """

    score: np.ndarray
    ratio: np.ndarray
    demand_in_reach: np.ndarray
    idle: np.ndarray
    no_access: np.ndarray


@dataclass(frozen=True)
class GroupScores:
    """Per-group (commune) scores.

    Attributes
    ----------
    labels : numpy.ndarray
        The distinct group labels, sorted.
    population : numpy.ndarray
        Population of every group.
    score : numpy.ndarray
        Population-weighted mean cell score; NaN for a group without population.
    ratio_to_mean : numpy.ndarray
        ``score`` divided by the population-weighted mean over all cells.
    area_mean : float
        That overall mean (NaN without population).
    """

    labels: np.ndarray
    population: np.ndarray
    score: np.ndarray
    ratio_to_mean: np.ndarray
    area_mean: float

    def to_frame(self, *, name: str = "access_score") -> pd.DataFrame:
        """Return the table: ``group, population, <name>, <name>_ratio``."""
        return pd.DataFrame(
            {
                "group": self.labels,
                "population": self.population,
                name: self.score,
                f"{name}_ratio": self.ratio_to_mean,
            }
        )


def _xy(xy: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(xy, dtype=float)
    if a.size == 0:
        return a.reshape(0, 2)
    if a.ndim != 2 or a.shape[1] != 2:
        msg = f"{what} must be an (n, 2) array of metre coordinates, got {a.shape}"
        raise InputError(msg)
    if not np.all(np.isfinite(a)):
        msg = f"{what} has non-finite coordinates"
        raise InputError(msg)
    return a


def _nonneg(values: np.ndarray, n: int, what: str) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    if len(a) != n:
        msg = f"{what} has {len(a)} values for {n} rows"
        raise InputError(msg)
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        msg = f"{what} must be finite and >= 0"
        raise InputError(msg)
    return a


def neighbour_pairs(
    demand_xy: np.ndarray, supply_xy: np.ndarray, *, max_distance_m: float
) -> CostPairs:
    """Pairs of demand cells and points at most ``max_distance_m`` apart.

    Parameters
    ----------
    demand_xy, supply_xy
        ``(n, 2)`` coordinates in metres.
    max_distance_m
        Catchment size; pairs farther apart are not built.

    Returns
    -------
    CostPairs
        Cost in metres, sorted by demand cell then point.
    """
    d = _xy(demand_xy, "demand_xy")
    s = _xy(supply_xy, "supply_xy")
    if not max_distance_m >= 0:
        msg = f"max_distance_m must be >= 0, got {max_distance_m}"
        raise InputError(msg)
    if len(d) == 0 or len(s) == 0:
        e = np.zeros(0, dtype=np.int64)
        return CostPairs(e, e, np.zeros(0), len(d), len(s))
    hits = cKDTree(d).sparse_distance_matrix(
        cKDTree(s), float(max_distance_m), output_type="ndarray"
    )
    order = np.lexsort((hits["j"], hits["i"]))
    hits = hits[order]
    return CostPairs(
        hits["i"].astype(np.int64),
        hits["j"].astype(np.int64),
        hits["v"].astype(float),
        len(d),
        len(s),
    )


def pairs_from_cost_matrix(
    cost: sparse.spmatrix | sparse.sparray, *, max_cost: float | None = None
) -> CostPairs:
    """Pairs from a precomputed ``(n_demand, n_supply)`` sparse cost matrix.

    Parameters
    ----------
    cost
        Stored entries are the reachable pairs and their cost (e.g. travel minutes);
        an explicitly stored 0 is a zero cost, an absent entry is out of reach.
    max_cost
        Keep only pairs up to this cost.

    Returns
    -------
    CostPairs
    """
    if not sparse.issparse(cost):
        msg = "cost must be a scipy sparse matrix (absent entries = out of reach)"
        raise InputError(msg)
    coo = sparse.coo_matrix(cost)
    c = np.asarray(coo.data, dtype=float)
    if np.any(np.isnan(c)) or np.any(c < 0):
        msg = "cost must be >= 0 (and not NaN) on every stored entry"
        raise InputError(msg)
    pairs = CostPairs(
        coo.row.astype(np.int64),
        coo.col.astype(np.int64),
        c,
        int(coo.shape[0]),
        int(coo.shape[1]),
    )
    return pairs if max_cost is None else pairs.within(max_cost)


def capacity_load(
    demand_xy: np.ndarray,
    demand_pop: np.ndarray,
    point_xy: np.ndarray,
    capacity: np.ndarray,
) -> CapacityLoad:
    """Compute the population every point serves (nearest point) against its capacity.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` cell coordinates in metres.
    demand_pop
        Population per cell (>= 0).
    point_xy
        ``(m, 2)`` point coordinates in metres.
    capacity
        People each point can serve (>= 0; NaN = unknown).

    Returns
    -------
    CapacityLoad
    """
    d = _xy(demand_xy, "demand_xy")
    pop = _nonneg(demand_pop, len(d), "demand_pop")
    p = _xy(point_xy, "point_xy")
    cap = np.asarray(capacity, dtype=float).ravel()
    if len(cap) != len(p) or np.any(cap < 0):
        msg = f"capacity must have one value >= 0 per point ({len(p)})"
        raise InputError(msg)
    if len(p) == 0:
        nearest: np.ndarray = np.full(len(d), -1, dtype=np.int64)
        served: np.ndarray = np.zeros(0)
    else:
        nearest = np.asarray(cKDTree(p).query(d)[1], dtype=np.int64)
        served = np.bincount(nearest, weights=pop, minlength=len(p))
    with np.errstate(divide="ignore", invalid="ignore"):
        load = served / cap
    return CapacityLoad(served, cap, load, load > 1.0, nearest)


def zone_edges(thresholds: Sequence[float], *, n_zones: int = 3) -> np.ndarray:
    """Upper edges of the decay zones from the catchment thresholds.

    One threshold ``d0`` gives ``n_zones`` equal zones (``d0/3, 2*d0/3, d0`` for
    three, as Luo & Qi's 10/20/30 minutes); several thresholds are the edges.

    Parameters
    ----------
    thresholds
        Catchment size, or every zone edge, in the cost's unit.
    n_zones
        Number of equal zones for a single threshold.

    Returns
    -------
    numpy.ndarray
        Strictly increasing positive edges.
    """
    t = np.asarray(sorted(float(v) for v in thresholds), dtype=float)
    if len(t) == 0 or not np.all(np.isfinite(t)) or t[0] <= 0:
        msg = f"thresholds must be positive, got {list(thresholds)}"
        raise InputError(msg)
    if np.any(np.diff(t) <= 0):
        msg = f"thresholds must be distinct, got {list(thresholds)}"
        raise InputError(msg)
    if len(t) == 1:
        return t[0] * np.arange(1, n_zones + 1) / n_zones
    return t


def step_weights(
    cost: np.ndarray, edges: np.ndarray, weights: Sequence[float]
) -> np.ndarray:
    """Step-decay weight: ``weights[k]`` for ``edges[k-1] < cost <= edges[k]``.

    Parameters
    ----------
    cost
        Costs (>= 0).
    edges
        Increasing upper zone edges; beyond the last the weight is 0.
    weights
        One weight per zone, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
    """
    e = np.asarray(edges, dtype=float)
    w = np.asarray(weights, dtype=float)
    if len(w) != len(e):
        msg = f"{len(w)} weight(s) for {len(e)} zone(s)"
        raise InputError(msg)
    if np.any(w < 0) or np.any(~np.isfinite(w)):
        msg = "zone weights must be finite and >= 0"
        raise InputError(msg)
    zone = np.searchsorted(e, np.asarray(cost, dtype=float), side="left")
    return np.concatenate([w, [0.0]])[zone]


def floating_catchment(
    demand_pop: np.ndarray,
    supply: np.ndarray,
    pairs: CostPairs,
    *,
    edges: Sequence[float] | np.ndarray,
    weights: Sequence[float],
) -> FCAResult:
    """Two-step floating catchment with a step decay (the common core).

    Parameters
    ----------
    demand_pop
        Population ``P_i`` per demand cell (>= 0).
    supply
        Supply ``S_j`` per point (>= 0): 1 per point, counters, capacity...
    pairs
        Demand-to-point pairs and their cost (:func:`neighbour_pairs`,
        :func:`pairs_from_cost_matrix`); pairs beyond the last edge are ignored.
    edges, weights
        Zones of the step decay (see :func:`step_weights`).

    Returns
    -------
    FCAResult
    """
    pop = _nonneg(demand_pop, pairs.n_demand, "demand_pop")
    s = _nonneg(supply, pairs.n_supply, "supply")
    w = step_weights(pairs.cost, np.asarray(edges, dtype=float), weights)
    i, j = pairs.demand_idx, pairs.supply_idx
    reach = np.bincount(j, weights=w * pop[i], minlength=pairs.n_supply)
    idle = reach <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(idle, 0.0, s / np.where(idle, 1.0, reach))
    score = np.bincount(i, weights=w * ratio[j], minlength=pairs.n_demand)
    reached = np.bincount(i, weights=(w > 0), minlength=pairs.n_demand) > 0
    return FCAResult(score, ratio, reach, idle, ~reached)


def two_step_fca(
    demand_pop: np.ndarray, supply: np.ndarray, pairs: CostPairs, *, max_cost: float
) -> FCAResult:
    """2SFCA: ``W(d) = 1`` for ``d <= max_cost``, else 0.

    Parameters
    ----------
    demand_pop, supply, pairs
        As in :func:`floating_catchment`.
    max_cost
        Catchment size ``d0`` in the cost's unit (metres or minutes).

    Returns
    -------
    FCAResult
    """
    return floating_catchment(
        demand_pop, supply, pairs, edges=[float(max_cost)], weights=[1.0]
    )


def enhanced_two_step_fca(
    demand_pop: np.ndarray,
    supply: np.ndarray,
    pairs: CostPairs,
    *,
    thresholds: Sequence[float],
    weights: Sequence[float] = LUO_QI_WEIGHTS,
) -> FCAResult:
    """E2SFCA (Luo & Qi 2009): step decay over distance zones.

    Parameters
    ----------
    demand_pop, supply, pairs
        As in :func:`floating_catchment`.
    thresholds
        Catchment size ``d0`` (split into ``len(weights)`` equal zones) or every
        zone edge (one per weight), see :func:`zone_edges`.
    weights
        Zone weights, nearest first; default :data:`LUO_QI_WEIGHTS`.

    Returns
    -------
    FCAResult
    """
    edges = zone_edges(thresholds, n_zones=len(weights))
    return floating_catchment(demand_pop, supply, pairs, edges=edges, weights=weights)


def aggregate_scores(
    score: np.ndarray, demand_pop: np.ndarray, groups: np.ndarray
) -> GroupScores:
    """Population-weighted mean score per group and its ratio to the area's mean.

    Parameters
    ----------
    score
        Score per cell.
    demand_pop
        Population per cell (the weights).
    groups
        Group label (commune code) per cell.

    Returns
    -------
    GroupScores
    """
    a = np.asarray(score, dtype=float).ravel()
    pop = _nonneg(demand_pop, len(a), "demand_pop")
    g = np.asarray(groups).ravel()
    if len(g) != len(a):
        msg = f"groups has {len(g)} labels for {len(a)} cells"
        raise InputError(msg)
    labels, inv = np.unique(g, return_inverse=True)
    inv = inv.ravel()
    gpop = np.bincount(inv, weights=pop, minlength=len(labels))
    gsum = np.bincount(inv, weights=pop * a, minlength=len(labels))
    total = float(pop.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        gmean = np.where(gpop > 0, gsum / np.where(gpop > 0, gpop, 1.0), np.nan)
        area_mean = float(pop @ a) / total if total > 0 else float("nan")
        ratio = gmean / area_mean if area_mean > 0 else np.full(len(labels), np.nan)
    return GroupScores(labels, gpop, gmean, ratio, area_mean)


def access_scores(
    demand_pop: np.ndarray,
    supply: np.ndarray,
    *,
    method: str = "e2sfca",
    thresholds: Sequence[float],
    demand_xy: np.ndarray | None = None,
    supply_xy: np.ndarray | None = None,
    cost: sparse.spmatrix | sparse.sparray | None = None,
    groups: np.ndarray | None = None,
    weights: Sequence[float] = LUO_QI_WEIGHTS,
) -> tuple[FCAResult, GroupScores | None]:
    """Scores per cell (and per group) from coordinates or a cost matrix.

    Parameters
    ----------
    demand_pop, supply
        Population per cell and supply per point.
    method
        ``"e2sfca"`` or ``"2sfca"``.
    thresholds
        Catchment size (2SFCA: its largest value) or zone edges (E2SFCA), in metres
        with coordinates, in the cost matrix's unit otherwise.
    demand_xy, supply_xy
        Metre coordinates; pairs within the largest threshold are built.
    cost
        Instead of coordinates: a sparse ``(n_demand, n_supply)`` cost matrix, e.g.
        travel minutes.
    groups
        Group label per cell; with it the per-group table is returned too.
    weights
        E2SFCA zone weights.

    Returns
    -------
    (FCAResult, GroupScores or None)
    """
    if method not in {"2sfca", "e2sfca"}:
        msg = f"method must be '2sfca' or 'e2sfca', got {method!r}"
        raise InputError(msg)
    d0 = max(float(t) for t in thresholds)
    if cost is not None:
        if demand_xy is not None or supply_xy is not None:
            msg = "give either coordinates or a cost matrix, not both"
            raise InputError(msg)
        pairs = pairs_from_cost_matrix(cost, max_cost=d0)
    elif demand_xy is not None and supply_xy is not None:
        pairs = neighbour_pairs(demand_xy, supply_xy, max_distance_m=d0)
    else:
        msg = "give demand_xy and supply_xy (metres) or a sparse cost matrix"
        raise InputError(msg)
    if method == "2sfca":
        res = two_step_fca(demand_pop, supply, pairs, max_cost=d0)
    else:
        res = enhanced_two_step_fca(
            demand_pop, supply, pairs, thresholds=thresholds, weights=weights
        )
    table = None if groups is None else aggregate_scores(res.score, demand_pop, groups)
    return res, table
