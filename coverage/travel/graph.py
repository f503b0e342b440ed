"""One sparse directed graph of roads, population cells and service points.

Nodes, in this order:

1. the population cells (``n_cells``), joined to their neighbours within
   ``1.5 * cell_m`` (the 8-neighbour grid for cells on a regular grid) by off-road
   walking edges;
2. the road vertices (``n_road``): the roads' vertices after densifying every line
   to at most ``cell_m / 2`` between vertices and snapping vertices closer than
   ``snap_m``, joined along the roads at the mode's speed for the road class
   (one way only along a one-way line, ``oneway`` of the road layer, except on
   foot);
3. the service points (``n_points``), each joined by an off-road walk to the cell
   it lies in and that cell's 8 neighbours (its two nearest cells if it lies in
   none) and to its two nearest road vertices within ``connect_m``.

Every road vertex is also joined by an off-road walk to the cell it lies in (its
nearest cell if it lies in none) within ``connect_m`` (default ``cell_m``):
the walk from the cell centre to the road; a cell no road passes walks to a
neighbouring cell first. Edge weights are minutes; off-road weights follow the
slope when a DEM is given (:func:`coverage.travel.terrain.offroad_speed_kmh`), so
they differ uphill and downhill.

Barriers (rivers, lakes) remove every off-road edge whose segment intersects one;
road edges are never removed, so a road crosses a river exactly where the road
layer does (its bridges and fords). A cell whose centre lies inside a barrier is
joined to its nearest cell outside every barrier only (it is reached from that
bank).

Road speed of a line: the profile's speed for its class; where the road layer gives
``speed_kmh``, that speed capped at the mode's fastest road speed. Classes with
speed 0 in the profile (pedestrians on motorways) are left out.

The matrix is stored transposed (``matrix_t[v, u]`` is the time of ``u -> v``), so
one Dijkstra from the points gives the time from every cell *to* its nearest point.
Everything is built with numpy, shapely and cKDTree; there is no Python loop over
nodes or edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import InputError
from .profiles import TravelProfile
from .terrain import DemGrid, elevation_m, offroad_speed_kmh

__all__ = ["TravelGraph", "build_graph"]

_MIN_EDGE_MIN = 1e-9
# numpy private switches, absent from some versions: then nothing is changed
_MULTIARRAY = getattr(getattr(np, "_core", None), "multiarray", None)


@contextmanager
def _huge_pages(enabled: bool) -> Iterator[None]:
    """Let numpy ask for huge pages on new large arrays, or not, for a while.

    The build's many short-lived temporaries spend more time in the kernel
    (huge-page faults that compact memory) than in numpy; the matrix itself keeps
    huge pages, which the Dijkstra's random reads profit from.
    """
    get = getattr(_MULTIARRAY, "_get_madvise_hugepage", None)
    set_ = getattr(_MULTIARRAY, "_set_madvise_hugepage", None)
    if get is None or set_ is None:
        yield
        return
    before = bool(get())
    set_(enabled)
    try:
        yield
    finally:
        set_(before)


_M_PER_MIN_PER_KMH = 1000.0 / 60.0


@dataclass
class TravelGraph:
    """The travel graph and what its nodes are.

    Attributes
    ----------
    matrix_t : scipy.sparse.csr_matrix
        Transposed adjacency: ``matrix_t[v, u]`` is the time in minutes of the
        edge ``u -> v``.
    n_cells, n_road, n_points : int
        Node counts; cells are nodes ``0 .. n_cells-1``, road vertices follow,
        then the points.
    edge_counts : dict of str to int
        Directed edges by kind: ``road``, ``offroad``, ``connector``, ``point``,
        ``barrier_leaf``.
    notes : list of str
        Things the planner should know (points left unattached, ...).
    """

    matrix_t: sparse.csr_matrix
    n_cells: int
    n_road: int
    n_points: int
    edge_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def point_nodes(self) -> np.ndarray:
        """Node index of every service point."""
        start = self.n_cells + self.n_road
        return np.arange(start, start + self.n_points)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.matrix_t.nnz)


def _road_speeds(roads: gpd.GeoDataFrame, profile: TravelProfile) -> np.ndarray:
    classes = roads["road_class"].to_numpy(dtype=object)
    unknown = sorted(set(classes) - set(profile.road_speed_kmh))
    if unknown:
        msg = (
            f"roads: unknown road class(es) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(profile.road_speed_kmh)}; read the layer with "
            "coverage.travel.roads.read_roads (class_map=...) first"
        )
        raise InputError(msg)
    speed = np.array(roads["road_class"].map(profile.road_speed_kmh), dtype=float)
    if "speed_kmh" in roads:
        given = roads["speed_kmh"].to_numpy(dtype=float, na_value=np.nan)
        top = max(profile.road_speed_kmh.values())
        use = np.isfinite(given) & (given > 0) & (speed > 0)
        speed[use] = np.minimum(given[use], top)
    return speed


def _road_network(
    roads: gpd.GeoDataFrame | None,
    profile: TravelProfile,
    *,
    crs: CRS,
    max_step_m: float,
    snap_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return road vertex coordinates and directed edges (src, dst, minutes).

    The edges are sorted by destination, then source.
    """
    empty = np.empty(0, dtype=np.int64)
    if roads is None or len(roads) == 0:
        return np.empty((0, 2)), empty, empty, np.empty(0)
    if roads.crs is None:
        raise InputError("roads: the road layer has no CRS; set one in the file")
    if CRS.from_user_input(roads.crs) != crs:
        roads = roads.to_crs(crs)
    speed = _road_speeds(roads, profile)
    keep = speed > 0
    lines = shapely.segmentize(roads.geometry.to_numpy()[keep], max_step_m)
    speed = speed[keep]
    direction = np.zeros(speed.size, dtype=np.int8)
    if "oneway" in roads and profile.mode != "walk":
        given = roads["oneway"].to_numpy(dtype=float, na_value=0.0)[keep]
        direction = np.sign(given).astype(np.int8)
    coords, line = shapely.get_coordinates(lines, return_index=True)
    if coords.shape[0] < 2:
        return np.empty((0, 2)), empty, empty, np.empty(0)
    scaled = coords - coords.min(0)
    scaled /= snap_m
    grid = np.round(scaled, out=scaled).astype(np.int64)
    key = grid[:, 0] * (int(grid[:, 1].max()) + 1) + grid[:, 1]
    order, start, size = _groups(key)
    n_vertices = start.size
    inverse = np.empty(key.size, dtype=np.int64)
    inverse[order] = np.repeat(np.arange(n_vertices), size)
    # The first occurrence of each snapped vertex, as np.unique(return_index=True).
    vertices = coords[np.minimum.reduceat(order, start)]
    same = line[1:] == line[:-1]
    u = inverse[:-1][same]
    v = inverse[1:][same]
    # Lengths between the snapped vertices keep the triangle inequality exact.
    length = np.hypot(*(vertices[v] - vertices[u]).T)
    minutes = length / (speed[line[:-1][same]] * _M_PER_MIN_PER_KMH)
    way = direction[line[:-1][same]]
    ok = u != v
    u, v, minutes, way = u[ok], v[ok], minutes[ok], way[ok]
    if u.size == 0:
        return vertices, empty, empty, np.empty(0)
    if way.any():
        along, back = way >= 0, way <= 0
        u, v = np.concatenate([u[along], v[back]]), np.concatenate([v[along], u[back]])
        minutes = np.concatenate([minutes[along], minutes[back]])
    else:
        u, v = np.concatenate([u, v]), np.concatenate([v, u])
        minutes = np.concatenate([minutes, minutes])
    edge = v * np.int64(n_vertices) + u
    order, start, _ = _groups(edge)
    edge = edge[order[start]]
    # An edge drawn twice (two lines along one street) keeps its fastest time.
    best = np.minimum.reduceat(minutes[order], start)
    return vertices, edge % n_vertices, edge // n_vertices, best


