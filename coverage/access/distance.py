"""Distances from the population to the nearest point, and their aggregates.

An array core on metre coordinates (:func:`nearest_distance_m`,
:func:`share_within`, :func:`weighted_quantile`, :func:`aggregate_access`) that
never loops over communes or cells, and :func:`compute_access`, which measures a
population surface against a point layer. Aggregates sort the locations by
distance once and then by group in linear time (the group-sort aggregation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from ..errors import InputError
from ..geo import WGS84
from ..model import DEFAULT_CELL_M
from .core import (
    AccessResult,
    PopulationSurface,
    _check_thresholds,
    _point_arrays,
    threshold_label,
)
from .surface import build_population_grid

__all__ = [
    "aggregate_access",
    "compute_access",
    "nearest_distance_m",
    "share_within",
    "weighted_quantile",
]


def nearest_distance_m(
    cell_xy: np.ndarray, point_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every location to its nearest point (k-d tree, all cores).

    Parameters
    ----------
    cell_xy
        ``(n, 2)`` coordinates in a metric CRS, metres.
    point_xy
        ``(m, 2)`` coordinates of the service points in the same CRS.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Distance in metres (float64) and index of the nearest point (int64). With no
        points the distances are ``inf`` and the indices ``-1``.
    """
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    point_xy = np.asarray(point_xy, dtype=float).reshape(-1, 2)
    if not (np.isfinite(cell_xy).all() and np.isfinite(point_xy).all()):
        msg = "coordinates must be finite numbers (metres); found NaN or infinity"
        raise InputError(msg)
    n = len(cell_xy)
    if len(point_xy) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    tree = cKDTree(point_xy)
    dist, idx = tree.query(cell_xy, k=1, workers=-1)
    return np.asarray(dist, dtype=float), np.asarray(idx, dtype=np.int64)


