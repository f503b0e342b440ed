"""Point catchments: the service area and the people of every point."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ..errors import InputError
from ..geo import WGS84, area_km2
from .core import PopulationSurface, _clip, _commune_union, _point_arrays

__all__ = ["CATCHMENT_COLUMNS", "point_catchments"]

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
