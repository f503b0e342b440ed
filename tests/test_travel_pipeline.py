"""Travel time wired end to end: analyze, time rules, zones, plan and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner, Result

from coverage.benchmarks import load_benchmark, parse_benchmark
from coverage.cli import main
from coverage.errors import InputError
from coverage.model import AccessOptions, TravelOptions
from coverage.pipeline import analyze
from coverage.reasons import render_reasons

ROOT = Path(__file__).resolve().parents[1]
ROADS = ROOT / "data" / "roads" / "roads.gpkg"
DEM = ROOT / "data" / "dem" / "dem.tif"
COMMUNES = ROOT / "data" / "boundaries" / "communes.geojson"
POINTS = ROOT / "data" / "points" / "service_points.csv"


def _run(*args: str) -> Result:
    quiet = ["-q"] if args and args[0] == "analyze" and "--roads" in args else []
    return CliRunner().invoke(main, [*quiet, *args], catch_exceptions=False)


def _sample_analysis(benchmark: str = "vn-national-2024", **travel: object):
    options = TravelOptions(roads=ROADS, **travel)  # type: ignore[arg-type]
    return analyze(
        COMMUNES,
        POINTS,
        benchmark=load_benchmark(benchmark),
        access=AccessOptions(cell_m=500.0),
        travel=options,
    )


@pytest.fixture(scope="module")
def timed():
    return _sample_analysis(dem=DEM, barriers=ROADS, mode="motorbike")


def test_cli_end_to_end_writes_time_columns(tmp_path):
    out = tmp_path / "out"
    result = _run(
        "analyze",
        "--out",
        str(out),
        "--no-map",
        "--cell-m",
        "500",
        "--roads",
        str(ROADS),
        "--dem",
        str(DEM),
        "--barriers",
        str(ROADS),
        "--mode",
        "motorbike",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    from coverage.output.report import format_summary

    assert "Travel time by motorbike over 128 roads (DEM, 1 barrier layer)" in (
        format_summary(summary)
    )
    communes = pd.read_csv(out / "communes.csv", encoding="utf-8-sig")
    for col in (
        "mean_time_min",
        "p90_time_min",
        "max_time_min",
        "pop_within_15min",
        "share_within_30min",
        "share_within_60min",
        "slowest_lon",
        "slowest_lat",
    ):
        assert col in communes.columns
    assert communes["mean_time_min"].notna().all()
    for level in ("districts.csv", "provinces.csv"):
        table = pd.read_csv(out / level, encoding="utf-8-sig")
        assert "p90_time_min" in table.columns
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    travel = summary["travel"]
    assert travel["mode"] == "motorbike" and travel["dem"]
    shares = [w["share"] for w in travel["within"]]
    assert shares == sorted(shares) and shares[-1] <= 1.0
    zones = pd.read_csv(out / "uncovered_zones.csv", encoding="utf-8-sig")
    assert len(zones) == travel["n_uncovered_zone_parts"] > 0
    assert zones["zone_id"].nunique() == travel["n_uncovered_zones"] > 0
    assert "max_time_min" in zones.columns
    assert travel["zone_threshold_min"] == 60.0
    assert (zones["max_time_min"] > 60.0).all()


def test_straight_line_default_has_no_travel(tmp_path):
    result = _run(
        "analyze", "--out", str(tmp_path / "o"), "--no-map", "--cell-m", "500"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text("utf-8"))
    assert "travel" not in summary
    assert "Travel time" not in result.output


def test_far_side_of_river_is_slower_than_straight_lines(timed):
    """Communes whose straight line to the nearest point crosses the river."""
    river = gpd.read_file(ROADS, layer="barriers").to_crs(timed.access.surface.crs)
    surface = timed.access.surface
    ends = timed.access.point_xy[timed.access.nearest_idx]
    lines = shapely.linestrings(
        np.stack([surface.xy, ends], axis=1).reshape(-1, 2),
        indices=np.repeat(np.arange(len(surface)), 2),
    )
    crosses = shapely.intersects(lines, river.geometry.union_all())
    share_crossing = np.bincount(
        surface.commune, weights=surface.pop * crosses, minlength=len(surface.codes)
    ) / np.maximum(np.bincount(surface.commune, weights=surface.pop), 1e-9)
    communes = timed.communes
    ratio = communes["mean_time_min"] / communes["mean_distance_km"]
    far = share_crossing > 0.5
    assert far.sum() >= 1
    assert ratio[far].median() > ratio[~far].median()
    without = _sample_analysis(dem=DEM, mode="motorbike").communes
    slower = communes["mean_time_min"].to_numpy() - without["mean_time_min"]
    assert (slower > -1e-6).all()
    assert slower[far].mean() > slower[~far].mean()


def test_time_rule_fails_communes_with_reason(tmp_path):
    out = tmp_path / "fr"
    result = _run(
        "analyze",
        "-B",
        "fr-20min-car",
        "--out",
        str(out),
        "--no-map",
        "--cell-m",
        "500",
        "--roads",
        str(ROADS),
        "--lang",
        "vi",
    )
    assert result.exit_code == 0, result.output
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert gaps.iloc[:, 5].str.contains("20 phút").any()
    analysis = _sample_analysis("fr-20min-car")
    failing = analysis.communes.loc[~analysis.communes["meets_time"]]
    assert len(failing)
    words = render_reasons(failing["gap_reasons"], "en")
    assert words.str.contains("90% within 20 min needed").all()
    assert failing["fails"].all()
    assert (failing["share_within_20min"] < 0.9).all()
    assert analysis.summary["travel"]["rules"][0]["mode"] == "car"
    assert analysis.travel is not None and analysis.travel.times.profile.mode == "car"


def test_time_rule_without_roads_is_a_clear_error(tmp_path):
    result = _run("analyze", "-B", "ch-20min-walk", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--roads" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_dem_without_roads_is_an_error(tmp_path):
    result = _run("analyze", "--dem", str(DEM), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--roads" in result.output


def test_time_rules_are_validated():
    bench = parse_benchmark(
        {"name": "t", "time_rules": [{"minutes": 20, "min_share": 1.0, "mode": "car"}]},
        origin="t.toml",
    )
    assert bench.time_rules[0].minutes == 20.0
    with pytest.raises(InputError, match=r"time_rules\[0\].mode.*did you mean 'car'"):
        parse_benchmark(
            {
                "name": "t",
                "time_rules": [{"minutes": 20, "min_share": 1, "mode": "cars"}],
            },
            origin="t.toml",
        )
    with pytest.raises(InputError, match=r"lacks 'minutes'"):
        parse_benchmark({"name": "t", "time_rules": [{"min_share": 1}]}, origin="t")
    with pytest.raises(InputError, match=r"unknown key 'time_rules\[0\].minute'"):
        parse_benchmark(
            {"name": "t", "time_rules": [{"minute": 20, "min_share": 1}]}, origin="t"
        )


def test_shipped_time_profiles_cite_sources():
    for name, mode in (("fr-20min-car", "car"), ("ch-20min-walk", "walk")):
        bench = load_benchmark(name)
        assert bench.time_rules[0].minutes == 20.0
        assert bench.time_rules[0].mode == mode
        assert any(s.startswith("Cited:") for s in bench.sources)


def test_plan_within_minutes(tmp_path):
    out = tmp_path / "plan"
    result = _run(
        "plan",
        "--add",
        "3",
        "--roads",
        str(ROADS),
        "--within-min",
        "30",
        "--out",
        str(out),
        "--no-map",
        "--max-candidates",
        "400",
    )
    assert result.exit_code == 0, result.output
    assert "within 30 min" in result.output
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["within_min"] == 30.0
    assert plan["n_proposed"] == 3
    ba = plan["before_after"]
    assert ba["share_within_after"] >= ba["share_within_before"]


def test_time_cover_matches_travel_times(timed):
    from coverage.pipeline.travel import time_cover

    surface = timed.access.surface
    cover = time_cover(timed, 30.0)(surface.xy, timed.access.point_xy)
    covered = cover.getnnz(axis=1) > 0
    np.testing.assert_array_equal(covered, timed.travel.times.minutes <= 30.0 + 1e-6)


def _line_layer(path: Path, crs: object = 4326, cls: str = "Quốc lộ") -> Path:
    frame = gpd.GeoDataFrame(
        {"loai_duong": [cls]},
        geometry=[shapely.LineString([(105.3, 20.7), (105.5, 20.8)])],
        crs=crs,
    )
    frame.to_file(path, driver="GPKG")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _line_layer(p / "r.gpkg", crs=None), "CRS"),
        (lambda p: _line_layer(p / "r.gpkg", cls="đường bay"), "đường bay|duong_bay"),
        (
            lambda p: (
                gpd.GeoDataFrame(
                    {"loai_duong": ["Quốc lộ"]},
                    geometry=[shapely.Point(105.3, 20.7)],
                    crs=4326,
                ).to_file(p / "r.gpkg", driver="GPKG")
                or p / "r.gpkg"
            ),
            "line",
        ),
        (lambda p: p / "missing.gpkg", "not found"),
    ],
)
def test_bad_roads_exit_2(tmp_path, make, message):
    roads = make(tmp_path)
    result = _run(
        "analyze", "--roads", str(roads), "--out", str(tmp_path / "o"), "--no-map"
    )
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert len(text.splitlines()) == 1
    assert pd.Series([text]).str.contains(message, case=False).all(), text


def test_dem_not_covering_the_area_exit_2(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    path = tmp_path / "far.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(10.0, 50.0, 0.01, 0.01),
    ) as dst:
        dst.write(np.zeros((1, 10, 10), dtype="float32"))
    result = _run(
        "analyze",
        "--roads",
        str(ROADS),
        "--dem",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--no-map",
        "--cell-m",
        "1000",
    )
    assert result.exit_code == 2, result.output
    assert "DEM" in result.output or "dem" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_barriers_without_polygons_exit_2(tmp_path):
    result = _run(
        "analyze",
        "--roads",
        str(ROADS),
        "--barriers",
        str(ROADS),
        "--barriers-layer",
        "roads",
        "--out",
        str(tmp_path / "o"),
        "--no-map",
    )
    assert result.exit_code == 2
    assert "polygons" in result.output


def test_graph_has_no_parallel_edges(timed):
    """build_graph skips the duplicate summation: every edge must occur once."""
    matrix = timed.travel.times.graph.matrix_t
    canonical = matrix.copy()
    canonical.sum_duplicates()
    assert canonical.nnz == matrix.nnz


def test_each_province_summary_has_its_own_travel_figures(tmp_path):
    communes = gpd.read_file(COMMUNES)
    districts = sorted(communes["ten_huyen"].unique())
    west = set(districts[: len(districts) // 2])
    communes["ten_tinh"] = np.where(communes["ten_huyen"].isin(west), "Tây", "Đông")
    layer = tmp_path / "two_provinces.gpkg"
    communes.to_file(layer, driver="GPKG", engine="pyogrio")
    out = tmp_path / "out"
    res = _run(
        *("analyze", "-b", str(layer), "-p", str(POINTS), "--out", str(out)),
        *("--no-map", "--cell-m", "1000", "--roads", str(ROADS), "--by", "province"),
    )
    assert res.exit_code == 0, res.output
    national = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    table = pd.read_csv(out / "provinces.csv", encoding="utf-8-sig")
    table = table.set_index("province_name")
    parts = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "by_province").glob("*/summary.json"))
    ]
    assert len(parts) == 2
    means = []
    for part in parts:
        travel = part["travel"]
        row = table.loc[part["inputs"]["province"]]
        assert travel["mean_time_min"] == pytest.approx(row["mean_time_min"], abs=0.01)
        assert travel["max_time_min"] == pytest.approx(row["max_time_min"], abs=0.01)
        assert travel["max_time_min"] <= national["travel"]["max_time_min"]
        assert part["access"]["zone_threshold_km"] is None
        means.append(travel["mean_time_min"])
    assert min(means) < national["travel"]["mean_time_min"] < max(means)
    assert (
        sum(p["travel"]["n_uncovered_zone_parts"] for p in parts)
        >= (national["travel"]["n_uncovered_zone_parts"])
    )


def _local_roads(tmp_path: Path) -> Path:
    roads = gpd.read_file(ROADS, layer="roads")
    # the layer's own grades, not names the reader knows
    local = {"Quốc lộ": "cấp I", "Đường tỉnh": "cấp III"}
    own = roads["loai_duong"].map(local).fillna("cấp VI")
    frame = gpd.GeoDataFrame({"LOAI": own}, geometry=roads.geometry, crs=roads.crs)
    path = tmp_path / "local_roads.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def test_roads_column_and_class_options_name_a_local_layer(tmp_path):
    path = _local_roads(tmp_path)
    base = ("analyze", "--roads", str(path), "--no-map", "--cell-m", "1000")
    # the layer's column is not under a common name: a clear error names the option
    res = _run(*base, "--out", str(tmp_path / "a"))
    assert res.exit_code == 2 and "--roads-column class=COLUMN" in res.output
    res = _run(*base, "--out", str(tmp_path / "b"), "--roads-column", "class=LOAI")
    assert res.exit_code == 2 and "--roads-class" in res.output
    mapped = ("--roads-class", "cấp I=trunk", "--roads-class", "cấp III=secondary")
    mapped += ("--roads-class", "cấp VI=unclassified")
    out = tmp_path / "c"
    res = _run(*base, "--out", str(out), "--roads-column", "class=LOAI", *mapped)
    assert res.exit_code == 0, res.output
    slow = json.loads((out / "summary.json").read_text(encoding="utf-8"))["travel"]
    # every road at its own class's speed is faster than all of them as tracks
    tracks = tuple(
        x.replace("=trunk", "=track")
        .replace("=secondary", "=track")
        .replace("=unclassified", "=track")
        for x in mapped
    )
    out2 = tmp_path / "d"
    res = _run(*base, "--out", str(out2), "--roads-column", "class=LOAI", *tracks)
    assert res.exit_code == 0, res.output
    as_tracks = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert slow["mean_time_min"] < as_tracks["travel"]["mean_time_min"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--roads-column", "width=W", "use class=COLUMN or speed=COLUMN"),
        ("--roads-column", "class=NOPE", "no class column 'NOPE'"),
        ("--roads-class", "cấp I=autobahn", "'autobahn' is not a road class"),
        ("--roads-class", "QL", "is not KEY=COLUMN"),
    ],
)
def test_bad_road_naming_options_exit_2(tmp_path, option, value, message):
    path = _local_roads(tmp_path)
    res = _run(
        *("analyze", "--roads", str(path), "--no-map", "--out", str(tmp_path / "o")),
        *("--roads-column", "class=LOAI", option, value),
    )
    assert res.exit_code == 2, res.output
    assert message in res.output