def share_within(
    dist_m: np.ndarray, pop: np.ndarray, thresholds_m: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the population and its share within each threshold.

    Parameters
    ----------
    dist_m
        Distance of each location to its nearest point, metres (``inf`` = none).
    pop
        Population of each location.
    thresholds_m
        Thresholds in metres.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Population within each threshold (``dist <= t``) and its share of the total
        (NaN when the total is 0), one value per threshold.
    """
    dist = np.asarray(dist_m, dtype=float)
    weights = np.asarray(pop, dtype=float)
    t = np.atleast_1d(np.asarray(thresholds_m, dtype=float))
    order = np.argsort(dist, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(weights[order])])
    within = cum[np.searchsorted(dist[order], t, side="right")]
    total = cum[-1]
    share = within / total if total > 0 else np.full(len(t), np.nan)
    return within, share


def weighted_quantile(
    values: np.ndarray,
    weights: np.ndarray,
    q: float,
    groups: np.ndarray | None = None,
    *,
    n_groups: int | None = None,
) -> np.ndarray:
    """Population-weighted quantile, optionally per group.

    The quantile is the smallest value ``v`` such that the weight of values ``<= v``
    is at least ``q`` of the group's weight (the lower inverse of the weighted CDF).

    Parameters
    ----------
    values, weights
        One value and one weight (>= 0) per item.
    q
        Quantile in [0, 1].
    groups
        Integer group code per item in ``[0, n_groups)`` (``-1`` ignored); ``None``
        for a single group.
    n_groups
        Number of groups (default ``groups.max() + 1``).

    Returns
    -------
    numpy.ndarray
        The quantile per group (NaN for a group of zero weight).
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if groups is None:
        groups = np.zeros(len(values), dtype=np.int64)
        n_groups = 1
    groups = np.asarray(groups, dtype=np.int64)
    if n_groups is None:
        n_groups = int(groups.max()) + 1 if len(groups) else 0
    keep = (groups >= 0) & (weights > 0)
    v, w, g = values[keep], weights[keep], groups[keep]
    return _sorted_quantile(v, w, g, _group_order(v, g), q, n_groups)


def _group_order(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Return ``np.lexsort((values, groups))``, by two stable sorts (much faster)."""
    order = np.argsort(values, kind="stable")
    return order[_stable_argsort_codes(groups[order])]


def _group_order_from(
    dist_order: np.ndarray, valid: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Return ``_group_order(dist[valid], groups)`` from the sort of all of ``dist``.

    Dropping the invalid positions from a stable sort of all locations leaves the
    stable sort of the valid ones (ties stay in position order), so only the cheap
    sort by group remains.
    """
    rank = np.cumsum(valid, dtype=np.int64) - 1
    by_dist = rank[dist_order[valid[dist_order]]]
    return by_dist[_stable_argsort_codes(groups[by_dist])]


def _stable_argsort_codes(codes: np.ndarray) -> np.ndarray:
    """Stable argsort of group codes (>= 0), by 16-bit radix passes when possible.

    NumPy's stable sort is a radix sort for 16-bit keys (linear time) and a merge
    sort otherwise; the permutation is the same.
    """
    codes = np.asarray(codes)
    if len(codes) == 0:
        return np.empty(0, dtype=np.intp)
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi >= 2**32:
        return np.argsort(codes, kind="stable")
    if lo == hi:  # one group (the overall level): already in order
        return np.arange(len(codes), dtype=np.intp)
    if hi < 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    high = (codes[order] >> 16).astype(np.uint16)
    return order[np.argsort(high, kind="stable")]


def _sorted_quantile(
    v: np.ndarray,
    w: np.ndarray,
    g: np.ndarray,
    order: np.ndarray,
    q: float,
    n_groups: int,
) -> np.ndarray:
    """Weighted quantile per group of :func:`weighted_quantile`, given its order."""
    v, w, g = v[order], w[order], g[order]
    totals = np.bincount(g, weights=w, minlength=n_groups)
    counts = np.bincount(g, minlength=n_groups)
    ends = np.cumsum(counts)
    starts = ends - counts
    cum = np.cumsum(w)
    before = np.concatenate([[0.0], cum])[starts]
    target = before + q * totals
    # a relative slack so that q * total reached by rounding still selects the item
    slack = 1e-12 * np.maximum(cum[-1] if len(cum) else 0.0, 1.0)
    pos = np.searchsorted(cum, target - slack, side="left")
    pos = np.clip(pos, starts, np.maximum(ends - 1, starts))
    out = np.full(n_groups, np.nan)
    has = totals > 0
    out[has] = v[pos[has]]
    return out


def aggregate_access(
    dist_m: np.ndarray,
    pop: np.ndarray,
    groups: np.ndarray | Sequence[Any],
    *,
    thresholds_km: Sequence[float],
    x_m: np.ndarray | None = None,
    y_m: np.ndarray | None = None,
    crs: Any = None,
    index: Sequence[Any] | pd.Index | None = None,
    order: np.ndarray | None = None,
) -> pd.DataFrame:
    """Aggregate per-location distances to groups (communes, districts, provinces).

    Parameters
    ----------
    dist_m
        Distance of each location to its nearest point, metres.
    pop
        Population of each location.
    groups
        Group label of each location (any hashable; NaN is a group of its own).
    thresholds_km
        Thresholds to report, km.
    x_m, y_m
        Location coordinates, metres; when given the farthest populated location
        of each group is reported (``farthest_lon, farthest_lat`` when ``crs`` is
        given, else ``farthest_x_m, farthest_y_m``).
    crs
        CRS of ``x_m, y_m``.
    index
        Labels of the rows to report, in order (groups without locations get
        ``pop_surface = 0`` and NaN figures); default the sorted distinct labels.
    order
        ``np.argsort(dist_m, kind="stable")`` when already known (e.g.
        :attr:`AccessResult.dist_order`): the call then skips its distance sort.
        Same result as without it.

    Returns
    -------
    pandas.DataFrame
        Indexed by group label, columns ``pop_surface, n_locations,
        mean_distance_km, p90_distance_km, max_distance_km, [farthest_*],
        pop_within_{t}, share_within_{t}`` per threshold. Distances are
        population-weighted over populated locations; a group whose locations all
        lack a point (infinite distance) has NaN distances and share 0.
    """
    dist = np.asarray(dist_m, dtype=float)
    weights = np.asarray(pop, dtype=float)
    labels = pd.Series(np.asarray(groups, dtype=object) if len(dist) else [])
    if index is None:
        codes, uniques = pd.factorize(labels, sort=True, use_na_sentinel=False)
        index = pd.Index(uniques)
    else:
        index = pd.Index(index)
        codes = _label_codes(labels, index)
    return _aggregate_codes(
        dist,
        weights,
        np.asarray(codes, dtype=np.int64),
        index,
        thresholds_km=thresholds_km,
        x_m=x_m,
        y_m=y_m,
        crs=crs,
        dist_order=_checked_order(order, len(dist)),
    )


def _label_codes(labels: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of every label in ``index`` (``-1`` for NaN labels not in it)."""
    codes = index.get_indexer(labels)
    if (codes < 0).any() and not labels[codes < 0].isna().all():
        missing = labels[codes < 0].dropna().unique()[:5]
        msg = f"group labels not in the index: {list(missing)}"
        raise InputError(msg)
    return codes


def _checked_order(order: np.ndarray | None, n: int) -> np.ndarray | None:
    if order is None:
        return None
    order = np.asarray(order)
    if order.shape != (n,) or not np.issubdtype(order.dtype, np.integer):
        msg = (
            "order must hold one integer position per location: "
            "np.argsort(dist_m, kind='stable')"
        )
        raise InputError(msg)
    return order


def _aggregate_codes(
    dist: np.ndarray,
    weights: np.ndarray,
    codes: np.ndarray,
    index: pd.Index,
    *,
    thresholds_km: Sequence[float],
    x_m: np.ndarray | None,
    y_m: np.ndarray | None,
    crs: Any,
    dist_order: np.ndarray | None,
) -> pd.DataFrame:
    """Body of :func:`aggregate_access` on integer group codes (``-1`` skipped)."""
    n = len(index)
    valid = (codes >= 0) & (weights > 0)
    c, d, w = codes[valid], dist[valid], weights[valid]
    finite = np.isfinite(d)
    total = np.bincount(c, weights=w, minlength=n)
    n_loc = np.bincount(c, minlength=n)
    reached = np.bincount(c[finite], weights=w[finite], minlength=n)
    sum_wd = np.bincount(c[finite], weights=w[finite] * d[finite], minlength=n)
    all_reached = (total > 0) & (reached >= total)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(all_reached, sum_wd / np.where(total > 0, total, 1), np.nan)
    # one sort serves the percentile and the farthest location
    if dist_order is None:
        order = _group_order(d, c)
    else:
        order = _group_order_from(dist_order, valid, c)
    p90 = _sorted_quantile(d, w, c, order, 0.9, n)
    p90[~all_reached] = np.nan
    out = pd.DataFrame(index=index)
    out["pop_surface"] = total
    out["n_locations"] = n_loc
    out["mean_distance_km"] = mean / 1000.0
    out["p90_distance_km"] = p90 / 1000.0
    # the farthest location: the last one of each group after sorting by distance
    last = np.full(n, -1, dtype=np.int64)
    last[c[order]] = order
    has = (last >= 0) & all_reached
    max_d = np.full(n, np.nan)
    max_d[has] = d[last[has]]
    out["max_distance_km"] = max_d / 1000.0
    if x_m is not None and y_m is not None:
        fx = np.full(n, np.nan)
        fy = np.full(n, np.nan)
        at = np.flatnonzero(valid)[last[has]]
        fx[has] = np.asarray(x_m, dtype=float)[at]
        fy[has] = np.asarray(y_m, dtype=float)[at]
        if crs is not None:
            lon, lat = _to_lonlat(fx, fy, crs)
            out["farthest_lon"] = lon
            out["farthest_lat"] = lat
        else:
            out["farthest_x_m"] = fx
            out["farthest_y_m"] = fy
    for t in _check_thresholds(thresholds_km):
        inside = d <= t * 1000.0
        within = np.bincount(c[inside], weights=w[inside], minlength=n)
        label = threshold_label(t)
        out[f"pop_within_{label}"] = within
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"share_within_{label}"] = np.where(
                total > 0, within / np.where(total > 0, total, 1), np.nan
            )
    return out


def _to_lonlat(x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    transformer = Transformer.from_crs(CRS.from_user_input(crs), WGS84, always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def compute_access(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_km: Sequence[float] = (2.0, 3.0, 5.0),
    cell_m: float = DEFAULT_CELL_M,
    surface: PopulationSurface | None = None,
) -> AccessResult:
    """Distance from the population to the nearest service point, per commune.

    Parameters
    ----------
    communes
        Layer with ``commune_code``, ``population`` and polygons, any CRS;
        ``district_name`` / ``province_name`` are kept for
        :meth:`AccessResult.aggregate`.
    points
        Service points (any CRS; points with a missing geometry are ignored).
    thresholds_km
        Distance thresholds, km.
    cell_m
        Grid cell size when ``surface`` is not given, metres.
    surface
        A population surface built from the same communes (grid, settlements or
        raster); default :func:`build_population_grid`.

    Returns
    -------
    AccessResult
        ``communes`` has, per commune in input order: ``commune_code, pop_surface,
        pop_unplaced, n_locations, mean_distance_km, p90_distance_km,
        max_distance_km, farthest_lon, farthest_lat`` and ``pop_within_{t}km,
        share_within_{t}km`` per threshold. Communes without population have NaN
        distances and shares.

    Raises
    ------
    InputError
        No usable service point, bad thresholds, or a surface built from other
        communes.
    """
    thresholds = _check_thresholds(thresholds_km)
    if surface is None:
        surface = build_population_grid(communes, cell_m=cell_m)
    codes = communes["commune_code"].astype(str).to_numpy(dtype=object)
    if len(codes) != len(surface.codes) or (codes != surface.codes).any():
        msg = (
            "the population surface was built from other communes; build it from "
            "the same commune layer"
        )
        raise InputError(msg)
    point_xy, point_ids, _ = _point_arrays(points, surface.crs)
    if len(point_xy) == 0:
        msg = (
            "the service-point layer has no point with a location, so every distance "
            "would be infinite; check the file and the --kinds filter"
        )
        raise InputError(msg)
    dist, idx = nearest_distance_m(surface.xy, point_xy)
    order = np.argsort(dist, kind="stable")
    table = _aggregate_codes(
        dist,
        surface.pop,
        np.asarray(surface.commune, dtype=np.int64),
        pd.RangeIndex(len(codes)),
        thresholds_km=thresholds,
        x_m=surface.x_m,
        y_m=surface.y_m,
        crs=surface.crs,
        dist_order=order,
    )
    table.insert(0, "commune_code", codes)
    table.insert(2, "pop_unplaced", surface.pop_unplaced)
    table = table.reset_index(drop=True)
    group_cols = [c for c in ("district_name", "province_name") if c in communes]
    groups = communes[group_cols].reset_index(drop=True).astype(object)
    result = AccessResult(
        communes=table,
        surface=surface,
        dist_m=dist,
        nearest_idx=idx,
        point_ids=point_ids,
        point_xy=point_xy,
        thresholds_km=tuple(thresholds),
        groups=groups,
        notes=list(surface.notes),
    )
    result.__dict__["_dist_order"] = (dist, order)
    return result
