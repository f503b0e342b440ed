"""Terrain: elevations from a DEM and Tobler's off-road walking speed.

Off-road speed on a step of slope ``s`` (rise over run, signed in the direction of
travel) is Tobler's hiking function scaled so that flat ground gives the profile's
off-road speed::

    tobler(s)  = 6 exp(-3.5 |s + 0.05|)                  km/h
    speed(s)   = offroad_speed_kmh * tobler(s) / tobler(0)

``tobler(0) = 6 exp(-0.175) = 5.04 km/h``, so a profile with 4 km/h off road walks
4 km/h on the flat, 4.77 km/h at its fastest (5 % downhill) and 2.8 km/h up a 10 %
slope. Uphill and downhill differ, so the graph's off-road edges are directed.

The DEM is read with rasterio (the optional ``raster`` extra), only over the window
that covers the area, resampled (bilinear) to about half the cell size when it is
finer, and sampled bilinearly at the graph's nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS, Transformer

from ..errors import InputError

__all__ = [
    "DemGrid",
    "elevation_m",
    "offroad_speed_kmh",
    "read_dem",
    "tobler_kmh",
]


def tobler_kmh(slope: np.ndarray | float) -> np.ndarray:
    """Return Tobler's hiking speed on a slope, km/h.

    Parameters
    ----------
    slope
        Rise over run (``0.1`` is 10 % uphill, ``-0.1`` downhill).

    Returns
    -------
    numpy.ndarray
        ``6 exp(-3.5 |slope + 0.05|)``.

    Examples
    --------
    >>> round(float(tobler_kmh(0.0)), 3)
    5.037
    """
    return 6.0 * np.exp(-3.5 * np.abs(np.asarray(slope, dtype=float) + 0.05))


def offroad_speed_kmh(slope: np.ndarray | float, *, flat_kmh: float) -> np.ndarray:
    """Return the off-road speed on a slope, Tobler scaled to ``flat_kmh`` on flat.

    Parameters
    ----------
    slope
        Rise over run in the direction of travel.
    flat_kmh
        Speed on flat ground (the profile's ``offroad_speed_kmh``).

    Returns
    -------
    numpy.ndarray
        ``flat_kmh * tobler(slope) / tobler(0)``.
    """
    return flat_kmh * tobler_kmh(slope) / float(tobler_kmh(0.0))


@dataclass(frozen=True)
class DemGrid:
    """An elevation grid in memory.

    Attributes
    ----------
    elevation_m : numpy.ndarray
        Elevations, rows from north to south, NaN where there is no data.
    transform : tuple of float
        Affine coefficients ``(a, b, c, d, e, f)`` as in rasterio: ``x = a*col +
        b*row + c``, ``y = d*col + e*row + f`` for pixel corners.
    crs : pyproj.CRS
        CRS of the grid.
    name : str
        Where it came from (file name), for messages.
    """

    elevation_m: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: CRS
    name: str = "DEM"


def _rasterio() -> Any:
    try:
        import rasterio
    except ImportError:
        msg = "reading a DEM needs rasterio: pip install 'coverage-planner[raster]'"
        raise InputError(msg) from None
    return rasterio


def read_dem(
    path: str | Path,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: CRS | str | None = None,
    pixel_m: float | None = None,
) -> DemGrid:
    """Read a DEM (GeoTIFF or any raster rasterio opens) into memory.

    Parameters
    ----------
    path
        The raster; band 1 holds elevations in metres.
    bounds, bounds_crs
        Only read the window covering these bounds (``xmin, ymin, xmax, ymax`` in
        ``bounds_crs``), plus a margin of two pixels.
    pixel_m
        Wanted pixel size (in the DEM's units): a finer DEM is resampled
        (bilinear) to about this size while it is read.

    Returns
    -------
    DemGrid

    Raises
    ------
    InputError
        rasterio missing, an unreadable file, no CRS, or bounds outside the DEM.
    """
    rasterio = _rasterio()
    from rasterio.enums import Resampling
    from rasterio.windows import Window, from_bounds

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: DEM file not found")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot read the DEM ({exc})") from None
    with src:
        if src.crs is None:
            msg = f"{path}: the DEM has no CRS; set one (gdal_edit.py -a_srs EPSG:...)"
            raise InputError(msg)
        crs = CRS.from_user_input(src.crs.to_wkt())
        window = Window(0, 0, src.width, src.height)
        if bounds is not None:
            xs, ys = _box_in(bounds, CRS.from_user_input(bounds_crs or crs), crs)
            full = Window(0, 0, src.width, src.height)
            wanted = from_bounds(xs[0], ys[0], xs[1], ys[1], transform=src.transform)
            wanted = Window(
                int(np.floor(wanted.col_off)) - 2,
                int(np.floor(wanted.row_off)) - 2,
                int(np.ceil(wanted.width)) + 5,
                int(np.ceil(wanted.height)) + 5,
            )
            try:
                window = wanted.intersection(full)
            except rasterio.errors.WindowError:
                msg = (
                    f"{path}: the DEM does not cover the area (DEM bounds "
                    f"{tuple(round(v, 3) for v in src.bounds)}, area "
                    f"{tuple(round(v, 3) for v in (xs[0], ys[0], xs[1], ys[1]))} "
                    f"in {crs.to_string()}); use a DEM of the whole area"
                )
                raise InputError(msg) from None
        step = 1
        if pixel_m is not None and pixel_m > 0:
            step = max(1, int(pixel_m // max(abs(src.res[0]), abs(src.res[1]))))
        shape = (max(1, int(window.height) // step), max(1, int(window.width) // step))
        data = src.read(
            1,
            window=window,
            out_shape=shape,
            resampling=Resampling.bilinear,
            masked=True,
        )
        base = src.window_transform(window)
        scale_x = window.width / shape[1]
        scale_y = window.height / shape[0]
        transform = (
            base.a * scale_x,
            base.b * scale_y,
            base.c,
            base.d * scale_x,
            base.e * scale_y,
            base.f,
        )
    elevation = np.ma.filled(data.astype(np.float64), np.nan)
    return DemGrid(elevation, transform, crs, name=str(path))


def _box_in(
    bounds: tuple[float, float, float, float], src: CRS, dst: CRS
) -> tuple[tuple[float, float], tuple[float, float]]:
    if src == dst:
        return (bounds[0], bounds[2]), (bounds[1], bounds[3])
    box = Transformer.from_crs(src, dst, always_xy=True).transform_bounds(
        *bounds, densify_pts=21
    )
    return (box[0], box[2]), (box[1], box[3])


def elevation_m(
    dem: DemGrid, x_m: np.ndarray, y_m: np.ndarray, *, crs: CRS | str
) -> np.ndarray:
    """Sample the DEM bilinearly at points.

    Parameters
    ----------
    dem
        The grid.
    x_m, y_m
        Coordinates in ``crs``.
    crs
        CRS of the coordinates.

    Returns
    -------
    numpy.ndarray
        Elevation at each point, metres.

    Raises
    ------
    InputError
        When some points fall outside the DEM or on no-data pixels; the message
        gives how many and the DEM's extent.
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    crs = CRS.from_user_input(crs)
    if crs != dem.crs:
        x, y = Transformer.from_crs(crs, dem.crs, always_xy=True).transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    a, b, c, d, e, f = dem.transform
    det = a * e - b * d
    col = (e * (x - c) - b * (y - f)) / det - 0.5
    row = (-d * (x - c) + a * (y - f)) / det - 0.5
    z = dem.elevation_m
    n_rows, n_cols = z.shape
    inside = (col >= -0.5) & (col <= n_cols - 0.5) & (row >= -0.5)
    inside &= row <= n_rows - 0.5
    c0 = np.clip(np.floor(col), 0, max(n_cols - 2, 0)).astype(np.intp)
    r0 = np.clip(np.floor(row), 0, max(n_rows - 2, 0)).astype(np.intp)
    c1 = np.minimum(c0 + 1, n_cols - 1)
    r1 = np.minimum(r0 + 1, n_rows - 1)
    tc = np.clip(col - c0, 0.0, 1.0)
    tr = np.clip(row - r0, 0.0, 1.0)
    top = z[r0, c0] * (1 - tc) + z[r0, c1] * tc
    bottom = z[r1, c0] * (1 - tc) + z[r1, c1] * tc
    out = top * (1 - tr) + bottom * tr
    bad = ~inside | ~np.isfinite(out)
    if bad.any():
        height = z.shape[0]
        xs = (c, c + a * n_cols + b * height)
        ys = (f, f + d * n_cols + e * height)
        msg = (
            f"{dem.name}: the DEM does not cover the area: {int(bad.sum())} of "
            f"{bad.size} locations fall outside it or on no-data pixels (DEM extent "
            f"x {min(xs):.3f}..{max(xs):.3f}, y {min(ys):.3f}..{max(ys):.3f} in "
            f"{dem.crs.to_string()}); use a DEM that covers the whole area, or fill "
            "its no-data pixels"
        )
        raise InputError(msg)
    return out
