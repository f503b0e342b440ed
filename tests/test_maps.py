"""Gap map without a browser: bins, legend, data, escaping, simplification, writing."""

from __future__ import annotations

import json
import math
import re
import sys
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.errors import InputError, OutputError
from coverage.i18n import LABELS, label
from coverage.maps import (
    ASSETS,
    BUNDLED_ASSETS,
    MISSING,
    NEEDED_BINS,
    NO_POINT,
    RATIO_BINS,
    build_map,
    classify_needed,
    classify_ratio,
    classify_share,
    initial_view,
    map_data,
    render_html,
    share_bins,
    simplify_coverage,
    simplify_rings,
    write_map,
)

sys.path.insert(0, str(Path(__file__).parent))
from browser_support import (
    BENCH,
    XSS_NAME,
    grid_layers,
    national_layers,
    province_layers,
)


@pytest.fixture(scope="module")
def layers():
    return grid_layers()


@pytest.fixture(scope="module")
def data(layers):
    communes, points = layers
    return map_data(communes, points, benchmark=BENCH, title="t", lang="en")


def _page_data(page: str) -> dict:
    match = re.search(r"var D = (\{.*?\});\n", page, flags=re.S)
    assert match, "data block not found"
    return json.loads(match.group(1))


# ------------------------------------------------------------------ classification


@given(st.floats(min_value=0, max_value=5, allow_nan=False))
def test_ratio_bins_hold_their_values(ratio):
    idx = int(classify_ratio(np.array([ratio]), np.array([1]))[0])
    b = RATIO_BINS[idx]
    assert b.lower < ratio <= b.upper


def test_ratio_special_classes():
    idx = classify_ratio(
        np.array([np.nan, 0.5, np.nan, 0.0]),
        np.array([0, 0, 3, 2]),
        missing=np.array([False, False, False, True]),
    )
    assert idx.tolist() == [100, 100, 101, 101]


@given(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1))
def test_share_bins_hold_their_values(share, target):
    bins = share_bins(target)
    idx = int(classify_share(np.array([share]), bins)[0])
    assert bins[idx].lower <= share < bins[idx].upper or (
        idx == len(bins) - 1 and share < bins[idx - 1].lower
    )
    assert (idx == 0) == (share >= target)


@given(st.integers(min_value=0, max_value=500))
def test_needed_bins_hold_their_values(n):
    b = NEEDED_BINS[int(classify_needed(np.array([n]))[0])]
    assert b.lower <= n < b.upper


def test_bins_are_distinct_and_ordered():
    colours = [b.colour for b in RATIO_BINS] + [NO_POINT.colour, MISSING.colour]
    assert len(set(colours)) == len(colours)
    uppers = [b.upper for b in RATIO_BINS]
    assert uppers == sorted(uppers)
    assert 1.0 in uppers, "the benchmark itself must be a bin edge"


# -------------------------------------------------------------------- map content


def test_every_commune_in_data_once(layers, data):
    communes, _ = layers
    codes = [f["properties"]["c"] for f in data["communes"]["features"]]
    assert sorted(codes) == sorted(communes["commune_code"])


def test_feature_classes_match_legend_and_values(layers, data):
    communes, _ = layers
    by_code = communes.set_index("commune_code")
    radius = next(layer for layer in data["layers"] if layer["key"] == "radius")
    li = data["layers"].index(radius)
    assert radius["colours"] == [b.colour for b in RATIO_BINS]
    for f in data["communes"]["features"]:
        p = f["properties"]
        row = by_code.loc[p["c"]]
        k = p["k"][li]
        if row["n_points"] == 0:
            assert k == 100
            continue
        b = RATIO_BINS[k]
        assert b.lower < row["radius_km"] / BENCH.radius_km <= b.upper
        assert p["r"] == pytest.approx(row["radius_km"], abs=5e-4)
    # the legend lists exactly the same colours, in the same order
    legend_colours = re.findall(r"background:(#[0-9a-f]{6})", radius["legend"])
    assert legend_colours == [
        *(b.colour for b in RATIO_BINS),
        NO_POINT.colour,
        MISSING.colour,
    ]
    edges = [f"{b.upper * BENCH.radius_km:g} km" for b in RATIO_BINS[:-1]]
    for edge in edges:
        assert edge in radius["legend"]


