"""Coverage sets by travel time, for the siting solvers (``coverage plan --roads``).

:class:`TimeCover` answers "which sites does each demand cell reach within
``limit_min`` minutes": it builds the travel graph of the cells and the sites and
runs, on the transposed graph, one bounded Dijkstra per site
(``scipy.sparse.csgraph.dijkstra(indices=sites, limit=limit_min)``), a chunk of
sites at a time so that the dense ``chunk x nodes`` distance block stays under
``chunk_bytes``. The result is the same boolean sparse matrix as the straight-line
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

from .graph import build_graph
from .profiles import TravelProfile
from .terrain import DemGrid

__all__ = ["TIME_TOLERANCE_MIN", "TimeCover"]

#: Times up to the limit plus this count as within it (round-off of edge sums).
TIME_TOLERANCE_MIN = 1e-6


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
        n_nodes = int(graph.matrix_t.shape[0])
        nodes = graph.point_nodes
        chunk = max(1, int(self.chunk_bytes // (8 * n_nodes)))
        limit = float(self.limit_min) + TIME_TOLERANCE_MIN
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
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
        row = np.concatenate(rows)
        col = np.concatenate(cols)
        return sparse.csr_matrix(
            (np.ones(len(row), dtype=bool), (row, col)), shape=shape
        )
