"""Demand and candidate sites of the layer adapter.

The population surface becomes the demand; candidate sites are the populated cells
(thinned to a maximum count), a point inside each commune, or a user layer, minus
those inside exclusion polygons.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely

from ..errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CandidateSource"]

CandidateSource = Literal["cells", "centres", "file"]


def _containing_index(geoms: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the first polygon intersecting each geometry, -1 when none does."""
    out = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(polygons) == 0:
        return out
    tree = shapely.STRtree(polygons)
    g_idx, p_idx = tree.query(geoms, predicate="intersects")
    order = np.lexsort((p_idx, g_idx))
    g_idx, p_idx = g_idx[order], p_idx[order]
    uniq, start = np.unique(g_idx, return_index=True)
    out[uniq] = p_idx[start]
    return out


def _thin_cells(
    xy: np.ndarray, pop: np.ndarray, max_count: int, cell_m: float
) -> np.ndarray:
    """Pick at most ``max_count`` populated cells, the most populated per block."""
    idx = np.flatnonzero(pop > 0)
    if len(idx) <= max_count:
        return idx
    factor = max(2, math.ceil(math.sqrt(len(idx) / max_count)))
    while True:
        block = cell_m * factor
        bx = np.floor(xy[idx, 0] / block).astype(np.int64)
        by = np.floor(xy[idx, 1] / block).astype(np.int64)
        order = np.lexsort((-pop[idx], by, bx))
        keys = np.column_stack([bx[order], by[order]])
        first = np.ones(len(order), bool)
        first[1:] = np.any(keys[1:] != keys[:-1], axis=1)
        kept = idx[order[first]]
        if len(kept) <= max_count:
            return np.sort(kept)
        factor += 1


def _population_grid(communes: gpd.GeoDataFrame, cell_m: float, crs: Any) -> Any:
    from ..access import build_population_grid

    return build_population_grid(communes, cell_m=cell_m, crs=crs)


def _demand(
    communes: gpd.GeoDataFrame, cell_m: float, surface: Any | None
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]:
    """Return (metric CRS, demand xy, population, commune row per location or None)."""
    from ..geo import metric_crs

    if surface is None:
        crs = metric_crs(communes)
        surface = _population_grid(communes, cell_m, crs)
    else:
        crs = surface.crs
    xy = np.column_stack(
        [np.asarray(surface.x_m, dtype=float), np.asarray(surface.y_m, dtype=float)]
    )
    commune = getattr(surface, "commune", None)
    if commune is not None:
        commune = np.asarray(commune, dtype=np.int64)
        if len(commune) != len(xy):
            commune = None
    return crs, xy, np.asarray(surface.pop, dtype=float), commune


def _point_xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    geoms = gdf.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = shapely.point_on_surface(geoms[ok])
    return shapely.get_coordinates(pts).reshape(-1, 2)


def _candidate_sites(
    communes_m: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None,
    demand_xy: np.ndarray,
    pop: np.ndarray,
    *,
    crs: Any,
    candidate_source: CandidateSource,
    exclusion: gpd.GeoDataFrame | None,
    max_candidates: int,
    cell_m: float,
) -> tuple[np.ndarray, Any]:
    """Return candidate (xy in metres, points in ``crs``), without the excluded ones."""
    import geopandas as gpd

    if candidate_source == "file":
        if candidates is None or len(candidates) == 0:
            msg = "candidate_source='file' needs a non-empty candidates layer"
            raise InputError(msg)
        cand_xy = _point_xy(candidates.to_crs(crs))
    elif candidate_source == "cells":
        cand_xy = demand_xy[_thin_cells(demand_xy, pop, max_candidates, cell_m)]
    elif candidate_source == "centres":
        cand_xy = _point_xy(communes_m)
    else:
        msg = (
            "candidate_source must be 'cells', 'centres' or 'file', "
            f"not {candidate_source!r}"
        )
        raise InputError(msg)
    cand_pts = gpd.points_from_xy(cand_xy[:, 0], cand_xy[:, 1], crs=crs)
    if exclusion is not None and len(exclusion):
        excl = exclusion.to_crs(crs).geometry.to_numpy()
        inside = _containing_index(np.asarray(cand_pts), excl) >= 0
        cand_xy, cand_pts = cand_xy[~inside], cand_pts[~inside]
    if len(cand_xy) == 0:
        msg = "no candidate site is left (all excluded or none generated)"
        raise InputError(msg)
    return cand_xy, cand_pts
