"""Demand and candidate sites of the layer adapter.

The population surface becomes the demand; candidate sites are the populated cells
(thinned to a maximum count, plus a cover so that every populated cell is within
reach of a candidate or an existing point), a point inside each commune, or a user
layer, minus those inside exclusion polygons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely

from ..errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CandidateSource", "ReachTest"]

CandidateSource = Literal["cells", "centres", "file"]
#: ``reach(demand_xy, site_xy)``: whether each demand row is within reach of a site.
ReachTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


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


def _block_first(xy: np.ndarray, block_m: float) -> np.ndarray:
    """Positions in ``xy`` of the point nearest its block's centre, one per block."""
    b = np.floor(xy / block_m)
    d2 = np.sum((xy - (b + 0.5) * block_m) ** 2, axis=1)
    bx, by = b[:, 0].astype(np.int64), b[:, 1].astype(np.int64)
    order = np.lexsort((d2, by, bx))
    first = np.ones(len(order), bool)
    first[1:] = (bx[order][1:] != bx[order][:-1]) | (by[order][1:] != by[order][:-1])
    return order[first]


def _reach_cover(
    xy: np.ndarray,
    need: np.ndarray,
    allowed: np.ndarray,
    *,
    block_m: float,
    reach: ReachTest,
) -> np.ndarray:
    """Cells that put every ``need`` cell within reach of one of them, where possible.

    Each round takes, per block of ``block_m``, the ``allowed`` open cell nearest
    the block's centre (a lattice snapped to populated cells), drops the cells it
    reaches and halves the block; a cell always reaches itself, so only cells that
    are not allowed can be left, and then only when no chosen cell reaches them.

    Returns
    -------
    numpy.ndarray
        Sorted indices of the chosen cells.
    """
    todo = np.flatnonzero(need)
    chosen: list[np.ndarray] = []
    block = float(block_m)
    while len(todo):
        open_ok = todo[allowed[todo]]
        if len(open_ok) == 0:
            break
        picks = open_ok[_block_first(xy[open_ok], block)]
        chosen.append(picks)
        left = ~reach(xy[todo], xy[picks])
        left[np.isin(todo, picks)] = False
        todo = todo[left]
        block /= 2.0
    if not chosen:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate(chosen))


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
    reach: ReachTest | None = None,
    existing_xy: np.ndarray | None = None,
    block_m: float = 0.0,
) -> tuple[np.ndarray, Any, int]:
    """Return candidate (xy in metres, points in ``crs``, cells added for reach).

    Excluded candidates are dropped. With ``reach`` (``"cells"`` only), the most
    populated cells are completed by :func:`_reach_cover` of the populated cells
    that neither an existing point nor one of them reaches (first lattice of
    ``block_m``), so every populated cell outside the exclusion can be reached.
    """
    import geopandas as gpd

    n_cover = 0
    if candidate_source == "file":
        if candidates is None or len(candidates) == 0:
            msg = "candidate_source='file' needs a non-empty candidates layer"
            raise InputError(msg)
        cand_xy = _point_xy(candidates.to_crs(crs))
    elif candidate_source == "cells":
        idx = _thin_cells(demand_xy, pop, max_candidates, cell_m)
        if reach is not None and len(idx) < int((pop > 0).sum()):
            allowed = np.ones(len(demand_xy), bool)
            if exclusion is not None and len(exclusion):
                excl = exclusion.to_crs(crs).geometry.to_numpy()
                allowed = _containing_index(shapely.points(demand_xy), excl) < 0
            sites = demand_xy[idx[allowed[idx]]]
            if existing_xy is not None and len(existing_xy):
                sites = np.vstack([np.asarray(existing_xy, dtype=float), sites])
            need = pop > 0
            need[need] = ~reach(demand_xy[need], sites)
            extra = _reach_cover(
                demand_xy, need, allowed, block_m=block_m or cell_m, reach=reach
            )
            n_cover = len(np.setdiff1d(extra, idx))
            idx = np.union1d(idx, extra)
        cand_xy = demand_xy[idx]
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
    return cand_xy, cand_pts, n_cover
