"""Uncovered zones: connected populated land farther than a threshold from any point.

A location is uncovered when its distance is strictly greater than the threshold.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..geo import WGS84, area_km2
from .core import (
    FOOTPRINT_CELL,
    FOOTPRINT_COMMUNE,
    FOOTPRINT_POINT,
    PopulationSurface,
    _assign_to_communes,
    _check_thresholds,
    _clip,
    _commune_union,
    _expand,
)

__all__ = ["ZONE_COLUMNS", "uncovered_zones"]


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


def _grid_runs(surface: PopulationSurface, sel: np.ndarray) -> tuple[Any, ...]:
    """Horizontal runs of the main-grid squares ``sel`` and their 4-connected groups.

    Returns ``(w, order, run_of, row, a, b, start_key, end_key, n_comp, comp)``:
    the key width, the squares sorted by key, the run of each sorted square, the
    row and column span ``[a, b)`` of every run, its key span, and the group of
    every run.
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
    return w, order, run_of, row, a, b, start_key, end_key, n_comp, comp


def _grid_components(
    surface: PopulationSurface, sel: np.ndarray
) -> tuple[int, np.ndarray]:
    """Return the number of 4-connected groups of squares ``sel`` and each one's."""
    _, order, run_of, *_, n_comp, comp = _grid_runs(surface, sel)
    zone = np.empty(len(sel), dtype=np.int64)
    zone[order] = comp[run_of]
    return int(n_comp), zone


