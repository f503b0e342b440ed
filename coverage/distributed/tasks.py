"""The per-province task of a distributed run; it runs on a Dask worker.

A task reads its province's communes (and the communes touching them) from a
path every worker sees, builds their population surface on the national grid
lattice with :func:`coverage.access.build_population_grid`, and measures each
cell's distance to the nearest point with :func:`coverage.access.nearest_distance_m`
over the points within a halo around the province.

The halo rule (straight lines)
------------------------------
Start from a halo ``H`` (the largest threshold or zone distance, at least
:data:`MIN_HALO_KM`) and take the points within ``H`` of some cell of the
province. Every point outside the halo is farther than ``H`` from every cell, so
a cell whose nearest halo point lies at ``d <= H`` has the exact national
nearest distance ``d``. If some cell has ``d > H`` (or the halo holds no point)
the task widens ``H`` to that largest ``d`` (to every point when the halo was
empty) and measures again: the wider halo holds the old one, so every distance
is then at most the new ``H`` and exact. Equal distances to two points may name
another of them as the nearest; the distance itself is the same.

No Dask here: the functions are plain and testable in one process.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..errors import InputError

__all__ = [
    "FAULT_ENV",
    "MIN_HALO_KM",
    "HaloDistances",
    "PartitionInputs",
    "ProvinceCells",
    "ProvinceTask",
    "SharedInputs",
    "halo_nearest",
    "neighbour_mask",
    "province_surface",
    "run_province",
]

#: Smallest starting halo, km.
MIN_HALO_KM = 20.0

#: Test hook read by :func:`run_province`: ``raise:PROVINCE`` makes the task of
#: that province raise; ``exit:PROVINCE:MARKER`` ends its worker process once
#: (``os._exit``) unless the file ``MARKER`` exists, which it creates first.
FAULT_ENV = "COVERAGE_DASK_TEST_FAULT"

#: Neighbours are the communes within this distance of the province (metres): a
#: superset of those that could share a cell centre on a border with it.
_TOUCH_M = 1.0


@dataclass(frozen=True)
class SharedInputs:
    """The input layers as given to ``coverage analyze``, on a shared path."""

    boundaries: str
    points: str
    columns: tuple[tuple[str, str], ...] = ()
    crs: str | None = None
    points_crs: str | None = None
    fix_invalid: bool = False
    population_table: str | None = None


@dataclass(frozen=True)
class PartitionInputs:
    """A folder written by ``coverage partition`` (one GeoParquet per province)."""

    folder: str


@dataclass(frozen=True)
class ProvinceTask:
    """What one worker needs for one province.

    Attributes
    ----------
    province
        The province name (``province_name``; ``""`` for communes without one).
    part
        File of the province in a partition folder (``communes/<slug>.parquet``).
    source
        Where the communes are read.
    crs
        The national metric CRS (a :class:`pyproj.CRS`).
    origin_m
        Lower-left corner of the national grid lattice, metres.
    cell_m
        Grid cell size, metres.
    halo_km
        Starting halo, km (see the module notes).
    """

    province: str
    part: str
    source: SharedInputs | PartitionInputs
    crs: Any
    origin_m: tuple[float, float]
    cell_m: float
    halo_km: float


@dataclass
class HaloDistances:
    """Nearest distances found with the halo rule.

    Attributes
    ----------
    dist_m, nearest
        Distance of every cell and index of its nearest point among all points.
    halo_km
        The halo that made every distance exact.
    n_points
        Points within that halo.
    passes
        Measurements made (1 when the starting halo sufficed).
    """

    dist_m: np.ndarray
    nearest: np.ndarray
    halo_km: float
    n_points: int
    passes: int


@dataclass
class ProvinceCells:
    """The cells of one province, as the national surface holds them.

    ``commune`` is the national row position of each cell's commune; the other
    arrays are those of :class:`coverage.access.PopulationSurface` plus the
    distance and the national index of the nearest point.
    """

    province: str
    commune: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    pop: np.ndarray
    footprint: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    dist_m: np.ndarray
    nearest: np.ndarray
    halo_km: float
    n_points: int
    passes: int

    def __len__(self) -> int:
        return len(self.pop)


def neighbour_mask(geoms_m: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Return the communes of a province plus those touching it.

    A cell centre on a border between two communes goes to the first of them in
    layer order, so the province's surface is built with its neighbours present.

    Parameters
    ----------
    geoms_m
        Every commune geometry, in a metric CRS.
    own
        Which of them belong to the province.
    """
    keep = np.asarray(own, dtype=bool).copy()
    usable = ~(shapely.is_missing(geoms_m) | shapely.is_empty(geoms_m))
    if not (keep & usable).any():
        return keep
    tree = shapely.STRtree(geoms_m)
    _, hit = tree.query(geoms_m[keep & usable], predicate="dwithin", distance=_TOUCH_M)
    keep[hit] = True
    return keep


def province_surface(
    communes: gpd.GeoDataFrame,
    own: np.ndarray,
    *,
    crs: Any,
    origin_m: tuple[float, float],
    cell_m: float,
) -> tuple[np.ndarray, Any]:
    """Build the surface of the ``own`` communes on the national lattice.

    ``communes`` (the province and its neighbours, in national order) get an
    anchor appended: a populated square of 1 mm whose lower-left corner is the
    national origin, so :func:`~coverage.access.build_population_grid` lays its
    lattice from that origin and every cell is the national cell.

    Returns
    -------
    (numpy.ndarray, PopulationSurface)
        Which locations belong to ``own`` communes, and the surface (its commune
        positions index ``communes``; the anchor is the last one).
    """
    from ..access import build_population_grid

    x0, y0 = origin_m
    metric = communes[["commune_code", "population", "geometry"]].to_crs(crs)
    anchor = gpd.GeoDataFrame(
        {"commune_code": ["\x00anchor"], "population": [1]},
        geometry=[shapely.box(x0, y0, x0 + 1e-3, y0 + 1e-3)],
        crs=metric.crs,
    )
    frame = pd.concat([metric, anchor], ignore_index=True)
    surface = build_population_grid(frame, cell_m=cell_m, crs=crs)
    if surface.origin_m != (float(x0), float(y0)):
        msg = "the province grid does not start at the national origin"
        raise RuntimeError(msg)
    mine = np.append(np.asarray(own, dtype=bool), False)[surface.commune]
    return mine, surface


