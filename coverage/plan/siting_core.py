"""Shared pieces of the siting objectives (p-median, p-center, capacitated cover).

The result type, input checks, nearest distances, radius pairs, MILP options and
the grouping of equal rows.

Used by :mod:`~coverage.plan.median` (p-median, p-center) and
:mod:`~coverage.plan.capacity` (capacitated covering).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = [
    "STATUS_FEASIBLE",
    "STATUS_INFEASIBLE",
    "STATUS_OPTIMAL",
    "SitingResult",
]

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
