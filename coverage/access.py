"""Distance-based access: how far people live from the nearest service point.

Two layers, as in spopt but always metric:

* an array core on metre coordinates (:func:`nearest_distance_m`,
  :func:`share_within`, :func:`weighted_quantile`, :func:`aggregate_access`) that
  never loops over communes or cells;
* layer functions that build a population surface from the communes
  (:func:`build_population_grid`, :func:`population_from_settlements`,
  :func:`population_from_raster`), measure distances (:func:`compute_access`), and
  derive uncovered zones (:func:`uncovered_zones`), per-point catchments
  (:func:`point_catchments`) and distance-rule verdicts
  (:func:`evaluate_distance_rules`).

Every distance is a straight line measured in the metric CRS of the communes (their
UTM zone unless they are already projected in metres); lon/lat input is projected
first, nothing is ever measured in degrees.

Decisions
---------
* Population totals are preserved exactly: per-location populations are multiples of
  ``2**-20`` person (the remainder of a commune goes to its last location), so every
  sum of them is exact in float64 for totals below 8.5 billion.
* A commune whose polygon contains no cell centre keeps its population on one
  location, a point on its surface.
* A commune with a missing or empty geometry gets no location; its population is
  reported as ``pop_unplaced`` (per commune, per group and in ``notes``), never
  silently dropped. Shares and distances are computed over the placed population.
* :func:`compute_access` raises :class:`InputError` when the point layer has no
  usable point: every distance would be infinite. The array core itself accepts no
  points and returns infinite distances (index ``-1``), which count as "not within"
  any threshold and appear as NaN distances in the aggregates.
* A location is "within" a threshold when its distance is ``<=`` the threshold;
  an uncovered zone holds the populated locations strictly farther.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from .benchmarks import Benchmark, DistanceRule
from .errors import InputError
from .geo import WGS84, area_km2, metric_crs, require_crs

__all__ = [
    "AccessResult",
    "PopulationSurface",
    "aggregate_access",
    "build_population_grid",
    "compute_access",
    "evaluate_distance_rules",
    "nearest_distance_m",
    "point_catchments",
    "population_from_raster",
    "population_from_settlements",
    "share_within",
    "threshold_label",
    "uncovered_zones",
    "weighted_quantile",
]

_QUANTUM = 2.0**-20
_CHUNK_CELLS = 1_000_000

#: Footprint of a surface location: a grid cell, the whole (tiny) commune polygon,
#: or a square of ``cell_m`` around a point (settlements, raster pixels).
FOOTPRINT_CELL = 0
FOOTPRINT_COMMUNE = 1
FOOTPRINT_POINT = 2


@dataclass
class PopulationSurface:
    """Population located at points in a metric CRS.

    Attributes
    ----------
    x_m, y_m : numpy.ndarray
        Coordinates of every location (cell centre, settlement, pixel), metres.
    pop : numpy.ndarray
        Population at each location (float, >= 0).
    commune : numpy.ndarray
        Position (0-based row number in ``codes``) of the commune of each location.
    codes : numpy.ndarray
        Commune codes, one per commune row of the input layer, in input order.
    cell_m : float
        Grid cell size (or the nominal footprint of a point location), metres.
    crs : pyproj.CRS
        The metric CRS of the coordinates.
    footprint : numpy.ndarray
        ``0`` grid cell, ``1`` representative point of a commune too small for any
        cell centre, ``2`` point location (settlement or raster pixel).
    ix, iy : numpy.ndarray
        Grid column and row of grid cells (``-1`` for other locations).
    origin_m : tuple of float
        Lower-left corner of the grid, metres.
    pop_unplaced : numpy.ndarray
        Population of each commune that could not be placed (missing or empty
        geometry; settlements mode without settlements and ``rescale=False``).
    commune_geoms : numpy.ndarray
        Commune geometries in ``crs`` (used to clip zones and catchments).
    source : str
        ``"uniform"``, ``"settlements"`` or ``"raster"``.
    notes : list of str
        Things the planner should know (unplaced population, dropped inputs).
    """

    x_m: np.ndarray
    y_m: np.ndarray
    pop: np.ndarray
    commune: np.ndarray
    codes: np.ndarray
    cell_m: float
    crs: CRS
    footprint: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    origin_m: tuple[float, float]
    pop_unplaced: np.ndarray
    commune_geoms: np.ndarray
    source: str = "uniform"
    notes: list[str] = field(default_factory=list)

    @property
    def xy(self) -> np.ndarray:
        """Coordinates as an ``(n, 2)`` array, metres."""
        return np.column_stack([self.x_m, self.y_m])

    @property
    def commune_code(self) -> np.ndarray:
        """Commune code of every location."""
        return self.codes[self.commune]

    def __len__(self) -> int:
        return len(self.pop)


@dataclass
class AccessResult:
    """Distances from the population surface to the nearest service point.

    Attributes
    ----------
    communes : pandas.DataFrame
        One row per commune (input order): see :func:`compute_access`.
    surface : PopulationSurface
        The population surface used.
    dist_m : numpy.ndarray
        Distance of every surface location to its nearest point, metres.
    nearest_idx : numpy.ndarray
        Position of that point among ``point_ids`` / ``point_xy``.
    point_ids : numpy.ndarray
        Identifiers of the usable points (non-empty geometry), in layer order.
    point_xy : numpy.ndarray
        Their coordinates in ``surface.crs``, metres.
    thresholds_km : tuple of float
        Thresholds reported in ``communes``.
    groups : pandas.DataFrame
        Per-commune grouping columns (``district_name``, ``province_name`` when
        present), aligned with ``communes``.
    notes : list of str
        Things the planner should know.
    """

    communes: pd.DataFrame
    surface: PopulationSurface
    dist_m: np.ndarray
    nearest_idx: np.ndarray
    point_ids: np.ndarray
    point_xy: np.ndarray
    thresholds_km: tuple[float, ...]
    groups: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def dist_order(self) -> np.ndarray:
        """``np.argsort(dist_m, kind="stable")``, computed once and kept.

        Every aggregation needs the locations sorted by distance; with this sort at
        hand each one only sorts by group, in linear time.
        """
        cached = self.__dict__.get("_dist_order")
        # keyed on the array so that a replaced dist_m is not served a stale order
        if cached is not None and cached[0] is self.dist_m:
            return cached[1]
        order = np.argsort(self.dist_m, kind="stable")
        self.__dict__["_dist_order"] = (self.dist_m, order)
        return order

    def aggregate_by(
        self,
        labels: np.ndarray | Sequence[Any],
        *,
        index: Sequence[Any] | pd.Index | None = None,
        thresholds_km: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Aggregate the cells to any grouping of the communes.

        The same table as ``aggregate_access(dist_m, surface.pop,
        labels[surface.commune], x_m=surface.x_m, y_m=surface.y_m,
        crs=surface.crs, index=index)``, but reusing :attr:`dist_order`: repeated
        calls (overall, districts, provinces) sort the cells by distance once.

        Parameters
        ----------
        labels
            One group label per commune row (input order), any hashable, e.g.
            composite ``province + district`` strings; NaN is a group of its own.
        index
            Labels of the rows to report, in order (groups without locations get
            ``pop_surface = 0`` and NaN figures); default the sorted distinct
            labels of the communes that have locations.
        thresholds_km
            Thresholds to report; default :attr:`thresholds_km`.

        Returns
        -------
        pandas.DataFrame
            Indexed by label, the columns of :func:`aggregate_access`.
        """
        surface = self.surface
        values = np.asarray(labels, dtype=object)
        if values.shape != (len(surface.codes),):
            msg = (
                f"labels must hold one value per commune ({len(surface.codes)}), "
                f"got shape {values.shape}"
            )
            raise InputError(msg)
        located = np.bincount(surface.commune, minlength=len(values)) > 0
        series = pd.Series(values)
        if index is None:
            codes, uniques = pd.factorize(
                series[located], sort=True, use_na_sentinel=False
            )
            index = pd.Index(uniques)
            commune_codes = np.full(len(values), -1, dtype=np.int64)
            commune_codes[located] = codes
        else:
            index = pd.Index(index)
            commune_codes = np.asarray(index.get_indexer(series), dtype=np.int64)
            _label_codes(series[located], index)
        return _aggregate_codes(
            self.dist_m,
            surface.pop,
            commune_codes[surface.commune],
            index,
            thresholds_km=self.thresholds_km
            if thresholds_km is None
            else thresholds_km,
            x_m=surface.x_m,
            y_m=surface.y_m,
            crs=surface.crs,
            dist_order=self.dist_order,
        )

    def aggregate(
        self, by: str | None = None, *, thresholds_km: Sequence[float] | None = None
    ) -> pd.DataFrame:
        """Aggregate the cells to a level.

        Parameters
        ----------
        by
            ``None`` for one overall row (``unit = "all"``), ``"commune_code"``, or a
            grouping column of the communes such as ``"district_name"`` or
            ``"province_name"``.
        thresholds_km
            Thresholds to report; default :attr:`thresholds_km`.

        Returns
        -------
        pandas.DataFrame
            Rows keyed by the ``by`` column (or ``unit``) with the columns of
            :func:`aggregate_access` plus ``pop_unplaced``. Percentiles and maxima
            come from the cells of each group, not from commune figures.
        """
        labels = self._commune_labels(by)
        key = "unit" if by is None else by
        index = pd.Index(pd.unique(labels)).dropna()
        if pd.isna(labels).any():
            index = index.append(pd.Index([np.nan]))
        table = self.aggregate_by(labels, index=index, thresholds_km=thresholds_km)
        unplaced = (
            pd.Series(self.surface.pop_unplaced)
            .groupby(pd.Series(labels), dropna=False)
            .sum()
        )
        table.insert(1, "pop_unplaced", unplaced.reindex(table.index).to_numpy())
        table.index.name = key
        return table.reset_index()

    def _commune_labels(self, by: str | None) -> np.ndarray:
        n = len(self.communes)
        if by is None:
            return np.full(n, "all", dtype=object)
        if by == "commune_code":
            return self.communes["commune_code"].to_numpy(dtype=object)
        if by not in self.groups.columns:
            msg = (
                f"cannot aggregate access by {by!r}: the communes have no such column "
                f"(available: commune_code, {', '.join(self.groups.columns) or '-'})"
            )
            raise InputError(msg)
        return self.groups[by].to_numpy(dtype=object)


