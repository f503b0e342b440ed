"""Coverage sets by travel time, for the siting solvers (``coverage plan --roads``).

:class:`TimeCover` answers "which sites does each demand cell reach within
``limit_min`` minutes": it builds the travel graph of the cells and the sites and
runs, on the transposed graph, one bounded Dijkstra per site
(``scipy.sparse.csgraph.dijkstra(indices=sites, limit=limit_min)``), a chunk of
sites at a time so that the dense ``chunk x nodes`` distance block stays under
``chunk_bytes`` (:func:`times_within_min`, which the access scores use too, with
the minutes). The result is the same boolean sparse matrix as the straight-line
:func:`coverage.plan.matrix.build_coverage_matrix`, so the solvers are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from .graph import TravelGraph, build_graph
from .profiles import TravelProfile
from .terrain import DemGrid

__all__ = ["TIME_TOLERANCE_MIN", "TimeCover", "times_within_min"]

#: Times up to the limit plus this count as within it (round-off of edge sums).
TIME_TOLERANCE_MIN = 1e-6


def times_within_min(
    graph: TravelGraph, limit_min: float, *, chunk_bytes: float = 64e6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (cell, point) pair of ``graph`` within ``limit_min`` and its minutes.

    Bounded Dijkstra from every point on the transposed graph (so the times are
    from the cell to the point), a chunk of points per call so that the dense
    ``chunk x nodes`` block stays under ``chunk_bytes``.

    Parameters
    ----------
    graph
        A graph from :func:`~coverage.travel.graph.build_graph`.
    limit_min
        Largest time kept; times up to ``limit_min + TIME_TOLERANCE_MIN`` count.
    chunk_bytes
        Largest dense distance block of one Dijkstra call, bytes.

    Returns
    -------
    cell, point, minutes : numpy.ndarray
        Cell index, point index (0-based among the points) and time of every pair,
        ordered by point then cell.
    """
    nodes = graph.point_nodes
    if len(nodes) == 0 or graph.n_cells == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    n_nodes = int(graph.matrix_t.shape[0])
    chunk = max(1, int(chunk_bytes // (8 * n_nodes)))
    limit = float(limit_min) + TIME_TOLERANCE_MIN
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    times: list[np.ndarray] = []
    for start in range(0, len(nodes), chunk):
        block = dijkstra(
            graph.matrix_t,
            directed=True,
            indices=nodes[start : start + chunk],
            limit=limit,
        )[:, : graph.n_cells]
        site, cell = np.nonzero(block <= limit)
        rows.append(cell)
        cols.append(site + start)
        times.append(block[site, cell])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(times)


@dataclass
class TimeCover:
    """Demand x site coverage by travel time (a ``cover_fn`` of the planner).

    Attributes
    ----------
    limit_min
        A site covers a cell whose travel time to the site is ``<= limit_min``.
    roads, profile, crs, cell_m, dem, barriers
        As for :func:`coverage.travel.graph.build_graph` (``dem`` already read).
    chunk_bytes
        Largest dense distance block of one Dijkstra chunk, bytes.
    """

    limit_min: float
    roads: gpd.GeoDataFrame | None
    profile: TravelProfile
    crs: CRS
    cell_m: float
    dem: DemGrid | None = None
    barriers: Any = None
    chunk_bytes: float = 64e6

    def __call__(self, demand_xy: np.ndarray, site_xy: np.ndarray) -> sparse.csr_matrix:
        """Return the boolean ``(n_demand, n_sites)`` coverage matrix.

        Parameters
        ----------
        demand_xy
            ``(n, 2)`` demand cell centres, metres in ``crs`` (the whole grid:
            off-road walks pass through the cells).
        site_xy
            ``(m, 2)`` sites, metres in ``crs``.

        Returns
        -------
        scipy.sparse.csr_matrix
            ``True`` where the cell reaches the site within ``limit_min``.
        """
        demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
        site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
        shape = (len(demand_xy), len(site_xy))
        if 0 in shape:
            return sparse.csr_matrix(shape, dtype=bool)
        graph = build_graph(
            demand_xy,
            site_xy,
            self.roads,
            cell_m=self.cell_m,
            profile=self.profile,
            crs=self.crs,
            dem=self.dem,
            barriers=self.barriers,
        )
        row, col, _ = times_within_min(
            graph, self.limit_min, chunk_bytes=self.chunk_bytes
        )
        return sparse.csr_matrix(
            (np.ones(len(row), dtype=bool), (row, col)), shape=shape
        )