def _groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the order sorting ``key`` and the start and size of each run."""
    order = np.argsort(key)
    ordered = key[order]
    head = np.empty(key.size, dtype=bool)
    head[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=head[1:])
    start = np.flatnonzero(head)
    return order, start, np.diff(start, append=key.size)


def _neighbours(
    tree: cKDTree, xy: np.ndarray, *, k: int, radius_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (query index, tree index, distance) of neighbours within a radius."""
    if xy.shape[0] == 0 or tree.n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    k = min(k, tree.n)
    dist, idx = tree.query(xy, k=k, distance_upper_bound=radius_m, workers=-1)
    dist = dist.reshape(xy.shape[0], k)
    idx = idx.reshape(xy.shape[0], k)
    found = np.isfinite(dist)
    rows = np.broadcast_to(np.arange(xy.shape[0])[:, None], idx.shape)
    return rows[found].astype(np.int64), idx[found].astype(np.int64), dist[found]


@dataclass
class _Pairs:
    """Off-road pairs of one kind, walked both ways: ``u -> v`` and ``v -> u``.

    ``unique_u`` / ``unique_v`` say that no node occurs twice in ``u`` / ``v``
    (it can then be placed in the matrix without sorting).
    """

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray | float
    kind: int
    unique_u: bool = False
    unique_v: bool = False

    def take(self, keep: np.ndarray) -> _Pairs:
        """Return the pairs where ``keep`` is true."""
        length = self.length_m
        if isinstance(length, np.ndarray):
            length = length[keep]
        return _Pairs(
            self.u[keep], self.v[keep], length, self.kind, self.unique_u, self.unique_v
        )