# ----------------------------------------------------------------------------------
# array core


def threshold_label(t_km: float) -> str:
    """Format a threshold for column names: ``2 -> "2km"``, ``4.83 -> "4.83km"``.

    Parameters
    ----------
    t_km
        Threshold in kilometres (shown with up to 6 decimals).
    """
    text = f"{float(t_km):.6f}".rstrip("0").rstrip(".")
    return f"{text}km"


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


def _check_thresholds(thresholds_km: Iterable[float]) -> list[float]:
    try:
        values = sorted({float(t) for t in thresholds_km})
    except (TypeError, ValueError):
        msg = f"thresholds must be numbers of km, got {thresholds_km!r}"
        raise InputError(msg) from None
    if any(not (np.isfinite(t) and t > 0) for t in values):
        msg = f"thresholds must be positive finite km, got {values}"
        raise InputError(msg)
    labels = [threshold_label(t) for t in values]
    if len(set(labels)) != len(labels):
        msg = f"thresholds closer than 1 mm cannot be told apart: {values}"
        raise InputError(msg)
    return values


def _to_lonlat(x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    transformer = Transformer.from_crs(CRS.from_user_input(crs), WGS84, always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


# ----------------------------------------------------------------------------------
# population surfaces


def _spread_exact(
    weights: np.ndarray, groups: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Scale ``weights`` so each group sums exactly to its total (see module notes)."""
    n_groups = len(totals)
    wsum = np.bincount(groups, weights=weights, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(wsum[groups] > 0, weights * totals[groups] / wsum[groups], 0.0)
    values = np.floor(raw / _QUANTUM) * _QUANTUM
    placed = np.bincount(groups, weights=values, minlength=n_groups)
    remainder = totals - placed
    last = np.full(n_groups, -1, dtype=np.int64)
    last[groups] = np.arange(len(groups))
    ok = last >= 0
    values[last[ok]] += remainder[ok]
    return values


def _commune_arrays(
    communes: gpd.GeoDataFrame, crs: Any
) -> tuple[CRS, np.ndarray, np.ndarray, np.ndarray]:
    """Check the commune layer; return metric CRS, geometries, codes, population."""
    if not isinstance(communes, gpd.GeoDataFrame):
        msg = "communes must be a GeoDataFrame with commune_code and population"
        raise InputError(msg)
    missing = [c for c in ("commune_code", "population") if c not in communes.columns]
    if missing:
        msg = f"the communes layer lacks column(s) {', '.join(missing)}"
        raise InputError(msg)
    require_crs(communes, what="the communes layer", operation="measuring distances")
    target = CRS.from_user_input(crs) if crs is not None else metric_crs(communes)
    if not target.is_projected:
        msg = f"distances need a projected CRS in metres, got {target.to_string()}"
        raise InputError(msg)
    geoms = np.asarray(communes.geometry.to_crs(target).values, dtype=object)
    pop = pd.to_numeric(communes["population"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        names = communes["commune_code"].astype(str).to_numpy()[bad][:5]
        msg = "population must be a finite number >= 0; check commune(s) " + ", ".join(
            names
        )
        raise InputError(msg)
    codes = communes["commune_code"].astype(str).to_numpy(dtype=object)
    return target, geoms, codes, pop


def _usable(geoms: np.ndarray) -> np.ndarray:
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _assign_to_communes(
    polygons: np.ndarray, px: np.ndarray, py: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (location index, polygon index) for locations inside a polygon.

    A location on the shared edge of two polygons goes to the first one.
    """
    if len(px) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # the tree holds the points and the polygons are the (prepared) queries: about
    # three times faster than querying points against a tree of polygons
    tree = shapely.STRtree(shapely.points(px, py))
    com, loc = tree.query(polygons, predicate="covers")
    order = np.lexsort((com, loc))
    loc, com = loc[order], com[order]
    first = np.ones(len(loc), dtype=bool)
    first[1:] = loc[1:] != loc[:-1]
    return loc[first].astype(np.int64), com[first].astype(np.int64)


_EDGE_EPS_M = 1e-4


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (range number, value) for every integer of the ranges ``[lo, hi)``."""
    n = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(n)), n)
    return which, lo[which] + (np.arange(len(which)) - (np.cumsum(n) - n)[which])


def _grid_cells_in_polygons(
    polygons: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (column, row, polygon) of the grid centres covered by valid polygons.

    Same answer as ``_assign_to_communes`` on every centre of the grid (a centre on
    a shared edge goes to the first polygon), in row-major order, without building a
    point per cell: the rings are scanned row by row (even-odd crossings), and only
    centres within ``_EDGE_EPS_M`` of a crossing, or on a row passing within it of a
    vertex, are decided by GEOS.
    """
    ncol, nrow, eps = len(xs), len(ys), _EDGE_EPS_M
    parts, part_owner = shapely.get_parts(polygons, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    vertex_owner = part_owner[ring_part][ring_idx]
    edge = np.flatnonzero(ring_idx[:-1] == ring_idx[1:])
    x0, y0 = coords[edge, 0], coords[edge, 1]
    x1, y1 = coords[edge + 1, 0], coords[edge + 1, 1]
    lo = np.searchsorted(ys, np.minimum(y0, y1), "left")
    hi = np.searchsorted(ys, np.maximum(y0, y1), "left")
    e, row = _expand(lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = x0[e] + (ys[row] - y0[e]) * ((x1[e] - x0[e]) / (y1[e] - y0[e]))
    key = vertex_owner[edge][e] * np.int64(nrow) + row
    order = np.lexsort((xc, key))
    key, xc = key[order], xc[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    # rows whose crossings cannot be trusted: odd counts, or a vertex near the row
    v, vrow = _expand(
        np.searchsorted(ys, coords[:, 1] - eps, "left"),
        np.searchsorted(ys, coords[:, 1] + eps, "right"),
    )
    bad = np.union1d(
        key[starts[sizes % 2 == 1]], vertex_owner[v] * np.int64(nrow) + vrow
    )
    good = ~np.isin(key, bad)
    rank = np.arange(len(key)) - np.repeat(starts, sizes)
    left = np.flatnonzero(good & (rank % 2 == 0))
    k, col = _expand(
        np.searchsorted(xs, xc[left] + eps, "right"),
        np.searchsorted(xs, xc[left + 1] - eps, "left"),
    )
    sure_key = key[left][k]
    # centres near a crossing, and every centre of an untrusted row, go to GEOS
    near = np.flatnonzero(good)
    k1, col1 = _expand(
        np.searchsorted(xs, xc[near] - eps, "left"),
        np.searchsorted(xs, xc[near] + eps, "right"),
    )
    bounds = shapely.bounds(polygons)
    bad_owner = bad // nrow
    k2, col2 = _expand(
        np.searchsorted(xs, bounds[bad_owner, 0] - eps, "left"),
        np.searchsorted(xs, bounds[bad_owner, 2] + eps, "right"),
    )
    test_key = np.concatenate([key[near][k1], bad[k2]])
    test_col = np.concatenate([col1, col2])
    hit = shapely.intersects_xy(
        polygons[test_key // nrow], xs[test_col], ys[test_key % nrow]
    )
    all_key = np.concatenate([sure_key, test_key[hit]])
    all_col = np.concatenate([col, test_col[hit]])
    owner, row = np.divmod(all_key, nrow)
    cell = row * np.int64(ncol) + all_col
    order = np.lexsort((owner, cell))
    cell, owner = cell[order], owner[order]
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    row, col = np.divmod(cell[first], ncol)
    return col, row, owner[first]


def _unplaced_notes(codes: np.ndarray, pop_unplaced: np.ndarray) -> list[str]:
    bad = pop_unplaced > 0
    if not bad.any():
        return []
    listed = ", ".join(str(c) for c in codes[bad][:10])
    more = f" and {int(bad.sum()) - 10} more" if bad.sum() > 10 else ""
    return [
        f"{int(bad.sum())} commune(s) with population but no usable geometry "
        f"({listed}{more}): {pop_unplaced.sum():,.0f} people are not on the "
        "population surface and are reported as pop_unplaced"
    ]


def build_population_grid(
    communes: gpd.GeoDataFrame, *, cell_m: float = 250.0, crs: Any = None
) -> PopulationSurface:
    """Spread each commune's population uniformly over a square grid.

    Cells whose centre lies inside a commune share its population equally; a
    commune too small to hold any cell centre keeps its population on a point on
    its surface; a commune with a missing or empty geometry is reported in
    ``pop_unplaced``. Totals per commune are preserved exactly.

    Parameters
    ----------
    communes
        Layer with ``commune_code``, ``population`` and polygons, any CRS.
    cell_m
        Cell size, metres (250 m: about 16 cells per km²).
    crs
        Metric CRS to work in; default the UTM zone of the communes.

    Returns
    -------
    PopulationSurface
        Only populated locations (communes of population 0 contribute none).

    Raises
    ------
    InputError
        Missing columns, negative population, a non-positive cell size.
    """
    if not (np.isfinite(cell_m) and cell_m > 0):
        msg = f"cell size must be a positive number of metres, got {cell_m}"
        raise InputError(msg)
    target, geoms, codes, totals = _commune_arrays(communes, crs)
    cell_m = float(cell_m)
    usable = _usable(geoms)
    n_com = len(geoms)
    loc_x: list[np.ndarray] = []
    loc_y: list[np.ndarray] = []
    loc_c: list[np.ndarray] = []
    loc_ix: list[np.ndarray] = []
    loc_iy: list[np.ndarray] = []
    origin = (0.0, 0.0)
    populated = usable & (totals > 0)
    if populated.any():
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[populated])
        origin = (float(minx), float(miny))
        ncol = max(1, int(np.ceil((maxx - minx) / cell_m)))
        nrow = max(1, int(np.ceil((maxy - miny) / cell_m)))
        idx_map = np.flatnonzero(populated)
        polys = geoms[populated]
        xs = minx + (np.arange(ncol) + 0.5) * cell_m
        rows_per_chunk = max(1, _CHUNK_CELLS // ncol)
        scan = (
            shapely.is_valid(polys).all()
            and (
                (shapely.get_type_id(polys) == 3) | (shapely.get_type_id(polys) == 6)
            ).all()
        )
        if scan:
            gx, gy, com = _grid_cells_in_polygons(
                polys, xs, miny + (np.arange(nrow) + 0.5) * cell_m
            )
            loc_x.append(xs[gx])
            loc_y.append(miny + (gy + 0.5) * cell_m)
            loc_c.append(idx_map[com])
            loc_ix.append(gx)
            loc_iy.append(gy)
        for r0 in range(0, nrow if not scan else 0, rows_per_chunk):
            rows = np.arange(r0, min(nrow, r0 + rows_per_chunk))
            gx, gy = np.meshgrid(np.arange(ncol), rows)
            gx, gy = gx.ravel(), gy.ravel()
            px = xs[gx]
            py = miny + (gy + 0.5) * cell_m
            loc, com = _assign_to_communes(polys, px, py)
            loc_x.append(px[loc])
            loc_y.append(py[loc])
            loc_c.append(idx_map[com])
            loc_ix.append(gx[loc])
            loc_iy.append(gy[loc])
    x = np.concatenate(loc_x) if loc_x else np.empty(0)
    y = np.concatenate(loc_y) if loc_y else np.empty(0)
    com = np.concatenate(loc_c).astype(np.int64) if loc_c else np.empty(0, np.int64)
    ix = np.concatenate(loc_ix).astype(np.int64) if loc_ix else np.empty(0, np.int64)
    iy = np.concatenate(loc_iy).astype(np.int64) if loc_iy else np.empty(0, np.int64)
    footprint = np.zeros(len(x), dtype=np.int8)
    counts = np.bincount(com, minlength=n_com)
    tiny = populated & (counts == 0)
    if tiny.any():
        rep = shapely.point_on_surface(geoms[tiny])
        x = np.concatenate([x, shapely.get_x(rep)])
        y = np.concatenate([y, shapely.get_y(rep)])
        com = np.concatenate([com, np.flatnonzero(tiny)])
        ix = np.concatenate([ix, np.full(int(tiny.sum()), -1)])
        iy = np.concatenate([iy, np.full(int(tiny.sum()), -1)])
        footprint = np.concatenate(
            [footprint, np.full(int(tiny.sum()), FOOTPRINT_COMMUNE, np.int8)]
        )
    pop = _spread_exact(np.ones(len(x)), com, totals)
    pop_unplaced = np.where(usable, 0.0, totals)
    return PopulationSurface(
        x_m=x,
        y_m=y,
        pop=pop,
        commune=com,
        codes=codes,
        cell_m=cell_m,
        crs=target,
        footprint=footprint,
        ix=ix,
        iy=iy,
        origin_m=origin,
        pop_unplaced=pop_unplaced,
        commune_geoms=geoms,
        source="uniform",
        notes=_unplaced_notes(codes, pop_unplaced),
    )


def _surface_from_points(
    communes: gpd.GeoDataFrame,
    px: np.ndarray,
    py: np.ndarray,
    weight: np.ndarray,
    *,
    rescale: bool,
    cell_m: float,
    crs: CRS,
    source: str,
    what: str,
) -> PopulationSurface:
    target, geoms, codes, totals = _commune_arrays(communes, crs)
    usable = _usable(geoms)
    notes: list[str] = []
    keep = np.isfinite(px) & np.isfinite(py) & np.isfinite(weight) & (weight > 0)
    px, py, weight = px[keep], py[keep], weight[keep]
    loc, com = _assign_to_communes(geoms, px, py)
    outside = len(px) - len(loc)
    if outside:
        notes.append(
            f"{outside} {what} with {weight.sum() - weight[loc].sum():,.0f} people "
            "lie outside every commune and were left out"
        )
    px, py, weight = px[loc], py[loc], weight[loc]
    n_com = len(geoms)
    has = np.bincount(com, weights=weight, minlength=n_com) > 0
    footprint = np.full(len(px), FOOTPRINT_POINT, dtype=np.int8)
    ix = iy = np.full(len(px), -1, dtype=np.int64)
    origin = (0.0, 0.0)
    if rescale:
        pop = _spread_exact(weight, com, totals)
        fill = usable & ~has & (totals > 0)
        grid = None
        if fill.any():
            grid = build_population_grid(communes[fill], cell_m=cell_m, crs=target)
            notes.append(
                f"{int(fill.sum())} commune(s) without {what} keep their population "
                "spread uniformly over a grid"
            )
        pop_unplaced = np.where(usable, 0.0, totals)
        if grid is not None:
            fill_idx = np.flatnonzero(fill)
            # the fallback cells keep their grid index: footprints and zones need it
            ix = np.concatenate([np.full(len(px), -1, np.int64), grid.ix])
            iy = np.concatenate([np.full(len(px), -1, np.int64), grid.iy])
            origin = grid.origin_m
            px = np.concatenate([px, grid.x_m])
            py = np.concatenate([py, grid.y_m])
            pop = np.concatenate([pop, grid.pop])
            com = np.concatenate([com, fill_idx[grid.commune]])
            footprint = np.concatenate([footprint, grid.footprint])
    else:
        pop = np.floor(weight / _QUANTUM) * _QUANTUM
        pop_unplaced = np.zeros(n_com)
        empty = (totals > 0) & ~has
        if empty.any():
            notes.append(
                f"{int(empty.sum())} commune(s) have population in the commune "
                f"layer but no {what}; with rescale=False they count as unpopulated"
            )
    notes = _unplaced_notes(codes, pop_unplaced) + notes
    return PopulationSurface(
        x_m=np.asarray(px, float),
        y_m=np.asarray(py, float),
        pop=np.asarray(pop, float),
        commune=np.asarray(com, np.int64),
        codes=codes,
        cell_m=float(cell_m),
        crs=target,
        footprint=footprint,
        ix=np.asarray(ix, np.int64),
        iy=np.asarray(iy, np.int64),
        origin_m=origin,
        pop_unplaced=pop_unplaced,
        commune_geoms=geoms,
        source=source,
        notes=notes,
    )


def population_from_settlements(
    communes: gpd.GeoDataFrame,
    settlements: gpd.GeoDataFrame,
    *,
    rescale: bool = True,
    cell_m: float = 250.0,
    crs: Any = None,
) -> PopulationSurface:
    """Place population on settlement points (villages with a population).

    Parameters
    ----------
    communes
        Layer with ``commune_code``, ``population`` and polygons.
    settlements
        Points with a ``population`` column, any CRS.
    rescale
        ``True``: scale the settlements of each commune so they sum exactly to the
        commune's population (a commune without settlements falls back to the
        uniform grid). ``False``: use the settlement figures as given.
    cell_m
        Nominal footprint of a settlement (side of the square drawn for uncovered
        zones) and grid cell size of the fallback grid, metres.
    crs
        Metric CRS; default the UTM zone of the communes.

    Returns
    -------
    PopulationSurface
        Settlements outside every commune are left out (and named in ``notes``).
    """
    if "population" not in settlements.columns:
        msg = "the settlements layer needs a 'population' column (people per place)"
        raise InputError(msg)
    require_crs(settlements, what="the settlements layer", operation="placing people")
    target, *_ = _commune_arrays(communes, crs)
    geoms = np.asarray(settlements.geometry.to_crs(target).values, dtype=object)
    ok = _usable(geoms)
    pts = shapely.point_on_surface(geoms[ok])
    weight = pd.to_numeric(settlements["population"], errors="coerce").to_numpy(float)
    if (weight[np.isfinite(weight)] < 0).any():
        msg = "settlement population must be >= 0"
        raise InputError(msg)
    return _surface_from_points(
        communes,
        shapely.get_x(pts),
        shapely.get_y(pts),
        weight[ok],
        rescale=rescale,
        cell_m=cell_m,
        crs=target,
        source="settlements",
        what="settlement(s)",
    )


def _apply_affine(t: Any, col: Any, row: Any) -> tuple[Any, Any]:
    """Map pixel (col, row) to raster coordinates with an affine transform."""
    return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f


def population_from_raster(
    path: str | Path,
    communes: gpd.GeoDataFrame,
    *,
    rescale: bool = True,
    band: int = 1,
    crs: Any = None,
) -> PopulationSurface:
    """Place population on the pixels of a population raster (e.g. WorldPop).

    Parameters
    ----------
    path
        A GeoTIFF (or any raster rasterio reads) of people per pixel.
    communes
        Layer with ``commune_code``, ``population`` and polygons.
    rescale
        ``True``: scale the pixels of each commune to its population (a commune with
        no populated pixel falls back to the uniform grid); ``False``: use the
        raster counts as given.
    band
        Band number (1-based).
    crs
        Metric CRS; default the UTM zone of the communes.

    Returns
    -------
    PopulationSurface
        One location per populated pixel inside a commune (pixel centre).

    Raises
    ------
    InputError
        rasterio is not installed, the file is unreadable or has no CRS.
    """
    try:
        import rasterio
        from rasterio.windows import from_bounds
    except ImportError:
        msg = (
            "reading a population raster needs rasterio: "
            'pip install "coverage-planner[raster]"'
        )
        raise InputError(msg) from None
    target, *_ = _commune_arrays(communes, crs)
    try:
        src = rasterio.open(path)
    except (OSError, rasterio.errors.RasterioError) as exc:
        msg = f"{path}: cannot read the population raster ({exc})"
        raise InputError(msg) from None
    with src:
        if src.crs is None:
            msg = f"{path}: the raster has no CRS; set one (e.g. EPSG:4326)"
            raise InputError(msg)
        rcrs = CRS.from_user_input(src.crs.to_wkt())
        bounds = communes.to_crs(rcrs).total_bounds
        window = from_bounds(*bounds, transform=src.transform).round_offsets()
        window = window.round_lengths()
        data = src.read(band, window=window, masked=True, boundless=True)
        transform = src.window_transform(window)
    values = np.ma.filled(data.astype(float), 0.0)
    rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
    weight = values[rows, cols]
    xs, ys = _apply_affine(transform, cols + 0.5, rows + 0.5)
    to_metric = Transformer.from_crs(rcrs, target, always_xy=True)
    mx, my = to_metric.transform(np.asarray(xs, float), np.asarray(ys, float))
    # nominal pixel footprint in metres, measured at the centre of the window
    cx, cy = _apply_affine(transform, data.shape[1] / 2, data.shape[0] / 2)
    ax, ay = to_metric.transform(
        np.array([cx, cx + transform.a, cx]), np.array([cy, cy, cy + transform.e])
    )
    cell_m = float(
        np.sqrt(abs(np.hypot(ax[1] - ax[0], ay[1] - ay[0])))
        * np.sqrt(abs(np.hypot(ax[2] - ax[0], ay[2] - ay[0])))
    )
    return _surface_from_points(
        communes,
        np.asarray(mx, float),
        np.asarray(my, float),
        weight,
        rescale=rescale,
        cell_m=cell_m if np.isfinite(cell_m) and cell_m > 0 else 100.0,
        crs=target,
        source="raster",
        what="populated pixel(s)",
    )


# ----------------------------------------------------------------------------------
# access


def _point_arrays(
    points: gpd.GeoDataFrame, crs: CRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (xy, ids, usable mask) of the points with a non-empty geometry."""
    require_crs(points, what="the service-point layer", operation="measuring distances")
    geoms = np.asarray(points.geometry.to_crs(crs).values, dtype=object)
    ok = _usable(geoms)
    xy = shapely.get_coordinates(shapely.point_on_surface(geoms[ok])).reshape(-1, 2)
    if "point_id" in points.columns:
        ids = points["point_id"].astype(str).to_numpy(dtype=object)
    else:
        ids = np.asarray([str(i) for i in points.index], dtype=object)
    return xy, ids[ok], ok


def compute_access(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_km: Sequence[float] = (2.0, 3.0, 5.0),
    cell_m: float = 250.0,
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


# ----------------------------------------------------------------------------------
# uncovered zones


def _footprints(surface: PopulationSurface, sel: np.ndarray) -> np.ndarray:
    """Polygon of every selected location (grid square, commune, point square)."""
    out = np.empty(len(sel), dtype=object)
    kind = surface.footprint[sel]
    cell = kind == FOOTPRINT_CELL
    if cell.any():
        x0, y0 = surface.origin_m
        c = surface.cell_m
        ix, iy = surface.ix[sel][cell], surface.iy[sel][cell]
        # edges from integer indices so neighbouring squares share vertices exactly
        out[cell] = shapely.box(
            x0 + ix * c, y0 + iy * c, x0 + (ix + 1) * c, y0 + (iy + 1) * c
        )
    com = kind == FOOTPRINT_COMMUNE
    if com.any():
        out[com] = surface.commune_geoms[surface.commune[sel][com]]
    pt = kind == FOOTPRINT_POINT
    if pt.any():
        h = surface.cell_m / 2
        x, y = surface.x_m[sel][pt], surface.y_m[sel][pt]
        out[pt] = shapely.box(x - h, y - h, x + h, y + h)
    return out


def _commune_union(surface: PopulationSurface) -> shapely.Geometry:
    # cached: zones and catchments both clip to it, and a national union takes
    # seconds; keyed on the geometry array so a replaced array is not missed
    cached = surface.__dict__.get("_union")
    if cached is not None and cached[0] is surface.commune_geoms:
        return cached[1]
    geoms = shapely.make_valid(surface.commune_geoms[_usable(surface.commune_geoms)])
    union = None
    try:
        # communes that tile without overlaps or mismatched edges: the coverage
        # union gives the same region several times faster than an overlay union
        if shapely.coverage_is_valid(geoms):
            union = shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        union = None
    if union is None:
        union = shapely.union_all(geoms)
    surface.__dict__["_union"] = (surface.commune_geoms, union)
    return union


def _clip(geoms: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Return ``shapely.intersection(geoms, region)`` for a large ``region``, fast.

    A geometry lying inside the region is intersected with a box a little larger
    than itself instead: no edge of the region comes near it, so the overlay gives
    the same result without visiting the region's many vertices. The others are
    intersected with the whole region, as before.
    """
    out = np.empty(len(geoms), dtype=object)
    if len(geoms) == 0:
        return out
    b = shapely.bounds(geoms)
    shapely.prepare(region)
    inside = np.isfinite(b).all(axis=1) & shapely.contains_properly(region, geoms)
    b = b[inside]
    pad = 1.0 + 0.01 * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    out[inside] = shapely.intersection(
        geoms[inside],
        shapely.box(b[:, 0] - pad, b[:, 1] - pad, b[:, 2] + pad, b[:, 3] + pad),
    )
    out[~inside] = shapely.intersection(geoms[~inside], region)
    return out


def _zone_parts(
    surface: PopulationSurface, far: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the connected parts of the far footprints and the part of each one.

    Squares of the main grid are first merged into horizontal runs (one rectangle
    per run of far cells in a row, with a vertex wherever a run of the rows above
    or below starts or ends, so that shared edges match and the runs form a valid
    coverage); their connected parts are the 4-connected groups of runs, so every
    grid location gets its part without a point-in-polygon test. Other footprints
    (small communes, point squares, fallback grids) are united with the parts they
    touch.
    """
    main = (surface.footprint[far] == FOOTPRINT_CELL) & (surface.ix[far] >= 0)
    fast = _grid_runs_parts(surface, far[main]) if main.any() else None
    if fast is None:
        return _zone_parts_overlay(surface, far)
    parts, main_zone = fast
    zone = np.full(len(far), -1, dtype=np.int64)
    zone[main] = main_zone
    if main.all():
        return parts, zone
    other = np.flatnonzero(~main)
    shapes = _footprints(surface, far[other])
    hit_part = np.unique(
        shapely.STRtree(parts).query(shapes, predicate="intersects")[1]
    )
    hit = np.zeros(len(parts), dtype=bool)
    hit[hit_part] = True
    merged = shapely.get_parts(shapely.union_all(np.concatenate([parts[hit], shapes])))
    renumber = np.cumsum(~hit) - 1
    kept = zone >= 0
    kept[kept] = ~hit[zone[kept]]
    redo = np.flatnonzero(~kept)
    zone[kept] = renumber[zone[kept]]
    zone[redo] = int((~hit).sum()) + _locate(
        merged, surface.x_m[far[redo]], surface.y_m[far[redo]]
    )
    return np.concatenate([parts[~hit], merged]), zone


def _locate(parts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Part holding each location (the first one; else the nearest part)."""
    loc, part = _assign_to_communes(parts, x, y)
    zone = np.full(len(x), -1, dtype=np.int64)
    zone[loc] = part
    if (zone < 0).any():
        # a representative point may sit on an edge after union; nearest part
        lost = np.flatnonzero(zone < 0)
        zone[lost] = shapely.STRtree(parts).query_nearest(
            shapely.points(x[lost], y[lost]), return_distance=False
        )[1]
    return zone


def _zone_parts_overlay(
    surface: PopulationSurface, far: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_zone_parts` by uniting every footprint (any surface)."""
    shapes = _footprints(surface, far)
    cells = surface.footprint[far] == FOOTPRINT_CELL
    merged = []
    if cells.any():
        merged.append(shapely.coverage_union_all(shapes[cells]))
    if (~cells).any():
        merged.append(shapely.union_all(shapes[~cells]))
    parts = shapely.get_parts(shapely.union_all(merged))
    return parts, _locate(parts, surface.x_m[far], surface.y_m[far])


def _grid_runs_parts(
    surface: PopulationSurface, sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Parts of the union of main-grid squares ``sel`` and the part of each square.

    ``None`` when the union's parts do not match the 4-connected groups one to
    one (then the caller unites the footprints the slow way).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ix = surface.ix[sel].astype(np.int64)
    iy = surface.iy[sel].astype(np.int64)
    w = int(ix.max()) + 2  # a spare column: runs never continue across rows
    key = iy * w + ix
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.r_[True, k[1:] != k[:-1] + 1]
    run_of = np.cumsum(starts) - 1
    row = k[starts] // w
    a = k[starts] % w
    b = a + np.bincount(run_of)
    n_runs = len(a)
    start_key = row * w + a
    end_key = row * w + b
    # runs of the next row sharing an edge of positive length (4-connectivity)
    lo = np.searchsorted(end_key, (row + 1) * w + a, "right")
    hi = np.searchsorted(start_key, (row + 1) * w + b, "left")
    src, dst = _expand(lo, hi)
    graph = coo_matrix(
        (np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n_runs, n_runs)
    )
    n_comp, comp = connected_components(graph, directed=False)
    # vertices where runs of the neighbouring rows start or end
    ends = np.column_stack([start_key, end_key]).ravel()
    blo = np.searchsorted(ends, (row - 1) * w + a, "right")
    bhi = np.searchsorted(ends, (row - 1) * w + b, "left")
    tlo = np.searchsorted(ends, (row + 1) * w + a, "right")
    thi = np.searchsorted(ends, (row + 1) * w + b, "left")
    bj, bpos = _expand(blo, bhi)
    tj, tpos = _expand(tlo, thi)
    bx = ends[bpos] - (row[bj] - 1) * w
    tx = ends[tpos] - (row[tj] + 1) * w
    span = b - a
    runs = np.arange(n_runs)
    # counter-clockwise ring: bottom edge left to right, top edge right to left
    ring_run = np.concatenate([runs, bj, runs, runs, tj, runs, runs])
    gx = np.concatenate([a, bx, b, b, tx, a, a])
    gy = np.concatenate([row, row[bj], row, row + 1, row[tj] + 1, row + 1, row])
    seq = np.concatenate(
        [
            np.zeros(n_runs, np.int64),
            bx - a[bj],
            span,
            span + 1,
            span[tj] + 1 + (b[tj] - tx),
            2 * span + 1,
            2 * span + 2,
        ]
    )
    ring_order = np.lexsort((seq, ring_run))
    x0, y0 = surface.origin_m
    c = surface.cell_m
    coords = np.column_stack([x0 + gx[ring_order] * c, y0 + gy[ring_order] * c])
    rects = shapely.polygons(shapely.linearrings(coords, indices=ring_run[ring_order]))
    try:
        parts = shapely.get_parts(shapely.coverage_union_all(rects))
    except shapely.errors.GEOSException:
        return None
    # a vertex at every cell corner, as in the union of the squares: areas are
    # measured after reprojection, where straight edges bend, so they depend on it
    parts = shapely.segmentize(parts, c * (1.0 + 1e-9))
    if len(parts) != n_comp:
        return None
    # one square of each group (the first of its first run) tells its part
    first_run = np.full(n_comp, -1, dtype=np.int64)
    first_run[comp[::-1]] = runs[::-1]
    probe = shapely.points(
        x0 + (a[first_run] + 0.5) * c, y0 + (row[first_run] + 0.5) * c
    )
    which, part = shapely.STRtree(parts).query(probe, predicate="within")
    if len(which) != n_comp or len(np.unique(part)) != n_comp:
        return None
    comp_part = np.empty(n_comp, dtype=np.int64)
    comp_part[which] = part
    zone = np.empty(len(sel), dtype=np.int64)
    zone[order] = comp_part[comp[run_of]]
    return parts, zone


ZONE_COLUMNS = [
    "rank",
    "population",
    "area_km2",
    "max_distance_km",
    "mean_distance_km",
    "n_locations",
    "commune_codes",
]


def uncovered_zones(
    surface: PopulationSurface, dist_m: np.ndarray, *, threshold_km: float
) -> gpd.GeoDataFrame:
    """Find connected zones of populated land farther than a threshold from any point.

    The footprints of the far populated locations (grid squares; the whole polygon
    of a commune too small for a cell; a ``cell_m`` square around a settlement or
    pixel) are united, split into connected parts (squares touching only at a corner
    are separate zones) and clipped to the communes.

    Parameters
    ----------
    surface
        The population surface.
    dist_m
        Distance of each location to its nearest point (``AccessResult.dist_m``).
    threshold_km
        The threshold: locations with ``dist > threshold`` are uncovered.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, ranked by population (descending), columns ``rank, population,
        area_km2, max_distance_km, mean_distance_km, n_locations, commune_codes``
        (``;``-joined, sorted) and geometry. The populations of all zones plus the
        population within the threshold equal the surface total.
    """
    (t,) = _check_thresholds([threshold_km])
    dist = np.asarray(dist_m, dtype=float)
    if len(dist) != len(surface):
        msg = "dist_m must hold one distance per surface location"
        raise InputError(msg)
    far = np.flatnonzero((surface.pop > 0) & ~(dist <= t * 1000.0))
    empty = gpd.GeoDataFrame(
        {c: pd.Series(dtype=float) for c in ZONE_COLUMNS},
        geometry=gpd.GeoSeries([], crs=surface.crs),
    ).astype({"rank": np.int64, "n_locations": np.int64, "commune_codes": object})
    if len(far) == 0:
        return empty.to_crs(WGS84)
    parts, zone = _zone_parts(surface, far)
    n_z = len(parts)
    pop = surface.pop[far]
    d = dist[far]
    finite = np.where(np.isfinite(d), d, np.nan)
    population = np.bincount(zone, weights=pop, minlength=n_z)
    maxd = np.full(n_z, -np.inf)
    np.maximum.at(maxd, zone, np.where(np.isfinite(d), d, np.inf))
    with np.errstate(invalid="ignore"):
        meand = np.bincount(zone, weights=pop * finite, minlength=n_z) / population
    n_loc = np.bincount(zone, minlength=n_z)
    pairs = pd.DataFrame(
        {"zone": zone, "code": surface.codes[surface.commune[far]]}
    ).drop_duplicates()
    joined = (
        pairs.sort_values(["zone", "code"])
        .groupby("zone")["code"]
        .agg(";".join)
        .reindex(range(n_z), fill_value="")
    )
    clipped = _clip(parts, _commune_union(surface))
    out = gpd.GeoDataFrame(
        {
            "population": population,
            "max_distance_km": np.where(np.isfinite(maxd), maxd / 1000.0, np.nan),
            "mean_distance_km": meand / 1000.0,
            "n_locations": n_loc.astype(np.int64),
            "commune_codes": joined.to_numpy(dtype=object),
        },
        geometry=gpd.GeoSeries(clipped, crs=surface.crs),
    )
    keep = out["population"].to_numpy() > 0
    out = out[keep]
    out.insert(1, "area_km2", area_km2(out) if len(out) else np.empty(0))
    out = out.sort_values(
        ["population", "area_km2"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out.to_crs(WGS84)


# ----------------------------------------------------------------------------------
# catchments


CATCHMENT_COLUMNS = [
    "point_id",
    "pop_served",
    "area_km2",
    "equivalent_radius_km",
    "people_per_point",
    "mean_distance_km",
    "n_colocated",
]


def point_catchments(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    surface: PopulationSurface,
    nearest_idx: np.ndarray,
) -> gpd.GeoDataFrame:
    """Service area of every point: its Voronoi cell clipped to the communes.

    Parameters
    ----------
    communes
        The commune layer the surface was built from (clips the cells).
    points
        The service points used for ``nearest_idx``; points without a geometry are
        skipped, as in :func:`compute_access`.
    surface
        The population surface.
    nearest_idx
        Nearest point of every surface location (``AccessResult.nearest_idx``),
        indexing the points that have a geometry, in layer order.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per point with a geometry: ``point_id, pop_served,
        area_km2, equivalent_radius_km = sqrt(area_km2 / pi), people_per_point,
        mean_distance_km, n_colocated`` and the catchment polygon. Points sharing a
        location (``n_colocated > 1``) share its cell: its area and population are
        split equally between them, so ``pop_served`` sums to the surface total
        and ``area_km2`` to the area of the communes. ``people_per_point`` equals
        ``pop_served`` (the population served by that one point); a point whose
        cell holds many people is overloaded.
    """
    crs = surface.crs
    point_xy, point_ids, _ = _point_arrays(points, crs)
    nearest = np.asarray(nearest_idx, dtype=np.int64)
    if len(nearest) != len(surface) or (
        len(nearest) and (nearest.min() < 0 or nearest.max() >= len(point_xy))
    ):
        msg = (
            "nearest_idx does not match the surface and the points; pass the "
            "AccessResult.nearest_idx computed from the same layers"
        )
        raise InputError(msg)
    sites, site_of_point = np.unique(point_xy, axis=0, return_inverse=True)
    site_of_point = site_of_point.ravel()
    n_sites = len(sites)
    n_at_site = np.bincount(site_of_point, minlength=n_sites)
    cell_site = site_of_point[nearest]
    site_pop = np.bincount(cell_site, weights=surface.pop, minlength=n_sites)
    d = np.hypot(surface.x_m - sites[cell_site, 0], surface.y_m - sites[cell_site, 1])
    site_pd = np.bincount(cell_site, weights=surface.pop * d, minlength=n_sites)
    union = _commune_union(surface)
    if n_sites == 1:
        site_cells = np.array([union], dtype=object)
    else:
        minx, miny, maxx, maxy = shapely.bounds(union)
        span = max(maxx - minx, maxy - miny, 1.0)
        lo = np.minimum(sites.min(axis=0), [minx, miny]) - span
        hi = np.maximum(sites.max(axis=0), [maxx, maxy]) + span
        diagram = shapely.voronoi_polygons(
            shapely.multipoints(sites), extend_to=shapely.box(*lo, *hi), ordered=True
        )
        site_cells = _clip(shapely.get_parts(diagram), union)
    site_area = area_km2(gpd.GeoDataFrame(geometry=gpd.GeoSeries(site_cells, crs=crs)))
    share = 1.0 / n_at_site[site_of_point]
    area = site_area[site_of_point] * share
    pop_served = site_pop[site_of_point] * share
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_d = site_pd[site_of_point] / site_pop[site_of_point] / 1000.0
    out = gpd.GeoDataFrame(
        {
            "point_id": point_ids,
            "pop_served": pop_served,
            "area_km2": area,
            "equivalent_radius_km": np.sqrt(area / np.pi),
            "people_per_point": pop_served,
            "mean_distance_km": mean_d,
            "n_colocated": n_at_site[site_of_point].astype(np.int64),
        },
        geometry=gpd.GeoSeries(site_cells[site_of_point], crs=crs),
    )
    return out.to_crs(WGS84)


# ----------------------------------------------------------------------------------
# distance rules

_LEVELS = {
    "overall": None,
    "commune": "commune_code",
    "district": "district_name",
    "province": "province_name",
}


def _rule_label(rule: DistanceRule) -> str:
    scope = "" if rule.scope == "all" else f" ({rule.scope})"
    return f"{rule.min_share:.1%} within {threshold_label(rule.distance_km)}{scope}"


def evaluate_distance_rules(
    result: AccessResult,
    benchmark_rules: Benchmark | Iterable[DistanceRule],
    *,
    level: str = "overall",
) -> pd.DataFrame:
    """Check distance rules ("95% of population within 5 km"): pass or fail, margin.

    Parameters
    ----------
    result
        The access result (shares are recomputed from its cells for each rule's
        distance, whatever thresholds it reported).
    benchmark_rules
        A :class:`~coverage.benchmarks.Benchmark` or its distance rules.
    level
        ``"overall"``, ``"commune"``, ``"district"``, ``"province"`` or the name of
        a grouping column of the communes.

    Returns
    -------
    pandas.DataFrame
        One row per unit and rule: ``level, unit, rule, scope, distance_km,
        min_share, pop_surface, pop_within, share, margin (share - min_share),
        passes, evaluated``. Only rules of scope ``"all"`` are evaluated: the
        tool has no urban/rural split, so other scopes get ``evaluated = False``,
        NaN share and ``passes`` NA. ``passes`` is NA for a unit with no
        population.
    """
    rules = (
        benchmark_rules.distance_rules
        if isinstance(benchmark_rules, Benchmark)
        else tuple(benchmark_rules)
    )
    by = _LEVELS.get(level, level)
    frames = []
    if rules:
        table = result.aggregate(by, thresholds_km=[r.distance_km for r in rules])
        key = "unit" if by is None else by
        for rule in rules:
            label = threshold_label(rule.distance_km)
            evaluated = rule.scope == "all"
            share = table[f"share_within_{label}"].to_numpy(float)
            pop_within = table[f"pop_within_{label}"].to_numpy(float)
            if not evaluated:
                share = np.full(len(table), np.nan)
                pop_within = np.full(len(table), np.nan)
            margin = share - rule.min_share
            passes = pd.array(
                np.where(np.isnan(share), None, margin >= -1e-12), dtype="boolean"
            )
            frames.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "unit": table[key].to_numpy(dtype=object),
                        "rule": _rule_label(rule),
                        "scope": rule.scope,
                        "distance_km": rule.distance_km,
                        "min_share": rule.min_share,
                        "pop_surface": table["pop_surface"].to_numpy(float),
                        "pop_within": pop_within,
                        "share": share,
                        "margin": margin,
                        "passes": passes,
                        "evaluated": evaluated,
                    }
                )
            )
    if not frames:
        cols = [
            "level",
            "unit",
            "rule",
            "scope",
            "distance_km",
            "min_share",
            "pop_surface",
            "pop_within",
            "share",
            "margin",
            "passes",
            "evaluated",
        ]
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)