def test_people_layer_zero_population_is_missing(layers, data):
    communes, _ = layers
    li = [layer["key"] for layer in data["layers"]].index("people")
    zero = communes.loc[communes["population"] == 0, "commune_code"].iloc[0]
    feat = next(f for f in data["communes"]["features"] if f["properties"]["c"] == zero)
    assert feat["properties"]["k"][li] == 101


def test_layers_follow_benchmark(layers):
    communes, points = layers
    from dataclasses import replace

    keys = [
        layer["key"]
        for layer in map_data(
            communes,
            points,
            benchmark=replace(BENCH, radius_km=None),
            title="t",
        )["layers"]
    ]
    assert keys == ["people", "share", "needed"]
    no_share = communes.drop(columns="share_within_2km")
    keys = [
        layer["key"] for layer in map_data(no_share, points, benchmark=BENCH)["layers"]
    ]
    assert keys == ["radius", "people", "needed"]
    with pytest.raises(InputError, match="share_within_5km"):
        map_data(communes, points, benchmark=BENCH, access_threshold_km=5)


def test_missing_metrics_is_input_error(layers):
    communes, points = layers
    with pytest.raises(InputError, match="n_points"):
        map_data(communes.drop(columns="n_points"), points, benchmark=BENCH)


def test_outlines_dissolved_from_communes(data, layers):
    communes, _ = layers
    names = sorted(f["properties"]["n"] for f in data["districts"])
    assert names == sorted(communes["district_name"].unique())
    assert len(data["provinces"]) == 1


def test_points_all_present(data, layers):
    _, points = layers
    assert len(data["points"]["lat"]) == len(points)
    assert sum(data["points"]["s"]) == int(points["staffed"].sum())
    assert sum(data["points"]["t"]) == int(points["admin_services"].sum())


def test_any_crs_gives_same_map(layers):
    communes, points = layers
    a = map_data(communes, points, benchmark=BENCH)
    b = map_data(communes.to_crs(32648), points.to_crs(32648), benchmark=BENCH)
    ka = {f["properties"]["c"]: f["properties"]["k"] for f in a["communes"]["features"]}
    kb = {f["properties"]["c"]: f["properties"]["k"] for f in b["communes"]["features"]}
    assert ka == kb
    assert np.allclose(a["points"]["lat"], b["points"]["lat"], atol=2e-5)


# ------------------------------------------------------------------------- safety


