"""Population surfaces: where the people of each commune live.

A uniform grid over each commune (:func:`build_population_grid`), settlement
points (:func:`population_from_settlements`) or the pixels of a population
raster (:func:`population_from_raster`). Per-commune totals are preserved
exactly: populations are multiples of ``2**-20`` person, the remainder of a
commune going to its last location.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..geo import metric_crs, require_crs
from ..model import DEFAULT_CELL_M
from .core import (
    FOOTPRINT_COMMUNE,
    FOOTPRINT_POINT,
    PopulationSurface,
    _assign_to_communes,
    _expand,
    _usable,
)

__all__ = [
    "build_population_grid",
    "population_from_raster",
    "population_from_settlements",
]

_QUANTUM = 2.0**-20
_CHUNK_CELLS = 1_000_000


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


_EDGE_EPS_M = 1e-4


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


def _grid_cells_in_bounds(
    polygons: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (column, row, polygon) of the grid centres covered by any geometries.

    Only the centres inside each geometry's own bounding box are tested (in chunks
    of about ``_CHUNK_CELLS``), so the cost follows the communes' extents, never the
    layer's: archipelago communes far offshore add their own boxes only.
    """
    b = shapely.bounds(polygons)
    ok = np.isfinite(b).all(axis=1)
    c0 = np.where(ok, np.searchsorted(xs, b[:, 0], "left"), 0)
    c1 = np.where(ok, np.searchsorted(xs, b[:, 2], "right"), 0)
    r0 = np.where(ok, np.searchsorted(ys, b[:, 1], "left"), 0)
    r1 = np.where(ok, np.searchsorted(ys, b[:, 3], "right"), 0)
    poly, row = _expand(r0, r1)
    width = (c1 - c0)[poly]
    ends = np.cumsum(width)
    cuts = np.searchsorted(
        ends, np.arange(_CHUNK_CELLS, int(ends[-1]) if len(ends) else 0, _CHUNK_CELLS)
    )
    shapely.prepare(polygons)
    out_c, out_r, out_p = [], [], []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(poly)], strict=True):
        p, r = poly[lo:hi], row[lo:hi]
        k, col = _expand(c0[p], c1[p])
        hit = shapely.intersects_xy(polygons[p[k]], xs[col], ys[r[k]])
        out_c.append(col[hit])
        out_r.append(r[k][hit])
        out_p.append(p[k][hit])
    empty = np.empty(0, np.int64)
    return (
        np.concatenate(out_c) if out_c else empty,
        np.concatenate(out_r) if out_r else empty,
        np.concatenate(out_p) if out_p else empty,
    )


def _grid_cells(
    polygons: np.ndarray,
    minx: float,
    miny: float,
    ncol: int,
    nrow: int,
    cell_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (column, row, polygon) of the grid centres in the polygons, row-major.

    Valid polygons are scanned (:func:`_grid_cells_in_polygons`); other geometries
    (invalid ones, collections left by a repair) are tested cell by cell within
    their own bounding boxes. A centre in several geometries goes to the first one,
    as :func:`_assign_to_communes` decides.
    """
    xs = minx + (np.arange(ncol) + 0.5) * cell_m
    ys = miny + (np.arange(nrow) + 0.5) * cell_m
    type_id = shapely.get_type_id(polygons)
    scan = ((type_id == 3) | (type_id == 6)) & shapely.is_valid(polygons)
    found = []
    for sel, cells_of in (
        (scan, _grid_cells_in_polygons),
        (~scan, _grid_cells_in_bounds),
    ):
        if sel.any():
            idx = np.flatnonzero(sel)
            col, row, owner = cells_of(polygons[idx], xs, ys)
            found.append((col, row, idx[owner]))
    if not found:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    if len(found) == 1 and scan.all():
        return found[0]
    col = np.concatenate([f[0] for f in found]).astype(np.int64)
    row = np.concatenate([f[1] for f in found]).astype(np.int64)
    owner = np.concatenate([f[2] for f in found]).astype(np.int64)
    cell = row * np.int64(ncol) + col
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
    communes: gpd.GeoDataFrame, *, cell_m: float = DEFAULT_CELL_M, crs: Any = None
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
        gx, gy, com = _grid_cells(geoms[populated], minx, miny, ncol, nrow, cell_m)
        loc_x.append(minx + (gx + 0.5) * cell_m)
        loc_y.append(miny + (gy + 0.5) * cell_m)
        loc_c.append(idx_map[com])
        loc_ix.append(gx)
        loc_iy.append(gy)
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
    cell_m: float = DEFAULT_CELL_M,
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
