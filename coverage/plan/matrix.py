"""Coverage matrix of demand by sites, and the reduction of a siting problem.

:func:`build_coverage_matrix` and :func:`covered_by` work on metric coordinates.
:func:`_reduce` shrinks a problem before it is solved: zero-population and already
covered demand is dropped, demand rows with the same set of covering candidates are
merged with summed weights, and dominated candidates are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = [
    "DISTANCE_TOLERANCE_M",
    "DOMINANCE_MAX_WORK",
    "build_coverage_matrix",
    "covered_by",
]

#: Distances up to the radius plus this count as within it, so that grid points at
#: exactly the radius do not flip with the round-off of a reprojection.
DISTANCE_TOLERANCE_M = 1e-3
#: Dominated candidates are searched when the overlap product costs at most this.
DOMINANCE_MAX_WORK = 50_000_000


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
