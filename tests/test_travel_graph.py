"""Travel graph internals: the CSR layout, lost locations, road deduplication."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from coverage.travel.graph import _assemble, _CellGrid, _road_network
from coverage.travel.profiles import load_travel_profile

UTM = "EPSG:32648"


@pytest.mark.parametrize("seed", range(6))
def test_assemble_gives_the_layout_of_coo_tocsr(seed):
    """Rows keep the group order, then the order within each group."""
    rng = np.random.default_rng(seed)
    n = 50
    groups = []
    for _ in range(7):
        m = int(rng.integers(0, 40))
        unique = bool(rng.random() < 0.4)
        if unique:
            row = rng.permutation(n)[:m]
            if rng.random() < 0.5:
                row = np.sort(row)
        else:
            row = rng.integers(0, n, m)
        minutes = rng.random(m) if rng.random() < 0.7 else float(rng.random())
        groups.append((row, rng.integers(0, n, m), minutes, unique))
    matrix = _assemble(groups, n)
    rows = np.concatenate([g[0] for g in groups])
    cols = np.concatenate([g[1] for g in groups])
    data = np.concatenate([np.broadcast_to(g[2], g[0].shape) for g in groups])
    coo = sparse.coo_matrix((data, (rows, cols)), shape=(n, n))
    coo.has_canonical_format = True
    expected = coo.tocsr()
    np.testing.assert_array_equal(matrix.indptr, expected.indptr)
    np.testing.assert_array_equal(matrix.indices, expected.indices)
    np.testing.assert_array_equal(matrix.data, expected.data)


def test_lost_locations_join_their_nearest_cells():
    """Locations outside the grid get the two nearest cells as a full tree finds."""
    rng = np.random.default_rng(3)
    xs, ys = np.meshgrid(np.arange(40) * 100.0, np.arange(30) * 100.0)
    cells = np.column_stack([xs.ravel(), ys.ravel()])
    cells = cells[rng.random(len(cells)) > 0.2]
    cells = np.vstack([cells, [[1234.5, 876.5]]])
    grid = _CellGrid(cells, 100.0)
    near = rng.uniform(-150, 4100, (300, 2))
    far = np.array([[-5000.0, 1000.0], [9000.0, 9000.0], [2000.0, -800.0]])
    tree = cKDTree(cells)
    for xy, radius_m in ((near, 100.0), (near, 260.0), (far, np.inf)):
        row, cell, dist = grid.near(xy, radius_m=radius_m)
        key = grid.keys_of(xy)
        direct = grid.lookup(key) >= 0
        lost = ~direct
        got = {(r, c) for r, c in zip(row, cell, strict=True) if lost[r]}
        d, j = tree.query(xy[lost], k=2, distance_upper_bound=radius_m)
        want = {
            (r, c)
            for r, dd, jj in zip(np.flatnonzero(lost), d, j, strict=True)
            for x, c in zip(dd, jj, strict=True)
            if np.isfinite(x)
        }
        assert got == want
        np.testing.assert_allclose(dist, np.hypot(*(xy[row] - cells[cell]).T))


def test_road_network_keeps_the_fastest_of_two_lines_on_one_street():
    lines = [
        shapely.LineString([(0, 0), (400, 0)]),
        shapely.LineString([(0, 0), (400, 0)]),
        shapely.LineString([(400, 0), (400, 400)]),
    ]
    roads = gpd.GeoDataFrame(
        {"road_class": ["track", "primary", "track"]}, geometry=lines, crs=UTM
    )
    profile = load_travel_profile("car")
    xy, lo, hi, minutes = _road_network(
        roads, profile, crs=CRS.from_user_input(UTM), max_step_m=250.0, snap_m=0.1
    )
    assert xy.shape[0] == 5
    pairs = lo * xy.shape[0] + hi
    assert (np.diff(pairs) > 0).all()
    along_x = xy[lo, 1] == xy[hi, 1]
    fast = 200.0 / (profile.road_speed_kmh["primary"] * 1000.0 / 60.0)
    slow = 200.0 / (profile.road_speed_kmh["track"] * 1000.0 / 60.0)
    np.testing.assert_allclose(minutes[along_x], fast)
    np.testing.assert_allclose(minutes[~along_x], slow)