def halo_nearest(
    cell_xy: np.ndarray, point_xy: np.ndarray, *, halo_km: float
) -> HaloDistances:
    """Nearest point of every cell, looking only within a halo (see module notes).

    Parameters
    ----------
    cell_xy
        ``(n, 2)`` cell coordinates, metres.
    point_xy
        ``(m, 2)`` coordinates of every point, metres.
    halo_km
        The starting halo, km.

    Returns
    -------
    HaloDistances
        Distances equal to those measured against every point.
    """
    from ..access import nearest_distance_m

    cell_xy = np.asarray(cell_xy, float).reshape(-1, 2)
    point_xy = np.asarray(point_xy, float).reshape(-1, 2)
    halo_m = float(halo_km) * 1000.0
    if len(cell_xy) == 0:
        empty = np.empty(0, dtype=np.int64)
        return HaloDistances(np.empty(0), empty, float(halo_km), 0, 0)
    cells = cKDTree(cell_xy)
    passes = 0
    while True:
        passes += 1
        if np.isfinite(halo_m):
            # a little beyond H: a superset of the halo keeps every distance exact
            gap, _ = cells.query(point_xy, k=1, distance_upper_bound=halo_m + 1.0)
            sel = np.flatnonzero(np.isfinite(gap))
        else:
            sel = np.arange(len(point_xy))
        dist, idx = nearest_distance_m(cell_xy, point_xy[sel])
        worst = float(dist.max())
        if worst <= halo_m or len(sel) == len(point_xy):
            nearest = np.where(idx >= 0, sel[np.maximum(idx, 0)], -1)
            return HaloDistances(
                dist, nearest.astype(np.int64), halo_m / 1000.0, len(sel), passes
            )
        halo_m = worst


@functools.lru_cache(maxsize=2)
def _shared_communes(source: SharedInputs) -> gpd.GeoDataFrame:
    from ..pipeline.analyze import load_inputs

    communes, _, _ = load_inputs(
        source.boundaries,
        source.points,
        columns=dict(source.columns) or None,
        crs=source.crs,
        points_crs=source.points_crs,
        fix_invalid=source.fix_invalid,
        population_table=source.population_table,
    )
    return communes


@functools.lru_cache(maxsize=2)
def _shared_layers(
    source: SharedInputs, crs: Any
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Communes, their province names and metric geometries, once per worker."""
    communes = _shared_communes(source)
    names = communes["province_name"].astype("string").fillna("").to_numpy(object)
    metric = np.asarray(communes.geometry.to_crs(crs).values, dtype=object)
    return communes, names, metric


def _province_communes(task: ProvinceTask) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Return the province and its neighbours (national order, ``_row``) and own."""
    source = task.source
    if isinstance(source, PartitionInputs):
        path = Path(source.folder) / task.part
        if not path.is_file():
            msg = f"{path}: missing; write the partition again with coverage partition"
            raise InputError(msg)
        frame = gpd.read_parquet(path)
        return frame, frame["_own"].to_numpy(bool)
    communes, names, metric = _shared_layers(source, task.crs)
    own = names == task.province
    keep = neighbour_mask(metric, own)
    frame = communes.loc[keep].copy()
    frame["_row"] = np.flatnonzero(keep)
    return frame, own[keep]


def _test_fault(province: str) -> None:
    spec = os.environ.get(FAULT_ENV, "")
    kind, _, rest = spec.partition(":")
    if kind == "raise" and rest == province:
        msg = f"test fault in {province}"
        raise RuntimeError(msg)
    if kind == "exit":
        name, _, marker = rest.rpartition(":")
        if name == province and not Path(marker).exists():
            Path(marker).touch()
            os._exit(1)


def run_province(task: ProvinceTask, point_xy: np.ndarray) -> ProvinceCells:
    """Build one province's surface and measure its distances (the worker's job).

    Parameters
    ----------
    task
        The province and where to read it.
    point_xy
        Metric coordinates of every counted point, in national order.

    Returns
    -------
    ProvinceCells
    """
    _test_fault(task.province)
    frame, own = _province_communes(task)
    mine, surface = province_surface(
        frame, own, crs=task.crs, origin_m=task.origin_m, cell_m=task.cell_m
    )
    rows = frame["_row"].to_numpy(np.int64)
    sel = np.flatnonzero(mine)
    xy = np.column_stack([surface.x_m[sel], surface.y_m[sel]])
    found = halo_nearest(xy, point_xy, halo_km=task.halo_km)
    return ProvinceCells(
        province=task.province,
        commune=rows[surface.commune[sel]],
        x_m=surface.x_m[sel],
        y_m=surface.y_m[sel],
        pop=surface.pop[sel],
        footprint=surface.footprint[sel],
        ix=surface.ix[sel].astype(np.int32),
        iy=surface.iy[sel].astype(np.int32),
        dist_m=found.dist_m,
        nearest=found.nearest.astype(np.int32),
        halo_km=found.halo_km,
        n_points=found.n_points,
        passes=found.passes,
    )