_DENSE_TABLE_MAX = 64_000_000
_OFFSETS = ((1, 0), (0, 1), (1, 1), (-1, 1))


class _CellGrid:
    """Find cells by grid column and row (a dense table, or sorted keys if huge)."""

    def __init__(self, cells_xy: np.ndarray, cell_m: float) -> None:
        self.cells_xy = cells_xy
        self.cell_m = cell_m
        n = cells_xy.shape[0]
        self.origin = cells_xy.min(0) if n else np.zeros(2)
        scaled = (cells_xy - self.origin) / cell_m
        ij = np.rint(scaled)
        self.on_grid: np.ndarray = np.asarray((np.abs(scaled - ij) < 1e-6).all(1))
        ij = ij.astype(np.int64) + 1
        self.width = int(ij[:, 0].max()) + 2 if n else 2
        self.height = int(ij[:, 1].max()) + 2 if n else 2
        self.on = np.flatnonzero(self.on_grid)
        self.key = ij[self.on, 1] * self.width + ij[self.on, 0]
        self.table: np.ndarray | None = None
        if self.width * self.height <= max(_DENSE_TABLE_MAX, 8 * n):
            self.table = np.full(self.width * self.height, -1, dtype=np.int64)
            self.table[self.key] = self.on
            self.unique_keys = bool((self.table[self.key] == self.on).all())
        else:
            order = np.argsort(self.key, kind="stable")
            self.sorted_key = self.key[order]
            self.sorted_cell = self.on[order]
            self.unique_keys = bool((self.sorted_key[1:] != self.sorted_key[:-1]).all())
        self._tree: cKDTree | None = None

    @property
    def tree(self) -> cKDTree:
        """KD-tree of all cells, built on first use."""
        if self._tree is None:
            self._tree = cKDTree(
                self.cells_xy, balanced_tree=False, compact_nodes=False
            )
        return self._tree

    def tree_near(
        self, centres_xy: np.ndarray, others_xy: np.ndarray, *, radius_m: float
    ) -> tuple[cKDTree, np.ndarray | None]:
        """Return a KD-tree of the ``others_xy`` that may lie near a centre.

        The tree holds every location within ``radius_m`` of a centre (found by
        grid slots, not distances), so a query within ``radius_m`` finds what a
        tree of all of them finds; the second value maps the tree's indices back
        (``None``: the tree holds all, and for ``others_xy is cells_xy`` it is
        :attr:`tree`).
        """
        reach = int(np.ceil(radius_m / self.cell_m)) + 1 if np.isfinite(radius_m) else 0
        size = self.width * self.height
        if (
            not np.isfinite(radius_m)
            or self.table is None
            or (2 * reach + 1) ** 2 * centres_xy.shape[0] > size
        ):
            if others_xy is self.cells_xy:
                return self.tree, None
            tree = cKDTree(others_xy, balanced_tree=False, compact_nodes=False)
            return tree, None
        mark = np.zeros(size, dtype=bool)
        ci, cj = self._slots(centres_xy)
        # A loop over the window's offsets only.
        for dx in range(-reach, reach + 1):
            for dy in range(-reach, reach + 1):
                i, j = ci + dx, cj + dy
                ok = (i >= 0) & (i < self.width) & (j >= 0) & (j < self.height)
                mark[j[ok] * self.width + i[ok]] = True
        near = np.ones(others_xy.shape[0], dtype=bool)
        if others_xy is self.cells_xy:
            near[self.on] = mark[self.key]
        else:
            oi, oj = self._slots(others_xy)
            ok = (oi >= 0) & (oi < self.width) & (oj >= 0) & (oj < self.height)
            near[ok] = mark[oj[ok] * self.width + oi[ok]]
        ids = np.flatnonzero(near)
        tree = cKDTree(others_xy[ids], balanced_tree=False, compact_nodes=False)
        return tree, ids

    def _nearest(
        self, xy: np.ndarray, *, k: int, radius_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (location, cell) of the ``k`` nearest cells within ``radius_m``.

        A tree of the cells within two cells of the locations answers first; only
        a location it leaves short of ``k`` cells asks the tree of all cells.
        """
        k = min(k, self.cells_xy.shape[0])
        first_m = min(radius_m, 2.0 * self.cell_m)
        tree, ids = self.tree_near(xy, self.cells_xy, radius_m=first_m)
        if ids is None or tree.n < k:
            qi, qj, _ = _neighbours(self.tree, xy, k=k, radius_m=radius_m)
            return qi, qj
        dist, idx = tree.query(xy, k=k, distance_upper_bound=first_m, workers=-1)
        dist = dist.reshape(xy.shape[0], k)
        idx = idx.reshape(xy.shape[0], k)
        found = np.isfinite(dist)
        idx = np.where(found, ids[np.minimum(idx, ids.size - 1)], -1)
        short = np.flatnonzero(~found.all(1))
        if short.size and radius_m > first_m:
            dist, again = self.tree.query(
                xy[short], k=k, distance_upper_bound=radius_m, workers=-1
            )
            dist = dist.reshape(short.size, k)
            again = again.reshape(short.size, k)
            found[short] = np.isfinite(dist)
            idx[short] = again
        rows = np.broadcast_to(np.arange(xy.shape[0])[:, None], idx.shape)
        return rows[found].astype(np.int64), idx[found].astype(np.int64)

    def _slots(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ij = np.rint((xy - self.origin) / self.cell_m).astype(np.int64) + 1
        return ij[:, 0], ij[:, 1]

    def lookup(self, key: np.ndarray) -> np.ndarray:
        """Return the cell at each key, ``-1`` where there is none."""
        inside = (key >= 0) & (key < self.width * self.height)
        out = np.full(key.size, -1, dtype=np.int64)
        if self.table is not None:
            out[inside] = self.table[key[inside]]
            return out
        if self.sorted_key.size == 0:
            return out
        pos = np.searchsorted(self.sorted_key, key[inside])
        pos = np.minimum(pos, self.sorted_key.size - 1)
        found = self.sorted_key[pos] == key[inside]
        out[np.flatnonzero(inside)[found]] = self.sorted_cell[pos[found]]
        return out

    def keys_of(self, xy: np.ndarray) -> np.ndarray:
        """Return the grid key of the cell containing each location."""
        ij = np.rint((xy - self.origin) / self.cell_m).astype(np.int64) + 1
        ok = (ij[:, 0] >= 1) & (ij[:, 0] < self.width - 1)
        ok &= (ij[:, 1] >= 1) & (ij[:, 1] < self.height - 1)
        return np.where(ok, ij[:, 1] * self.width + ij[:, 0], -1)

    def pairs(self) -> list[_Pairs]:
        """Return each pair of neighbouring cells once (8-neighbours on the grid)."""
        out = []
        # Four forward offsets give every grid pair once; a loop over offsets only.
        for dx, dy in _OFFSETS:
            target = self.key + (dy * self.width + dx)
            # The table's empty border holds every neighbour of a grid cell.
            other = self.table[target] if self.table is not None else None
            if other is None:
                other = self.lookup(target)
            hit = np.flatnonzero(other >= 0)
            length = float(self.cell_m * np.hypot(dx, dy))
            unique = self.unique_keys
            out.append(_Pairs(self.on[hit], other[hit], length, 0, True, unique))
        off = np.flatnonzero(~self.on_grid)
        if off.size:
            # Cells off the grid (a small commune's representative point) join any
            # cell within 1.5 cells; a pair of two such cells is kept once.
            qi, qj, dist = _neighbours(
                self.tree, self.cells_xy[off], k=9, radius_m=1.5 * self.cell_m
            )
            qi = off[qi]
            keep = (qi != qj) & (self.on_grid[qj] | (qi < qj))
            out.append(_Pairs(qi[keep], qj[keep], dist[keep], 0))
        return out

    def near(
        self, xy: np.ndarray, *, radius_m: float, ring: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Join locations to the cell containing them (and its ring of 8).

        Locations with no containing grid cell get their nearest cell instead.
        Returns (location index, cell index, distance) within ``radius_m``.
        """
        key = self.keys_of(xy)
        offsets = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        rows, cells = [], []
        for dx, dy in offsets if ring else [(0, 0)]:
            other = self.lookup(np.where(key >= 0, key + dy * self.width + dx, -1))
            hit = np.flatnonzero(other >= 0)
            rows.append(hit)
            cells.append(other[hit])
        row = np.concatenate(rows)
        cell = np.concatenate(cells)
        missing = np.ones(xy.shape[0], dtype=bool)
        missing[row] = False
        lost = np.flatnonzero(missing)
        if lost.size and self.cells_xy.shape[0]:
            qi, qj = self._nearest(xy[lost], k=2, radius_m=radius_m)
            row = np.concatenate([row, lost[qi]])
            cell = np.concatenate([cell, qj])
        dist = np.hypot(*(xy[row] - self.cells_xy[cell]).T)
        ok = dist <= radius_m
        return row[ok], cell[ok], dist[ok]


def _crossing(
    barriers: np.ndarray,
    xy: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    reach_m: float,
) -> np.ndarray:
    """Return which segments ``xy[u] -> xy[v]`` intersect a barrier polygon."""
    out = np.zeros(u.size, dtype=bool)
    if barriers.size == 0 or u.size == 0:
        return out
    tree = shapely.STRtree(barriers)
    near_node = np.zeros(xy.shape[0], dtype=bool)
    hit = tree.query(shapely.points(xy), predicate="dwithin", distance=reach_m)[0]
    near_node[hit] = True
    # A segment no longer than reach_m can only meet a barrier near its start.
    near = near_node[u] | (np.hypot(*(xy[v] - xy[u]).T) > reach_m)
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return out
    segments = shapely.linestrings(np.stack([xy[u[idx]], xy[v[idx]]], axis=1))
    crossed = tree.query(segments, predicate="intersects")[0]
    out[idx[crossed]] = True
    return out


def _barrier_parts(barriers: object, *, crs: CRS) -> np.ndarray:
    if barriers is None:
        return np.empty(0, dtype=object)
    if isinstance(barriers, gpd.GeoDataFrame | gpd.GeoSeries):
        if barriers.crs is None:
            msg = "barriers: the barrier layer has no CRS; set one in the file"
            raise InputError(msg)
        layer = barriers
        if CRS.from_user_input(barriers.crs) != crs:
            layer = barriers.to_crs(crs)
        geoms = np.asarray(layer.geometry.to_numpy())
    else:
        geoms = np.asarray(barriers, dtype=object).ravel()
    parts = shapely.get_parts(geoms[~shapely.is_missing(geoms)])
    parts = parts[np.isin(shapely.get_type_id(parts), (3,)) & ~shapely.is_empty(parts)]
    if parts.size == 0 and geoms.size:
        msg = "barriers: no polygon in the barrier layer (rivers and lakes as areas)"
        raise InputError(msg)
    return parts


def _offroad_minutes(
    length_m: np.ndarray | float, rise_m: np.ndarray | None, profile: TravelProfile
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Return minutes forward (rise as given) and backward (rise negated)."""
    flat = profile.offroad_speed_kmh
    if rise_m is None:
        t = length_m / (flat * _M_PER_MIN_PER_KMH)
        return t, t
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(length_m > 0, rise_m / length_m, 0.0)
    forward = length_m / (offroad_speed_kmh(slope, flat_kmh=flat) * _M_PER_MIN_PER_KMH)
    backward = length_m / (
        offroad_speed_kmh(-slope, flat_kmh=flat) * _M_PER_MIN_PER_KMH
    )
    return forward, backward


def _cut_by_barriers(
    pairs: list[_Pairs],
    parts: np.ndarray,
    xy: np.ndarray,
    cells_xy: np.ndarray,
    cell_m: float,
    connect_m: float,
) -> tuple[list[_Pairs], list[_Pairs]]:
    """Drop the pairs crossing a barrier; return them and the leaves of inside cells."""
    reach = max(1.5 * cell_m, connect_m)
    u = np.concatenate([pair.u for pair in pairs])
    v = np.concatenate([pair.v for pair in pairs])
    keep = ~_crossing(parts, xy, u, v, reach_m=reach)
    stops = np.cumsum([pair.u.size for pair in pairs])
    kept = [
        pair.take(mask)
        for pair, mask in zip(pairs, np.split(keep, stops[:-1]), strict=True)
    ]
    n_cells = cells_xy.shape[0]
    inside = np.zeros(n_cells, dtype=bool)
    within = shapely.STRtree(parts).query(shapely.points(cells_xy), "within")
    inside[within[0]] = True
    if not inside.any() or inside.all():
        return kept, []
    outside = np.flatnonzero(~inside)
    leaf_l, nearest = cKDTree(cells_xy[outside]).query(cells_xy[inside], workers=-1)
    leaf = _Pairs(np.flatnonzero(inside), outside[nearest], leaf_l, 3, unique_u=True)
    return kept, [leaf]


_Group = tuple[np.ndarray, np.ndarray, np.ndarray, bool]


def _assemble(groups: list[_Group], n: int) -> sparse.csr_matrix:
    """Return the CSR matrix of directed edges ``(row, column, minutes, unique)``.

    Within a row the entries keep the order of the groups and, within a group,
    their order in it: the layout ``coo_matrix.tocsr`` gives the concatenated
    edges, built without the concatenation, the COO arrays and the conversion.
    ``unique`` says that no row occurs twice in the group.
    """
    counts = np.zeros(n, dtype=np.int64)
    plans: list[
        tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None
    ]
    plans = []
    for row, _, _, unique in groups:
        if unique or row.size == 0:
            counts[row] += 1
            plans.append(None)
            continue
        if np.all(row[1:] >= row[:-1]):
            order, ordered = None, row
        else:
            # A unique key makes the fast unstable sort keep the group's order.
            key = row.astype(np.int64) * row.size + np.arange(row.size)
            order = np.argsort(key)
            ordered = row[order]
        head = np.empty(row.size, dtype=bool)
        head[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=head[1:])
        start = np.flatnonzero(head)
        size = np.diff(start, append=row.size)
        counts[ordered[start]] += size
        rank = np.arange(row.size) - np.repeat(start, size)
        plans.append((order, ordered, start, size, rank))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    index = np.int32 if max(n, nnz) < 2**31 - 1 else np.int64
    with _huge_pages(True):
        indices = np.empty(nnz, dtype=index)
        data = np.empty(nnz)
    cursor = indptr[:-1].copy()
    for (row, column, minutes, _), plan in zip(groups, plans, strict=True):
        if plan is None:
            at = cursor[row]
            cursor[row] = at + 1
        else:
            order, ordered, start, size, rank = plan
            at = cursor[ordered] + rank
            cursor[ordered[start]] += size
            if order is not None:
                sorted_at = at
                at = np.empty_like(sorted_at)
                at[order] = sorted_at
        indices[at] = column
        data[at] = minutes
    with _huge_pages(True):
        indptr = indptr.astype(index)
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n))


def build_graph(
    cells_xy: np.ndarray,
    points_xy: np.ndarray,
    roads: gpd.GeoDataFrame | None,
    *,
    cell_m: float,
    profile: TravelProfile,
    crs: CRS | str,
    dem: DemGrid | None = None,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray | None = None,
    connect_m: float | None = None,
    snap_m: float = 0.1,
) -> TravelGraph:
    """Build the travel graph (see the module docstring for its rules).

    Parameters
    ----------
    cells_xy
        ``(n, 2)`` cell centres, metres in ``crs``.
    points_xy
        ``(m, 2)`` service points, metres in ``crs``.
    roads
        Canonical road layer (:func:`coverage.travel.roads.read_roads`), any CRS;
        ``None`` for off-road only.
    cell_m
        Grid cell size, metres.
    profile
        Speeds of the mode.
    crs
        The projected CRS (metres) of the coordinates.
    dem
        Elevations (:func:`coverage.travel.terrain.read_dem`), or ``None`` for
        flat terrain.
    barriers
        Polygons no off-road walk crosses.
    connect_m
        Longest walk from a cell or a point to a road vertex (default ``cell_m``).
    snap_m
        Road vertices closer than this are one node.

    Returns
    -------
    TravelGraph
    """
    with _huge_pages(False):
        return _build_graph(
            cells_xy,
            points_xy,
            roads,
            cell_m=cell_m,
            profile=profile,
            crs=crs,
            dem=dem,
            barriers=barriers,
            connect_m=connect_m,
            snap_m=snap_m,
        )


def _build_graph(
    cells_xy: np.ndarray,
    points_xy: np.ndarray,
    roads: gpd.GeoDataFrame | None,
    *,
    cell_m: float,
    profile: TravelProfile,
    crs: CRS | str,
    dem: DemGrid | None,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray | None,
    connect_m: float | None,
    snap_m: float,
) -> TravelGraph:
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        msg = f"travel graph: CRS {crs.to_string()} is not projected; use metres (UTM)"
        raise InputError(msg)
    cells_xy = np.asarray(cells_xy, dtype=float).reshape(-1, 2)
    points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    connect_m = float(cell_m if connect_m is None else connect_m)
    n_cells = cells_xy.shape[0]
    road_xy, ru, rv, rmin = _road_network(
        roads, profile, crs=crs, max_step_m=cell_m / 2.0, snap_m=snap_m
    )
    n_road = road_xy.shape[0]
    n_points = points_xy.shape[0]
    road0 = n_cells
    point0 = n_cells + n_road
    n = n_cells + n_road + n_points

    grid = _CellGrid(cells_xy, cell_m)
    pairs = grid.pairs()
    ri, rj, rl = grid.near(road_xy, radius_m=connect_m)
    pairs.append(_Pairs(rj, ri + road0, rl, 1))
    road_tree, road_ids = grid.tree_near(
        points_xy, road_xy if n_road else np.empty((0, 2)), radius_m=connect_m
    )
    pi, pj, pl = grid.near(points_xy, radius_m=np.inf, ring=True)
    pairs.append(_Pairs(pi + point0, pj, pl, 2))
    pr, prj, prl = _neighbours(road_tree, points_xy, k=2, radius_m=connect_m)
    if road_ids is not None:
        prj = road_ids[prj]
    pairs.append(_Pairs(pr + point0, prj + road0, prl, 2))

    parts = _barrier_parts(barriers, crs=crs)
    notes: list[str] = []
    xy = np.empty((0, 2))
    if parts.size or dem is not None:
        xy = np.vstack([cells_xy, road_xy, points_xy])
    if parts.size:
        pairs, leaves = _cut_by_barriers(pairs, parts, xy, cells_xy, cell_m, connect_m)
        pairs.extend(leaves)
        attached = np.zeros(n_points, dtype=bool)
        for pair in pairs:
            if pair.kind == 2:
                attached[pair.u - point0] = True
        if not attached.all():
            notes.append(
                f"{int((~attached).sum())} service point(s) cut off by barriers "
                "from every cell and road (they reach nobody)"
            )
    z = None
    if dem is not None:
        # Only nodes with an off-road edge need an elevation: roads may run
        # beyond the DEM.
        need = np.zeros(n, dtype=bool)
        for pair in pairs:
            need[pair.u] = True
            need[pair.v] = True
        z = np.zeros(n)
        z[need] = elevation_m(dem, xy[need, 0], xy[need, 1], crs=crs)

    forward_groups: list[_Group] = []
    backward_groups: list[_Group] = []
    for pair in pairs:
        rise = None if z is None else z[pair.v] - z[pair.u]
        forward, backward = _offroad_minutes(pair.length_m, rise, profile)
        forward_groups.append(
            (pair.v, pair.u, np.maximum(forward, _MIN_EDGE_MIN), pair.unique_v)
        )
        backward_groups.append(
            (pair.u, pair.v, np.maximum(backward, _MIN_EDGE_MIN), pair.unique_u)
        )
    road_groups: list[_Group] = [
        (rv + road0, ru + road0, np.maximum(rmin, _MIN_EDGE_MIN), False)
    ]
    matrix_t = _assemble(forward_groups + backward_groups + road_groups, n)
    counts = np.zeros(4, dtype=np.int64)
    for pair in pairs:
        counts[pair.kind] += 2 * pair.u.size
    return TravelGraph(
        matrix_t=matrix_t,
        n_cells=n_cells,
        n_road=n_road,
        n_points=n_points,
        edge_counts={
            "road": int(ru.size),
            "offroad": int(counts[0]),
            "connector": int(counts[1]),
            "point": int(counts[2]),
            "barrier_leaf": int(counts[3]),
        },
        notes=notes,
    )
