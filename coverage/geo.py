"""Coordinate reference systems, projections and measurements in metric units.

Policy: areas are computed in a Lambert azimuthal equal-area projection centred
on the data (exactly equal-area everywhere, so areas are true to within the
precision of the geometry), distances in the UTM zone of the data's centroid.
Nothing is ever measured in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from .errors import CRSError

__all__ = [
    "VIETNAM_AREA_KM2",
    "WGS84",
    "CommuneProblem",
    "area_km2",
    "dissolve_tiling",
    "equal_area_crs",
    "implausible_communes",
    "metric_crs",
    "require_crs",
    "to_metric",
    "to_wgs84",
]

WGS84 = CRS.from_epsg(4326)
VIETNAM_AREA_KM2 = 331_000.0
# Cylindrical equal-area on the whole globe: unlike a projection centred on the
# data it has no singular point, so even a world-sized stray polygon gets its area.
_GLOBAL_EQUAL_AREA = CRS.from_proj4(
    "+proj=cea +lon_0=0 +lat_ts=0 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)


def require_crs(
    gdf: gpd.GeoDataFrame, *, what: str, operation: str, fix: str | None = None
) -> CRS:
    """Return the CRS of ``gdf`` or raise a :class:`CRSError` that says how to set one.

    Parameters
    ----------
    gdf
        The layer.
    what
        How to name the layer in the message (usually its file name).
    operation
        The operation that needs the CRS, named in the message.
    fix
        How to set the CRS of this layer (default: the ``--crs`` option).
    """
    if gdf.crs is None:
        fix = fix or (
            "set one with --crs (e.g. --crs EPSG:4326 for lon/lat degrees, "
            "EPSG:32648 for UTM 48N metres)"
        )
        msg = (
            f"{what}: the layer has no coordinate reference system, so {operation} "
            f"is impossible; {fix}"
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
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if not (~(shapely.is_missing(geoms) | shapely.is_empty(geoms))).any():
        require_crs(gdf, what="layer", operation="computing areas")
        return np.zeros(len(gdf), dtype=float)
    projected = gdf.geometry.to_crs(equal_area_crs(gdf))
    with np.errstate(invalid="ignore", over="ignore"):
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


@dataclass(frozen=True)
class CommuneProblem:
    """A commune geometry that cannot be right, found by :func:`implausible_communes`.

    Attributes
    ----------
    kind : str
        ``"too_large"``, ``"contains_most"`` or ``"overlap"``.
    indices : tuple of int
        Positions (0-based) of the features concerned: one, or the overlapping pair.
    problem : str
        What is wrong, naming the features (1-based, as ``feature N``) and their codes.
    fix : str
        How to fix it.
    """

    kind: str
    indices: tuple[int, ...]
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}"


def _feature_labels(gdf: gpd.GeoDataFrame) -> np.ndarray:
    numbers = np.char.add("feature ", (np.arange(len(gdf)) + 1).astype(str))
    if "commune_code" not in gdf.columns:
        return numbers.astype(object)
    codes = gdf["commune_code"].astype(str).to_numpy(dtype=str)
    labels = np.char.add(np.char.add(np.char.add(numbers, " (code "), codes), ")")
    return labels.astype(object)


def _intersection_area(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(shapely.area(shapely.intersection(left, right)), float)
    except shapely.errors.GEOSException:
        repaired = shapely.intersection(
            shapely.make_valid(left), shapely.make_valid(right)
        )
        return np.asarray(shapely.area(repaired), float)


def _off_coverage(geoms: np.ndarray) -> np.ndarray:
    """Flag polygons whose edges do not match their neighbours' (possible overlaps).

    Checking the layer as a polygonal coverage costs a fraction of intersecting
    every pair of neighbours, and a layer that tiles exactly needs nothing more.
    """
    invalid_edges = getattr(shapely, "coverage_invalid_edges", None)
    if invalid_edges is None or len(geoms) == 0:
        return np.ones(len(geoms), dtype=bool)
    try:
        return ~shapely.is_empty(invalid_edges(geoms))
    except shapely.errors.GEOSException:
        return np.ones(len(geoms), dtype=bool)


def implausible_communes(
    gdf: gpd.GeoDataFrame,
    *,
    max_area_km2: float = VIETNAM_AREA_KM2,
    max_area_ratio: float = 50.0,
    max_overlap_share: float = 0.05,
) -> list[CommuneProblem]:
    """Find communes whose geometry cannot be right: huge, containing, overlapping.

    A commune is implausible when its area is both more than ``max_area_ratio``
    times the median commune's and more than ``max_area_km2`` (a stray world or
    country outline), or when it contains the interior points of more than half of
    the other communes. Two communes overlap when their intersection exceeds
    ``max_overlap_share`` of the smaller one (a polygon copied under a second code);
    pairs involving a feature already reported as implausible are not repeated.

    Parameters
    ----------
    gdf
        The commune layer, with a CRS; ``commune_code``, when present, is named in
        the messages.
    max_area_km2
        Area no commune can exceed, km² (default: Vietnam's, 331,000 km²).
    max_area_ratio
        How many times the median commune's area a commune may reach.
    max_overlap_share
        Share of the smaller commune two communes may have in common (slivers of
        imperfect boundaries stay below it).

    Returns
    -------
    list of CommuneProblem
        The too-large features, then the containing ones, then the overlapping
        pairs ordered by their first feature; empty when every geometry is
        plausible. Missing and empty geometries are ignored.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> layer = gpd.GeoDataFrame(
    ...     {"commune_code": ["A", "B", "C"]},
    ...     geometry=[box(105, 21, 105.1, 21.1), box(105.1, 21, 105.2, 21.1),
    ...               box(105, 21, 105.1, 21.1)], crs=4326)
    >>> [(p.kind, p.indices) for p in implausible_communes(layer)]
    [('overlap', (0, 2))]
    """
    require_crs(gdf, what="the communes layer", operation="checking areas")
    raw = np.asarray(gdf.geometry.values, dtype=object)
    usable = np.flatnonzero(~(shapely.is_missing(raw) | shapely.is_empty(raw)))
    if len(usable) == 0:
        return []
    geoms = np.asarray(
        gdf.geometry.iloc[usable].to_crs(_GLOBAL_EQUAL_AREA).values, dtype=object
    )
    area = np.nan_to_num(np.asarray(shapely.area(geoms), float), nan=0.0) / 1e6
    labels = _feature_labels(gdf)[usable]
    problems: list[CommuneProblem] = []
    flagged = np.zeros(len(usable), dtype=bool)

    median = float(np.median(area))
    too_large = (area > max_area_km2) & (area > max_area_ratio * median)
    for i in np.flatnonzero(too_large):
        times = f"{area[i] / median:,.0f} times" if median > 0 else "far beyond"
        problems.append(
            CommuneProblem(
                "too_large",
                (int(usable[i]),),
                f"{labels[i]}: area {area[i]:,.0f} km², {times} the median commune "
                f"({median:,.2f} km²) and more than {max_area_km2:,.0f} km²",
                "remove it or fix its coordinates (a stray outline of a country "
                "or of the world?)",
            )
        )
    flagged |= too_large

    others = len(usable) - 1
    if others >= 2:
        inner = shapely.point_on_surface(geoms)
        holder, held = shapely.STRtree(inner).query(geoms, predicate="contains")
        keep = holder != held
        contained = np.bincount(holder[keep], minlength=len(usable))
        most = contained * 2 > others
        for i in np.flatnonzero(most):
            problems.append(
                CommuneProblem(
                    "contains_most",
                    (int(usable[i]),),
                    f"{labels[i]} contains {contained[i]} of the {others} other "
                    "communes",
                    "remove it (a district, province or country outline mixed "
                    "into the commune layer?)",
                )
            )
        flagged |= most

    rest = np.flatnonzero(~flagged)
    suspects = rest[_off_coverage(geoms[rest])]
    found, right = shapely.STRtree(geoms).query(geoms[suspects], predicate="intersects")
    left = suspects[found]
    left, right = np.minimum(left, right), np.maximum(left, right)
    pair = (left < right) & ~flagged[left] & ~flagged[right]
    left, right = np.unique(np.column_stack([left[pair], right[pair]]), axis=0).T
    common = _intersection_area(geoms[left], geoms[right]) / 1e6
    smaller = np.minimum(area[left], area[right])
    share = np.divide(common, smaller, out=np.zeros_like(common), where=smaller > 0)
    overlapping = np.flatnonzero(share > max_overlap_share)
    order = np.lexsort((right[overlapping], left[overlapping]))
    for k in overlapping[order]:
        i, j = left[k], right[k]
        problems.append(
            CommuneProblem(
                "overlap",
                (int(usable[i]), int(usable[j])),
                f"{labels[i]} and {labels[j]} overlap on {share[k]:.0%} of the "
                f"smaller one ({common[k]:,.2f} km²)",
                "communes must not overlap: remove the duplicate or fix the boundaries",
            )
        )
    return problems
