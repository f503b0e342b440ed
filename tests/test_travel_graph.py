"""Travel graph: the CSR layout, lost locations, road deduplication, one-way roads."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from coverage.travel.graph import _assemble, _CellGrid, _road_network
from coverage.travel.profiles import load_travel_profile, parse_travel_profile
from coverage.travel.roads import ROAD_CLASSES, oneway_direction, roads_from_frame
from coverage.travel.times import travel_times_min

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
    xy, src, dst, minutes = _road_network(
        roads, profile, crs=CRS.from_user_input(UTM), max_step_m=250.0, snap_m=0.1
    )
    assert xy.shape[0] == 5
    assert src.size == 8
    edges = dst * xy.shape[0] + src
    assert (np.diff(edges) > 0).all()
    along_x = xy[src, 1] == xy[dst, 1]
    fast = 200.0 / (profile.road_speed_kmh["primary"] * 1000.0 / 60.0)
    slow = 200.0 / (profile.road_speed_kmh["track"] * 1000.0 / 60.0)
    np.testing.assert_allclose(minutes[along_x], fast)
    np.testing.assert_allclose(minutes[~along_x], slow)


def _one_road(oneway: int, mode: str) -> float:
    speeds = dict.fromkeys(ROAD_CLASSES, 40.0)
    profile = parse_travel_profile(
        {"name": "t", "mode": mode, "offroad_speed_kmh": 5.0, "road_speed_kmh": speeds}
    )
    road = gpd.GeoDataFrame(
        {"road_class": ["primary"], "oneway": [oneway]},
        geometry=[shapely.LineString([(0, 0), (10_000, 0)])],
        crs=UTM,
    )
    cell, point = np.array([[10_000.0, 0.0]]), np.array([[0.0, 0.0]])
    times = travel_times_min(cell, point, road, cell_m=500, profile=profile, crs=UTM)
    return float(times.minutes[0])


def test_one_way_road_makes_the_trip_against_it_walk_off_road():
    assert _one_road(0, "car") == pytest.approx(15.0)
    assert _one_road(-1, "car") == pytest.approx(15.0)
    assert _one_road(1, "car") == pytest.approx(120.0)
    assert _one_road(1, "walk") == pytest.approx(15.0)


def test_oneway_tags_and_roundabouts():
    oneway = pd.Series(["yes", "True", "1", "-1", "reverse", "no", None, None])
    junction = pd.Series(
        [None, None, None, None, None, "roundabout", "roundabout", None]
    )
    np.testing.assert_array_equal(
        oneway_direction(oneway, junction), [1, 1, 1, -1, -1, 0, 1, 0]
    )
    frame = gpd.GeoDataFrame(
        {"highway": ["primary", "primary"], "OneWay": ["yes", None]},
        geometry=[shapely.LineString([(0, 0), (1, 0)])] * 2,
        crs=UTM,
    )
    assert roads_from_frame(frame)["oneway"].tolist() == [1, 0]