def test_xss_name_never_raw_in_html(layers, tmp_path):
    communes, points = layers
    communes = communes.copy()
    communes.loc[1, "district_name"] = "</script><script>window.__xss=2</script>"
    fmap = build_map(communes, points, benchmark=BENCH, title=XSS_NAME)
    page = write_map(fmap, tmp_path / "m.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    assert "</script><script>window.__xss" not in page
    # the data still carry the names, exactly
    d = _page_data(page)
    names = {f["properties"]["n"] for f in d["communes"]["features"]}
    assert XSS_NAME in names
    assert d["title"] == XSS_NAME
    # the page inserts data only as text
    script = page[page.index("var D = ") :]
    assert "innerHTML = D.pointsLegend" in script
    assigned = set(re.findall(r"innerHTML\s*=\s*([^;]+);", script))
    assert assigned == {"''", "D.pointsLegend", "s.legend"}


def test_legend_html_escapes_labels(layers):
    communes, points = layers
    from dataclasses import replace

    bench = replace(BENCH, name="<b>x</b>")
    d = map_data(communes, points, benchmark=bench)
    assert "<b>x</b>" not in d["layers"][0]["legend"]
    assert "&lt;b&gt;x&lt;/b&gt;" in d["layers"][0]["legend"]


# ---------------------------------------------------------------- i18n and titles


def test_vietnamese_labels(layers):
    communes, points = layers
    d = map_data(communes, points, benchmark=BENCH, lang="vi", synthetic=True)
    assert d["labels"]["r"] == "Bán kính phục vụ bình quân (km)"
    assert d["labels"]["pp"] == "Số dân bình quân được phục vụ trên một điểm"
    assert d["labels"]["nd"] == "Số điểm cần bổ sung"
    assert "Bưu cục" in d["labels"]["kinds"]
    assert "GIẢ LẬP" in d["synthetic"]
    assert "đạt" in d["layers"][0]["legend"]


def test_i18n_covers_metric_columns():
    columns = [
        "area_km2",
        "n_points",
        "n_staffed",
        "n_admin_services",
        "radius_km",
        "people_per_point",
        "radius_ratio",
        "people_ratio",
        "meets_radius",
        "meets_people",
        "meets_staffed",
        "points_needed",
        "fails",
        "gap_reasons",
        "mean_distance_km",
        "p90_distance_km",
        "commune_name",
        "district_name",
        "province_name",
    ]
    for col in columns:
        assert col in LABELS
        assert label(col, "vi") != col
        assert label(col, "en") != label(col, "vi") or col == "area_km2"
    assert label("share_within_5km", "vi") == "Tỷ lệ dân số trong phạm vi 5 km"
    assert label("pop_within_2.5km", "en") == "Population within 2.5 km"
    assert label("no_such_column", "vi") == "no_such_column"
    assert label("radius_km", "fr") == label("radius_km", "en")


def test_synthetic_column_sets_banner(layers):
    communes, points = layers
    flagged = communes.assign(synthetic=True)
    assert map_data(flagged, points, benchmark=BENCH)["synthetic"]
    assert not map_data(communes, points, benchmark=BENCH)["synthetic"]


# ------------------------------------------------------------ geometry and size


def _voronoi_communes(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(0, 40_000, (n, 2)))
    frame = shapely.box(0, 0, 40_000, 40_000)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
    cells = shapely.intersection(np.array(shapely.get_parts(cells)), frame)
    # densify so that simplification has something to remove
    cells = shapely.segmentize(cells, 50)
    return gpd.GeoDataFrame(geometry=cells, crs=32648)


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_simplified_geometry_still_tiles(seed):
    communes = _voronoi_communes(60, seed)
    simplified = simplify_coverage(communes)
    metric = simplified.to_crs(32648)
    before = shapely.get_num_coordinates(communes.geometry.to_numpy()).sum()
    after = shapely.get_num_coordinates(simplified.to_numpy()).sum()
    assert after < before / 3
    assert metric.is_valid.all()
    union = shapely.union_all(metric.to_numpy()).area
    assert abs(metric.area.sum() - union) / union < 1e-3
    assert abs(union - 40_000**2) / 40_000**2 < 1e-3


def test_coordinates_rounded(data):
    text = json.dumps(data["communes"])
    decimals = [len(m) for m in re.findall(r"\d+\.(\d+)", text.split('"geometry"')[1])]
    assert max(decimals) <= 5


def _staircase_zone(n: int, cell_m: float = 250.0) -> shapely.Geometry:
    """A union of grid cells along a diagonal band, with a one-cell hole."""
    i, j = np.meshgrid(np.arange(n), np.arange(n))
    band = (np.abs(i - j) < n // 4).ravel()
    cells = shapely.box(
        i.ravel()[band] * cell_m,
        j.ravel()[band] * cell_m,
        (i.ravel()[band] + 1) * cell_m,
        (j.ravel()[band] + 1) * cell_m,
    )
    hole = shapely.box(5 * cell_m, 5 * cell_m, 6 * cell_m, 6 * cell_m)
    return shapely.coverage_union_all(cells).difference(hole)


def test_simplified_rings_keep_every_zone_and_hole_within_the_tolerance():
    zone = _staircase_zone(80)
    tiny = shapely.box(100_000, 0, 100_250, 250)  # one cell: its ring would collapse
    two = shapely.MultiPolygon([shapely.box(0, 50_000, 250, 50_250), zone])
    geoms = np.array([zone, tiny, None, two, shapely.Point(0, 0)], dtype=object)
    out = simplify_rings(geoms, 200.0)  # more than a stair step (177 m)
    assert out[2] is None and out[4] is None
    assert out[0].geom_type == "Polygon" and out[3].geom_type == "MultiPolygon"
    assert shapely.get_num_coordinates(out[0]) < shapely.get_num_coordinates(zone) / 5
    assert len(out[0].interiors) == len(zone.interiors) == 1
    assert out[1].equals(tiny)
    assert len(out[3].geoms) == 2
    assert shapely.hausdorff_distance(out[0].exterior, zone.exterior) <= 200.0 + 1e-6
    assert abs(out[0].area - zone.area) / zone.area < 0.03


def test_uncovered_zones_are_simplified_on_the_map(layers):
    communes, points = layers
    zone = shapely.affinity.translate(_staircase_zone(40, 5.0), 620_000, 2_300_000)
    zones = gpd.GeoDataFrame({"population": [1234]}, geometry=[zone], crs=32648)
    data = map_data(communes, points, benchmark=BENCH, uncovered=zones)
    drawn = shapely.geometry.shape(data["uncovered"][0]["geometry"])
    assert data["uncovered"][0]["properties"]["pop"] == 1234
    assert shapely.get_num_coordinates(drawn) < shapely.get_num_coordinates(zone) / 3
    assert len(drawn.interiors) == 1
    metric = gpd.GeoSeries([drawn], crs=4326).to_crs(32648).iloc[0]
    assert abs(metric.area - zone.area) / zone.area < 0.05


def test_sample_map_size(tmp_path):
    root = Path(__file__).resolve().parents[1]
    if not (root / "data" / "boundaries" / "communes.geojson").is_file():
        pytest.skip("sample data missing")
    from click.testing import CliRunner

    from coverage.cli import main

    result = CliRunner().invoke(
        main,
        ["analyze", "--out", str(tmp_path / "out"), "--map", str(tmp_path / "m.html")],
    )
    assert result.exit_code == 0, result.output
    # with the what-if cells (73,408 at 250 m, about 16 bytes each before base64)
    size = (tmp_path / "m.html").stat().st_size
    assert size < 2_600_000
    plain = tmp_path / "plain.html"
    args = ["analyze", "--out", str(tmp_path / "o2"), "--map", str(plain)]
    result = CliRunner().invoke(main, [*args, "--no-whatif"])
    assert result.exit_code == 0, result.output
    assert plain.stat().st_size < 700_000 < size - plain.stat().st_size
    d = _page_data((tmp_path / "m.html").read_text(encoding="utf-8"))
    import pandas as pd

    csv = pd.read_csv(tmp_path / "out" / "communes.csv", dtype={"commune_code": str})
    assert len(d["communes"]["features"]) == len(csv)


# ---------------------------------------------------------------------- writing


def test_write_is_atomic_and_leaves_no_temp(layers, tmp_path):
    communes, points = layers
    fmap = build_map(communes, points, benchmark=BENCH)
    target = tmp_path / "sub" / "map.html"
    write_map(fmap, target)
    first = target.read_text(encoding="utf-8")
    write_map(fmap, target)
    assert target.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]
    assert "cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in first
    assert "jquery" not in first.lower()


def test_write_failure_is_output_error(layers, tmp_path):
    communes, points = layers
    fmap = build_map(communes, points, benchmark=BENCH)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_map(fmap, blocker / "map.html")


def test_offline_needs_assets(layers, tmp_path, monkeypatch):
    communes, points = layers
    monkeypatch.delenv("COVERAGE_MAP_ASSETS", raising=False)
    fmap = build_map(communes, points, benchmark=BENCH)
    with pytest.raises(OutputError, match="npm install leaflet"):
        write_map(fmap, tmp_path / "m.html", offline=True, assets_dir=tmp_path)
    assert not (tmp_path / "m.html").exists()


def test_bundled_assets_are_the_cdn_versions():
    for package, version, path in ASSETS.values():
        meta = json.loads((BUNDLED_ASSETS / package / "package.json").read_text())
        assert meta["version"] == version
        assert (BUNDLED_ASSETS / package / path).is_file()


def test_page_style_and_script_are_the_package_files(layers):
    assets = resources.files("coverage.maps").joinpath("assets")
    css = assets.joinpath("coverage.css").read_text(encoding="utf-8")
    js = assets.joinpath("coverage.js").read_text(encoding="utf-8")
    communes, points = layers
    page = render_html(build_map(communes, points, benchmark=BENCH))
    assert f"<style>\n{css}</style>" in page
    assert f"\n\n{js}\n}})();" in page


def test_offline_inlines_everything(layers, tmp_path, monkeypatch):
    monkeypatch.delenv("COVERAGE_MAP_ASSETS", raising=False)
    communes, points = layers
    fmap = build_map(communes, points, benchmark=BENCH, cluster_above=10)
    page = write_map(fmap, tmp_path / "m.html", offline=True).read_text(
        encoding="utf-8"
    )
    assert not re.search(r'<script src="http', page)
    assert not re.search(r'<link[^>]+href="http', page)
    assert "L.MarkerClusterGroup" in page or "MarkerClusterGroup" in page
    assert "data:image/png;base64" in page
    assert math.isclose(page.count("<script>") >= 2, True)


# ------------------------------------------------------------------ province level


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_province_level_map_speaks_of_provinces(lang):
    provinces, points = province_layers()
    assert "commune_code" not in provinces and "commune_name" not in provinces
    d = map_data(provinces, points, benchmark=BENCH, lang=lang, level="province")
    feats = d["communes"]["features"]
    assert len(feats) == len(provinces) == 3
    assert [f["properties"]["n"] for f in feats] == provinces["province_name"].tolist()
    assert [f["properties"]["c"] for f in feats] == provinces["province_name"].tolist()
    assert all(f["properties"]["d"] == "" and f["properties"]["p"] == "" for f in feats)
    radius = [f["properties"]["r"] for f in feats]
    assert radius == pytest.approx(provinces["radius_km"].round(3).tolist())
    labels = d["labels"]
    assert labels["n"] == label("province_name", lang) == labels["c"]
    assert labels["map.search.placeholder"] == label(
        "map.search.placeholder.province", lang
    )
    assert labels["map.search.none"] == label("map.search.none.province", lang)
    assert d["subtitle"].startswith(label("map.title.level.province", lang))
    unit = label("map.legend.unit.province", lang)
    assert all(unit in layer["legend"] for layer in d["layers"])
    assert d["districts"] == [] and d["provinces"] == []
    assert d["level"] == "province"
    # the commune map has none of the province texts
    communes, _ = grid_layers()
    c = map_data(communes, points, benchmark=BENCH, lang=lang)
    assert c["labels"]["n"] == label("commune_name", lang)
    assert all(unit not in layer["legend"] for layer in c["layers"])


def test_province_level_needs_province_names_and_a_known_level():
    provinces, points = province_layers()
    with pytest.raises(InputError, match="province units"):
        map_data(
            provinces.drop(columns="province_name"),
            points,
            benchmark=BENCH,
            level="province",
        )
    with pytest.raises(InputError, match="commune units"):
        map_data(provinces, points, benchmark=BENCH)
    with pytest.raises(InputError, match="level"):
        map_data(provinces, points, benchmark=BENCH, level="district")


TEMPLATE_NAMES = [
    "{{ 7*7 }}",
    "{% if true %}yes{% endif %}",
    "{{ cycler.__init__.__globals__ }}",
    "{# comment #}",
]


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_syntax_in_data_is_never_run(name):
    communes, points = grid_layers()
    communes.loc[communes["commune_code"] == "C05", "commune_name"] = name
    points.loc[points.index[0], "name"] = name
    page = render_html(build_map(communes, points, benchmark=BENCH, title=name))
    # json.dumps leaves these characters as they are: the literal text must be there
    assert page.count(name) >= 2
    assert "__globals__" not in page or name == TEMPLATE_NAMES[2]


def test_initial_view_leaves_far_islands_out():
    communes, _points = national_layers(cell_deg=0.3, islands=True)
    data = map_data(communes, None, benchmark=BENCH)
    (south, west), (north, east) = data["view"]
    assert east < 110.0 < communes.total_bounds[2]
    assert west == pytest.approx(communes.total_bounds[0], abs=0.01)
    assert south == pytest.approx(8.55, abs=0.05) and north > 23.0
    # the islands are still drawn
    assert len(data["communes"]["features"]) == len(communes)


def test_initial_view_keeps_near_islands_and_populous_groups():
    near = [shapely.box(0, 0, 1, 1), shapely.box(1.1, 0, 1.12, 0.02)]
    view = initial_view(near, np.array([1000.0, 10.0]))
    assert view[1][1] == pytest.approx(1.12)
    two_cities = [shapely.box(0, 0, 1, 1), shapely.box(5, 0, 6, 1)]
    view = initial_view(two_cities, np.array([1000.0, 800.0]))
    assert view == [[0.0, 0.0], [1.0, 6.0]]
    assert initial_view([None], np.array([1.0])) is None


def _view_by_all_pairs(geoms, pop, gap_km=25.0, min_share=0.1):
    # the definition: groups of the graph of every pair of boxes within the gap
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    b = shapely.bounds(np.asarray(geoms, dtype=object))
    lat0 = float(np.mean((b[:, 1] + b[:, 3]) / 2))
    kx, ky = 111.32 * math.cos(math.radians(lat0)), 110.57
    boxes = shapely.box(b[:, 0] * kx, b[:, 1] * ky, b[:, 2] * kx, b[:, 3] * ky)
    left, right = shapely.STRtree(boxes).query(
        boxes, predicate="dwithin", distance=gap_km
    )
    n = len(boxes)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    weight = np.bincount(group, weights=pop + 1e-9)
    chosen = b[(weight >= min_share * weight.max())[group]]
    return [
        [float(chosen[:, 1].min()), float(chosen[:, 0].min())],
        [float(chosen[:, 3].max()), float(chosen[:, 2].max())],
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(100.0, 104.0),
            st.floats(10.0, 14.0),
            st.floats(0.001, 0.4),
            st.floats(0.001, 0.4),
            st.floats(0.0, 1e5),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_initial_view_equals_the_all_pairs_definition(boxes):
    geoms = [shapely.box(x, y, x + w, y + h) for x, y, w, h, _ in boxes]
    pop = np.array([p for *_, p in boxes])
    assert initial_view(geoms, pop) == _view_by_all_pairs(geoms, pop)


def test_tile_source_options(tmp_path):
    from browser_support import make_mbtiles, tile_png

    from coverage.maps.tiles import OSM_TILES, extract_mbtiles, tile_source

    assert tile_source(None) == OSM_TILES
    url = "http://intranet/tiles/{z}/{x}/{y}.png"
    assert tile_source(url).url == url
    for bad in ("http://intranet/tiles.png", tmp_path / "none.mbtiles"):
        with pytest.raises(InputError):
            tile_source(bad)
    vector = make_mbtiles(tmp_path / "v.mbtiles", {(0, 0, 0): b"x"}, format="pbf")
    with pytest.raises(InputError, match="raster tiles only"):
        tile_source(vector)
    tiles = {(0, 0, 0): tile_png(), (1, 1, 0): tile_png(), (2, 3, 1): tile_png()}
    path = make_mbtiles(tmp_path / "t.mbtiles", tiles, attribution="© Cục Bản đồ")
    source = tile_source(path)
    assert (source.min_zoom, source.max_zoom) == (0, 2)
    assert source.attribution == "© Cục Bản đồ"
    folder = tmp_path / "maps" / "m_tiles"
    assert extract_mbtiles(source, folder) == 3
    # rows flipped from TMS: (z=2, x=3, y=1 from the north)
    assert (folder / "2" / "3" / "1.png").read_bytes() == tile_png()
    assert extract_mbtiles(source, folder) == 3  # replaced, not merged


def test_write_map_extracts_mbtiles_next_to_the_map(layers, tmp_path):
    from browser_support import make_mbtiles, tile_png

    communes, points = layers
    path = make_mbtiles(tmp_path / "t.mbtiles", {(0, 0, 0): tile_png()})
    fmap = build_map(communes, points, benchmark=BENCH, tiles=path)
    out = write_map(fmap, tmp_path / "maps" / "gap.html")
    data = _page_data(out.read_text(encoding="utf-8"))
    assert data["tiles"]["url"] == "gap_tiles/{z}/{x}/{y}.png"
    assert (tmp_path / "maps" / "gap_tiles" / "0" / "0" / "0.png").is_file()


def test_vietnamese_numbers_in_map_texts(layers):
    communes, points = layers
    data = map_data(communes, points, benchmark=BENCH, lang="vi")
    assert "≤ 3.000 người/điểm" in data["subtitle"]
    assert "R ≤ 1,5 km" in data["subtitle"]
    legend = data["layers"][0]["legend"]
    assert "1,125 km" in legend and "1.125" not in legend
    assert "(3.000)" in data["layers"][1]["title"]
    english = map_data(communes, points, benchmark=BENCH, lang="en")
    assert "≤ 3,000 people/point" in english["subtitle"]
    assert "1.125 km" in english["layers"][0]["legend"]


def test_zones_split_by_commune_are_drawn_once_per_connected_zone():
    from coverage.benchmarks import load_benchmark
    from coverage.model import AccessOptions
    from coverage.pipeline import analyze, find_sample

    boundaries, points = find_sample()
    analysis = analyze(
        boundaries,
        points,
        benchmark=load_benchmark("vn-national-2024"),
        access=AccessOptions(cell_m=1000.0),
    )
    zones = analysis.zones
    assert zones["zone_id"].nunique() < len(zones)
    data = map_data(
        analysis.communes,
        analysis.points,
        benchmark=analysis.benchmark,
        uncovered=zones,
    )
    drawn = data["uncovered"]
    assert len(drawn) == zones["zone_id"].nunique()
    by_zone = zones.groupby("zone_id")["population_zone"].first()
    assert sorted(f["properties"]["pop"] for f in drawn) == sorted(
        round(v) for v in by_zone
    )
