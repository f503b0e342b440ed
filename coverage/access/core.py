"""Data types of distance access and the helpers its modules share.

:class:`PopulationSurface` holds people at points in a metric CRS and
:class:`AccessResult` their distances to the nearest service point; the helpers
check thresholds, read point layers, assign points to polygons and clip to the
communes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from ..geo import require_crs

__all__ = [
    "FOOTPRINT_CELL",
    "FOOTPRINT_COMMUNE",
    "FOOTPRINT_POINT",
    "AccessResult",
    "PopulationSurface",
    "check_grid_size",
    "threshold_label",
]

#: Most grid cells a run may allocate, and a rough estimate of the memory a cell
#: costs on the way (coordinates, population, commune, distances, KD-tree queries).
MAX_GRID_CELLS = 40_000_000
GRID_BYTES_PER_CELL = 200

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
        from .distance import _aggregate_codes, _label_codes

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
            rows = pd.Index(uniques)
            commune_codes = np.full(len(values), -1, dtype=np.int64)
            commune_codes[located] = codes
        else:
            rows = pd.Index(index)
            commune_codes = np.asarray(rows.get_indexer(series), dtype=np.int64)
            _label_codes(series[located], rows)
        return _aggregate_codes(
            self.dist_m,
            surface.pop,
            commune_codes[surface.commune],
            rows,
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


def threshold_label(t_km: float) -> str:
    """Format a threshold for column names: ``2 -> "2km"``, ``4.83 -> "4.83km"``.

    Parameters
    ----------
    t_km
        Threshold in kilometres (shown with up to 6 decimals).
    """
    text = f"{float(t_km):.6f}".rstrip("0").rstrip(".")
    return f"{text}km"


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


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (range number, value) for every integer of the ranges ``[lo, hi)``."""
    n = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(n)), n)
    return which, lo[which] + (np.arange(len(which)) - (np.cumsum(n) - n)[which])


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


def _physical_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def check_grid_size(
    area_km2: np.ndarray, cell_m: float, *, option: str = "--cell-m"
) -> int:
    """Estimate the cells of a population grid and refuse one too large to allocate.

    One cell per ``cell_m`` square of each commune's land (at least one per
    commune), which takes no time, before anything is allocated.

    Parameters
    ----------
    area_km2
        Land area of every commune.
    cell_m
        Cell size in metres.
    option
        How the caller names the cell size in the message.

    Returns
    -------
    int
        The estimated number of cells.

    Raises
    ------
    InputError
        When the grid would exceed :data:`MAX_GRID_CELLS` or half the machine's
        memory, with the estimate and the finest cell size that fits.
    """
    area_m2 = np.nan_to_num(np.asarray(area_km2, dtype=float), nan=0.0) * 1e6
    area_m2 = np.clip(area_m2, 0.0, None)
    with np.errstate(over="ignore", invalid="ignore"):
        cells = float(np.maximum(1.0, area_m2 / (cell_m * cell_m)).sum())
    memory = _physical_memory_bytes()
    limit = MAX_GRID_CELLS
    if memory is not None:
        limit = min(limit, memory // 2 // GRID_BYTES_PER_CELL)
    if cells <= limit:
        return int(cells)
    total_m2 = float(area_m2.sum())
    fit = math.sqrt(total_m2 / max(limit - len(area_m2), 1))
    nice = next(
        step * 10**exp
        for exp in range(-1, 8)
        for step in (1, 2, 2.5, 5)
        if step * 10**exp >= fit
    )
    gb = cells * GRID_BYTES_PER_CELL / 1e9
    msg = (
        f"{option} {cell_m:g}: the population grid would hold about "
        f"{float(f'{cells:.3g}'):,.0f} "
        f"cells (about {gb:,.1f} GB of memory) over {total_m2 / 1e6:,.0f} km² of "
        f"land, more than the {limit:,} this run allows; use {option} {nice:g} "
        "or coarser"
    )
    raise InputError(msg)