def _grid_runs_parts(
    surface: PopulationSurface, sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Parts of the union of main-grid squares ``sel`` and the part of each square.

    ``None`` when the union's parts do not match the 4-connected groups one to
    one (then the caller unites the footprints the slow way).
    """
    found = _grid_runs(surface, sel)
    w, order, run_of, row, a, b, start_key, end_key, n_comp, comp = found
    n_runs = len(a)
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
    "zone_id",
    "population_zone",
]


def _clip_pairs(
    parts: np.ndarray, communes: np.ndarray, pair_part: np.ndarray, pair_com: np.ndarray
) -> np.ndarray:
    """Return ``parts[pair_part] & communes[pair_com]``, skipping the overlay if it can.

    A commune lying inside its zone part is its own intersection with it: only the
    communes crossing the part's edge are overlaid with it.
    """
    com = shapely.make_valid(communes[pair_com])
    shapely.prepare(parts)
    inside = shapely.contains_properly(parts[pair_part], com)
    out = com.copy()
    out[~inside] = shapely.intersection(parts[pair_part[~inside]], com[~inside])
    return out


def _pair_squares(
    surface: PopulationSurface, far: np.ndarray, pair: np.ndarray, n_pairs: int
) -> np.ndarray | None:
    """Union of the squares of each pair (zone, commune), or ``None`` if it cannot.

    The runs construction of :func:`_grid_runs_parts` on a copy of the grid where
    every pair is moved to its own band of columns (in cell units, so coordinates
    stay exact integers): pairs never touch, each part belongs to one pair, and the
    parts are moved back with the same arithmetic as the squares' own corners.
    """
    main = (surface.footprint[far] == FOOTPRINT_CELL) & (surface.ix[far] >= 0)
    if not main.all():
        return None
    band = int(surface.ix[far].max()) + 2
    ix = surface.ix.copy()
    ix[far] = surface.ix[far] + pair * band
    moved = replace(surface, ix=ix, origin_m=(0.0, 0.0), cell_m=1.0)
    fast = _grid_runs_parts(moved, far)
    if fast is None:
        return None
    parts, part_of = fast
    part_pair = np.empty(len(parts), dtype=np.int64)
    part_pair[part_of] = pair
    _, at = shapely.get_coordinates(parts, return_index=True)
    shift = (part_pair[at] * band).astype(float)
    x0, y0 = surface.origin_m
    c = surface.cell_m

    def back(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([x0 + (xy[:, 0] - shift) * c, y0 + xy[:, 1] * c])

    parts = shapely.transform(parts, back)
    order = np.argsort(part_pair, kind="stable")
    n_parts = np.bincount(part_pair, minlength=n_pairs)
    out = shapely.multipolygons(parts[order], indices=part_pair[order])
    single = np.flatnonzero(n_parts == 1)
    first = np.searchsorted(part_pair[order], single)
    out[single] = parts[order][first]
    return out


def uncovered_zones(
    surface: PopulationSurface,
    dist_m: np.ndarray,
    *,
    threshold_km: float,
    by_commune: bool = True,
) -> gpd.GeoDataFrame:
    """Find connected zones of populated land farther than a threshold from any point.

    The footprints of the far populated locations (grid squares; the whole polygon
    of a commune too small for a cell; a ``cell_m`` square around a settlement or
    pixel) are united and split into connected zones (squares touching only at a
    corner are separate zones). By default each zone is then split by commune: one
    row per commune it crosses (its locations whose centre lies in that commune,
    its area clipped to that commune), so that a sparse network does not give one
    zone of half the country but parts a planner can act on, each keeping the
    connected zone it belongs to as ``zone_id``.

    Parameters
    ----------
    surface
        The population surface.
    dist_m
        Distance of each location to its nearest point (``AccessResult.dist_m``).
    threshold_km
        The threshold: locations with ``dist > threshold`` are uncovered.
    by_commune
        ``True``: one row per zone and commune; ``False``: one row per connected
        zone, clipped to the communes.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, ranked by population (descending), columns ``rank, population,
        area_km2, max_distance_km, mean_distance_km, n_locations, commune_codes``
        (``;``-joined, sorted; one code per row by commune), ``zone_id`` (the
        connected zone, 1 the most populated), ``population_zone`` and geometry.
        The populations of all rows plus the population within the threshold equal
        the surface total.
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
    ).astype(
        {
            "rank": np.int64,
            "n_locations": np.int64,
            "commune_codes": object,
            "zone_id": np.int64,
        }
    )
    if len(far) == 0:
        return empty.to_crs(WGS84)
    pop = surface.pop[far]
    com = surface.commune[far]
    n_com = np.int64(len(surface.codes))

    def pairs_of(zone: np.ndarray) -> tuple[np.ndarray, ...]:
        pair_key, group = np.unique(zone * n_com + com, return_inverse=True)
        return (group.ravel(), *np.divmod(pair_key, n_com))

    squares = None
    main = (surface.footprint[far] == FOOTPRINT_CELL) & (surface.ix[far] >= 0)
    if by_commune and main.all():
        # the zones are the 4-connected groups of squares: no union of whole zones
        n_z, zone = _grid_components(surface, far)
        group, pair_part, pair_com = pairs_of(zone)
        squares = _pair_squares(surface, far, group, len(pair_part))
    if squares is None:
        parts, zone = _zone_parts(surface, far)
        n_z = len(parts)
    zone_pop = np.bincount(zone, weights=pop, minlength=n_z)
    zone_id = np.empty(n_z, dtype=np.int64)
    zone_id[np.argsort(-zone_pop, kind="stable")] = np.arange(1, n_z + 1)
    if by_commune:
        if squares is None:
            group, pair_part, pair_com = pairs_of(zone)
            geoms = _clip_pairs(parts, surface.commune_geoms, pair_part, pair_com)
        else:
            geoms = shapely.intersection(
                squares, shapely.make_valid(surface.commune_geoms[pair_com])
            )
        joined = surface.codes[pair_com].astype(object)
    else:
        group, pair_part = zone, np.arange(n_z)
        pairs = pd.DataFrame({"zone": zone, "code": surface.codes[com]})
        joined = (
            pairs.drop_duplicates()
            .sort_values(["zone", "code"])
            .groupby("zone")["code"]
            .agg(";".join)
            .reindex(range(n_z), fill_value="")
            .to_numpy(dtype=object)
        )
        geoms = _clip(parts, _commune_union(surface))
    n_g = len(pair_part)
    d = dist[far]
    finite = np.where(np.isfinite(d), d, np.nan)
    population = np.bincount(group, weights=pop, minlength=n_g)
    maxd = np.full(n_g, -np.inf)
    np.maximum.at(maxd, group, np.where(np.isfinite(d), d, np.inf))
    with np.errstate(invalid="ignore"):
        meand = np.bincount(group, weights=pop * finite, minlength=n_g) / population
    n_loc = np.bincount(group, minlength=n_g)
    out = gpd.GeoDataFrame(
        {
            "population": population,
            "max_distance_km": np.where(np.isfinite(maxd), maxd / 1000.0, np.nan),
            "mean_distance_km": meand / 1000.0,
            "n_locations": n_loc.astype(np.int64),
            "commune_codes": joined,
            "zone_id": zone_id[pair_part],
            "population_zone": zone_pop[pair_part],
        },
        geometry=gpd.GeoSeries(geoms, crs=surface.crs),
    )
    keep = out["population"].to_numpy() > 0
    out = out[keep]
    out.insert(1, "area_km2", area_km2(out) if len(out) else np.empty(0))
    out = out.sort_values(
        ["population", "area_km2"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out.to_crs(WGS84)
