"""Coordinate reference systems, projections and measurements in metric units.

Policy: areas are computed in a Lambert azimuthal equal-area projection centred
on the data (exactly equal-area everywhere, so areas are true to within the
precision of the geometry), distances in the UTM zone of the data's centroid.
Nothing is ever measured in degrees.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from .errors import CRSError

__all__ = [
    "WGS84",
    "area_km2",
    "dissolve_tiling",
    "equal_area_crs",
    "metric_crs",
    "require_crs",
    "to_metric",
    "to_wgs84",
]

WGS84 = CRS.from_epsg(4326)


def require_crs(gdf: gpd.GeoDataFrame, *, what: str, operation: str) -> CRS:
    """Return the CRS of ``gdf`` or raise a :class:`CRSError` that says how to set one.

    Parameters
    ----------
    gdf
        The layer.
    what
        How to name the layer in the message (usually its file name).
    operation
        The operation that needs the CRS, named in the message.
    """
    if gdf.crs is None:
        msg = (
            f"{what}: the layer has no coordinate reference system, so {operation} "
            "is impossible; set one with --crs (e.g. --crs EPSG:4326 for lon/lat "
            "degrees, EPSG:32648 for UTM 48N metres)"
        )
        raise CRSError(msg)
    return CRS.from_user_input(gdf.crs)


def _centroid_lonlat(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    bounds = gdf.to_crs(WGS84).total_bounds if gdf.crs != WGS84 else gdf.total_bounds
    if not np.all(np.isfinite(bounds)):
        msg = "the layer has no non-empty geometry to locate a projection"
        raise CRSError(msg)
    return float((bounds[0] + bounds[2]) / 2), float((bounds[1] + bounds[3]) / 2)


def metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose the UTM CRS (metres) of the centre of ``gdf``'s extent.

    The choice depends on where the data lie, never on the CRS they come in: a
    projected input is not kept, since its scale may be far from true (Web
    Mercator stretches distances by ``1 / cos(latitude)``, 7% at 21°N), and the
    same layer in any CRS gives the same distances.

    Parameters
    ----------
    gdf
        A layer with a CRS.

    Returns
    -------
    pyproj.CRS
        A UTM CRS on WGS84 in metres (for Vietnam north of 16°N e.g. EPSG:32648).
    """
    require_crs(gdf, what="layer", operation="choosing a metric projection")
    lon, lat = _centroid_lonlat(gdf)
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def equal_area_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Return a Lambert azimuthal equal-area CRS centred on ``gdf``'s extent."""
    require_crs(gdf, what="layer", operation="computing areas")
    lon, lat = _centroid_lonlat(gdf)
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )


def area_km2(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Compute the area of every geometry in square kilometres (equal-area projection).

    Parameters
    ----------
    gdf
        Polygons with a CRS.

    Returns
    -------
    numpy.ndarray
        Area in km² per row; 0.0 for empty or missing geometries.
    """
    projected = gdf.geometry.to_crs(equal_area_crs(gdf))
    area = shapely.area(np.asarray(projected.values))
    return np.nan_to_num(np.asarray(area, dtype=float), nan=0.0) / 1e6


def to_metric(gdf: gpd.GeoDataFrame, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs`` or, by default, to :func:`metric_crs` of itself."""
    return gdf.to_crs(crs if crs is not None else metric_crs(gdf))


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to EPSG:4326 (lon/lat) unless it already is."""
    if gdf.crs is not None and CRS.from_user_input(gdf.crs) == WGS84:
        return gdf
    return gdf.to_crs(WGS84)


def dissolve_tiling(
    gdf: gpd.GeoDataFrame, by: str, *, grid_size: float | None = None
) -> gpd.GeoDataFrame:
    """Dissolve polygons that tile the plane (communes into districts, provinces).

    Uses the fast coverage union; where neighbours are not noded exactly (rounded or
    hand-edited boundaries) it refuses, and an overlay union, snapped to
    ``grid_size`` when given, does the work instead.

    Parameters
    ----------
    gdf
        Polygons with a ``by`` column.
    by
        The column to group by (it becomes the index).
    grid_size
        Precision grid of the fallback union, in CRS units (``None``: exact).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per value of ``by``.
    """
    try:
        return gdf.dissolve(by=by, method="coverage")
    except shapely.errors.GEOSException:
        return gdf.dissolve(by=by, grid_size=grid_size)
