"""Travel time from every population cell to its nearest service point.

:func:`travel_times_min` builds the graph (:func:`coverage.travel.graph.build_graph`)
and runs ONE multi-source Dijkstra from all the points on the transposed graph
(``scipy.sparse.csgraph.dijkstra(indices=points, min_only=True)``): the distance it
returns at a cell is the shortest time from that cell to any point, and the source
it reports is that point, so the same run gives the time catchments.

Decisions
---------
* Time is measured from the cell to the point (the planner's trip to the post
  office); with a DEM the way back differs.
* A cell no point can reach (an island without a bridge, a valley cut off by a
  barrier) gets ``inf`` minutes and point ``-1``; it counts as not within any
  threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import dijkstra

from .graph import TravelGraph, build_graph
from .profiles import TravelProfile, load_travel_profile
from .terrain import DemGrid, read_dem

__all__ = [
    "TravelTimes",
    "nearest_times_min",
    "share_within_min",
    "travel_times_min",
]


@dataclass
class TravelTimes:
    """Result of :func:`travel_times_min`.

    Attributes
    ----------
    minutes : numpy.ndarray
        Travel time of every cell to its nearest point, minutes (``inf`` when no
        point is reachable).
    nearest : numpy.ndarray
        Position of that point in ``points_xy`` (``-1`` when unreachable): the
        time catchments.
    graph : TravelGraph
        The graph, for its counts and notes.
    profile : TravelProfile
        The speeds used.
    notes : list of str
        Things the planner should know.
    """

    minutes: np.ndarray
    nearest: np.ndarray
    graph: TravelGraph
    profile: TravelProfile
    notes: list[str] = field(default_factory=list)


def nearest_times_min(graph: TravelGraph) -> tuple[np.ndarray, np.ndarray]:
    """Run one multi-source Dijkstra from the graph's points.

    Parameters
    ----------
    graph
        A graph from :func:`~coverage.travel.graph.build_graph`.

    Returns
    -------
    minutes : numpy.ndarray
        Time of every cell to its nearest point (``inf`` if none is reachable).
    nearest : numpy.ndarray
        Index of that point (0-based among the points, ``-1`` if none).
    """
    n_cells = graph.n_cells
    if graph.n_points == 0:
        return np.full(n_cells, np.inf), np.full(n_cells, -1, dtype=np.int64)
    dist, _, source = dijkstra(
        graph.matrix_t,
        directed=True,
        indices=graph.point_nodes,
        min_only=True,
        return_predecessors=True,
    )
    minutes = np.asarray(dist[:n_cells], dtype=float)
    nearest = np.asarray(source[:n_cells], dtype=np.int64)
    nearest = np.where(nearest >= 0, nearest - graph.point_nodes[0], -1)
    return minutes, nearest


def travel_times_min(
    cells_xy: np.ndarray,
    points_xy: np.ndarray,
    roads: gpd.GeoDataFrame | None,
    *,
    cell_m: float,
    profile: TravelProfile | str | Path = "motorbike",
    crs: CRS | str,
    dem: DemGrid | str | Path | None = None,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray | None = None,
    connect_m: float | None = None,
    road_margin_m: float | None = 20_000.0,
) -> TravelTimes:
    """Compute the travel time in minutes from every cell to its nearest point.

    The trip walks off road from the cell (at the profile's off-road speed, or
    Tobler's hiking function on the DEM's slopes) to the road network or all the
    way, then rides along roads at the mode's speed for each road class, and walks
    off road again to the point. Barrier polygons are crossed only on roads.

    Parameters
    ----------
    cells_xy
        ``(n, 2)`` population cell centres, metres in ``crs`` (e.g.
        ``np.column_stack([surface.x_m, surface.y_m])`` of a
        :class:`coverage.access.PopulationSurface`).
    points_xy
        ``(m, 2)`` service points, metres in ``crs``.
    roads
        Road layer from :func:`coverage.travel.roads.read_roads` (any CRS, it is
        reprojected), or ``None``: walking off road only.
    cell_m
        Cell size of the population grid, metres (the off-road grid step).
    profile
        A :class:`~coverage.travel.profiles.TravelProfile`, a shipped mode name
        (``walk``, ``motorbike``, ``car``) or a TOML path.
    crs
        Projected CRS in metres of ``cells_xy`` and ``points_xy`` (the pipeline's
        local UTM zone).
    dem
        A DEM path (read with rasterio over the area only) or a
        :class:`~coverage.travel.terrain.DemGrid`; ``None`` for flat ground.
    barriers
        Polygons (rivers, lakes) that off-road walks cannot cross, any CRS if a
        GeoDataFrame/GeoSeries, else in ``crs``.
    connect_m
        Longest off-road walk joining a cell or point directly to a road vertex
        (default ``cell_m``); farther cells walk through neighbouring cells.
    road_margin_m
        Roads farther than this from the bounding box of the cells and points are
        left out (a national OSM extract for one province); ``None`` keeps all.
        A detour that leaves the margin is not found.

    Returns
    -------
    TravelTimes
        ``minutes`` and ``nearest`` per cell, the graph and notes.

    Raises
    ------
    InputError
        Bad profile, road classes unknown to the profile, a DEM that does not
        cover every cell, point and road vertex next to them, or a geographic
        ``crs``.

    Examples
    --------
    A 10 km road at 40 km/h with the point at one end:

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from coverage.travel.profiles import parse_travel_profile
    >>> speeds = dict.fromkeys(
    ...     ["motorway", "trunk", "primary", "secondary", "tertiary",
    ...      "unclassified", "residential", "service", "track", "path"], 40.0)
    >>> p = parse_travel_profile({"name": "t", "offroad_speed_kmh": 5.0,
    ...                           "road_speed_kmh": speeds})
    >>> road = gpd.GeoDataFrame({"road_class": ["primary"]},
    ...     geometry=[shapely.LineString([(0, 0), (10_000, 0)])], crs=32648)
    >>> t = travel_times_min(np.array([[10_000.0, 0.0]]), np.array([[0.0, 0.0]]),
    ...     road, cell_m=500, profile=p, crs=32648)
    >>> round(float(t.minutes[0]), 6)
    15.0
    """
    crs = CRS.from_user_input(crs)
    if not isinstance(profile, TravelProfile):
        profile = load_travel_profile(profile)
    cells_xy = np.asarray(cells_xy, dtype=float).reshape(-1, 2)
    points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    located = np.vstack([cells_xy, points_xy])
    margin = float(cell_m if connect_m is None else connect_m)
    lo = located.min(0) - margin if located.size else np.zeros(2)
    hi = located.max(0) + margin if located.size else np.zeros(2)
    if roads is not None and road_margin_m is not None and len(roads) and roads.crs:
        roads = roads.to_crs(crs)
        area = shapely.box(*(lo - road_margin_m), *(hi + road_margin_m))
        roads = roads[roads.geometry.intersects(area)]
    if dem is not None and not isinstance(dem, DemGrid):
        dem = read_dem(
            dem,
            bounds=(lo[0], lo[1], hi[0], hi[1]),
            bounds_crs=crs,
            pixel_m=cell_m / 2.0,
        )
    graph = build_graph(
        cells_xy,
        points_xy,
        roads,
        cell_m=cell_m,
        profile=profile,
        crs=crs,
        dem=dem,
        barriers=barriers,
        connect_m=connect_m,
    )
    minutes, nearest = nearest_times_min(graph)
    notes = list(graph.notes)
    unreachable = int((~np.isfinite(minutes)).sum())
    if unreachable:
        notes.append(f"{unreachable} cell(s) cannot reach any service point")
    return TravelTimes(minutes, nearest, graph, profile, notes)


def share_within_min(
    minutes: np.ndarray, population: np.ndarray, thresholds_min: Sequence[float]
) -> np.ndarray:
    """Return the share of the population within each time threshold.

    Parameters
    ----------
    minutes
        Time per cell (``inf`` for unreachable cells).
    population
        Population per cell (>= 0).
    thresholds_min
        Thresholds in minutes; a cell is within when its time is ``<=`` the
        threshold.

    Returns
    -------
    numpy.ndarray
        One share in ``[0, 1]`` per threshold (NaN when the population is 0).
    """
    minutes = np.asarray(minutes, dtype=float)
    population = np.asarray(population, dtype=float)
    thresholds = np.asarray(thresholds_min, dtype=float)
    total = population.sum()
    if total <= 0:
        return np.full(thresholds.size, np.nan)
    order = np.argsort(minutes, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(population[order])])
    count = np.searchsorted(minutes[order], thresholds, side="right")
    return np.minimum(cumulative[count] / total, 1.0)
