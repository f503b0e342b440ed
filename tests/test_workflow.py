"""End to end through the CLI: access, uncovered zones, plans, map redraw, --by."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from common import LAEA_VN, points_in, square_communes, write_points_csv
from pyproj import Transformer

from coverage.cli import main


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"commune_code": str})


def run(runner, *args: str, code: int = 0):
    result = runner.invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def analyze_args(small_layers, tmp_path: Path, *extra: str) -> list[str]:
    boundaries, points = small_layers
    return [
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--out",
        str(tmp_path / "out"),
        "--map",
        str(tmp_path / "map.html"),
        *extra,
    ]


def test_access_columns_zones_and_summary(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path))
    out = tmp_path / "out"
    communes = read_csv(out / "communes.csv")
    for t in ("2km", "3km", "5km"):
        assert {f"pop_within_{t}", f"share_within_{t}"} <= set(communes.columns)
    shares = communes[["share_within_2km", "share_within_3km", "share_within_5km"]]
    assert (shares.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    # commune 00003 has no point: its nearest points are in 00002, >= 1 km away
    row = communes.set_index("commune_code").loc["00003"]
    assert row["mean_distance_km"] > 5 and row["share_within_2km"] == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    access = summary["access"]
    assert access["zone_threshold_km"] == 5.0
    within5 = next(w for w in access["within"] if w["distance_km"] == 5.0)
    zones = read_csv(out / "uncovered_zones.csv")
    assert list(zones["rank"]) == list(range(1, len(zones) + 1))
    assert zones["population"].is_monotonic_decreasing
    # people within 5 km plus people in the zones are everybody, to rounding
    assert within5["pop_within"] + zones["population"].sum() == pytest.approx(
        26_000, abs=len(zones)
    )
    assert access["uncovered_population"] == pytest.approx(
        26_000 - within5["pop_within"], abs=1e-6
    )
    catchments = read_csv(out / "catchments.csv")
    assert catchments["pop_served"].sum() == pytest.approx(26_000, abs=len(catchments))
    layers = {
        name for name, _ in __import__("pyogrio").list_layers(out / "coverage.gpkg")
    }
    assert {"communes", "points", "uncovered_zones", "catchments"} <= layers


def test_distance_rule_makes_communes_fail(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "-B", "nl-5km"))
    out = tmp_path / "out"
    communes = read_csv(out / "communes.csv").set_index("commune_code")
    assert "meets_access" in communes.columns
    # commune 00001: 4 points near one corner leave its far corner 11 km away
    row = communes.loc["00001"]
    assert row["share_within_5km"] < 0.95
    assert row["meets_access"] == "no" and row["fails"] == "yes"
    assert "95% within 5 km needed" in row["gap_reasons"]
    expected_beyond = round(row["population"] - row["pop_within_5km"])
    assert row["people_affected"] >= expected_beyond
    gaps = read_csv(out / "gaps.csv")
    assert "00001" in set(gaps["commune_code"])
    rules = read_csv(out / "distance_rules.csv")
    overall = rules.loc[rules["level"] == "overall"].iloc[0]
    assert overall["rule"] == "95.0% within 5 km"
    assert overall["passes"] == "no"
    assert overall["margin"] == pytest.approx(overall["share"] - 0.95, abs=1e-3)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["access"]["rules"][0]["passes"] is False


def test_within_option_and_no_access(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "--within", "1,4.5", "--no-map"))
    cols = set(read_csv(tmp_path / "out" / "communes.csv").columns)
    assert {"share_within_1km", "share_within_4.5km"} <= cols
    assert "share_within_2km" not in cols
    run(
        runner,
        *analyze_args(small_layers, tmp_path, "--no-access", "--no-map", "--overwrite"),
    )
    cols = set(read_csv(tmp_path / "out" / "communes.csv").columns)
    assert not any("within" in c for c in cols)
    # the zones of the previous run would be stale: they are removed
    assert not (tmp_path / "out" / "uncovered_zones.csv").exists()


@pytest.mark.parametrize("value", ["0", "-2", "abc", "2,x"])
def test_bad_within_is_bad_input(runner, small_layers, tmp_path, value):
    result = run(
        runner, *analyze_args(small_layers, tmp_path, "--within", value), code=2
    )
    assert "--within" in result.output


def test_progress_on_stderr_only(runner, small_layers, tmp_path):
    result = runner.invoke(main, analyze_args(small_layers, tmp_path, "--no-map"))
    assert result.exit_code == 0
    assert "distances from" in result.stderr
    assert "distances from" not in result.stdout
    quiet = runner.invoke(
        main, ["-q", *analyze_args(small_layers, tmp_path, "--no-map", "--overwrite")]
    )
    assert quiet.exit_code == 0
    assert quiet.stderr == "" and quiet.stdout == ""


def test_map_redraw_from_outputs(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "--no-map"))
    target = tmp_path / "redrawn.html"
    run(
        runner,
        "map",
        "--from",
        str(tmp_path / "out"),
        "--map",
        str(target),
        "--lang",
        "vi",
    )
    page = target.read_text(encoding="utf-8")
    for code in ("00001", "00002", "00003"):
        assert f'"{code}"' in page
    assert "Bán kính phục vụ" in page
    result = run(
        runner, "map", "--from", str(tmp_path / "out"), "--map", str(target), code=2
    )
    assert "--overwrite" in result.output
    result = run(
        runner,
        "map",
        "--from",
        str(tmp_path / "nowhere"),
        "--map",
        str(tmp_path / "x.html"),
        code=2,
    )
    assert "coverage.gpkg" in result.output and "coverage analyze" in result.output


def plan_args(small_layers, tmp_path: Path, *extra: str) -> list[str]:
    boundaries, points = small_layers
    return [
        "plan",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--out",
        str(tmp_path / "plan"),
        "--map",
        str(tmp_path / "plan.html"),
        *extra,
    ]


def test_plan_add_writes_ranked_proposals(runner, small_layers, tmp_path):
    result = run(runner, *plan_args(small_layers, tmp_path, "--add", "3"))
    out = tmp_path / "plan"
    proposed = read_csv(out / "proposed_points.csv")
    assert list(proposed["rank"]) == [1, 2, 3]
    assert np.all(np.diff(proposed["newly_covered_pop"]) <= 0)
    assert proposed["running_total_pop"].iloc[-1] == pytest.approx(
        proposed["newly_covered_pop"].sum(), abs=3
    )
    assert proposed["lat"].between(-90, 90).all()
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["status"] == "optimal" and plan["n_proposed"] == 3
    ba = plan["before_after"]
    assert ba["share_within_after"] > ba["share_within_before"]
    assert ba["n_points_after"] == ba["n_points_before"] + 3
    before_after = read_csv(out / "before_after.csv")
    assert (before_after["n_points_after"] >= before_after["n_points_before"]).all()
    # existing points are kept, unmoved
    kept = gpd.read_file(out / "coverage.gpkg", layer="points")
    assert len(kept) == 6
    page = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "Proposed" in page
    assert "optimal" in result.stdout


def test_plan_target_communes(runner, small_layers, tmp_path):
    run(runner, *plan_args(small_layers, tmp_path, "--target", "communes", "--no-map"))
    proposed = read_csv(tmp_path / "plan" / "proposed_points.csv")
    # only 00003 lacks a point
    assert list(proposed["commune_code"]) == ["00003"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "exactly one of --add"),
        (("--add", "2", "--target", "all"), "exactly one of --add"),
        (("--add", "0"), "--add"),
        (("--target", "lots"), "unknown target rule"),
        (("--add", "2", "--radius-km", "-1"), "--radius-km"),
        (("--add", "2", "--candidates", "missing.csv"), "missing.csv"),
    ],
)
def test_plan_bad_options(runner, small_layers, tmp_path, args, fragment):
    result = run(runner, *plan_args(small_layers, tmp_path, *args), code=2)
    assert fragment in result.output


@pytest.fixture
def two_provinces(tmp_path: Path) -> tuple[Path, Path]:
    specs = [
        ("00001", "Xã Một", "Huyện A", "Tỉnh Hòa Bình", 20000),
        ("00002", "Xã Hai", "Huyện A", "Tỉnh Hòa Bình", 5000),
        ("00003", "Xã Ba", "Huyện B", "Tỉnh Sơn La", 8000),
        ("00004", "Xã Bốn", "Huyện C", "Tỉnh Sơn La", 3000),
    ]
    communes = square_communes(
        [
            {"ma_xa": c, "ten_xa": n, "ten_huyen": d, "ten_tinh": p, "dan_so": pop}
            for c, n, d, p, pop in specs
        ]
    )
    boundaries = tmp_path / "two.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points = points_in(
        [0, 0, 1, 2, 2, 2], staffed=[True, False, True, True, False, True]
    )
    return boundaries, write_points_csv(points, tmp_path / "two.csv")


def test_by_province_sums_to_the_national_run(runner, two_provinces, tmp_path):
    boundaries, points = two_provinces
    out = tmp_path / "out"
    result = run(
        runner,
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--out",
        str(out),
        "--map",
        str(tmp_path / "maps" / "all.html"),
        "--by",
        "province",
    )
    assert "per-province files" in result.stdout
    folders = sorted(p.name for p in (out / "by_province").iterdir())
    assert folders == ["tinh-hoa-binh", "tinh-son-la"]
    national = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    parts = [
        json.loads((out / "by_province" / f / "summary.json").read_text("utf-8"))
        for f in folders
    ]
    for key in ("population", "n_points", "n_staffed", "n_communes", "area_km2"):
        assert sum(p["overall"][key] for p in parts) == pytest.approx(
            national["overall"][key]
        )
    assert (
        sum(p["overall"]["n_communes_failing"] for p in parts)
        == national["overall"]["n_communes_failing"]
    )
    national_communes = read_csv(out / "communes.csv")
    per = pd.concat(
        [read_csv(out / "by_province" / f / "communes.csv") for f in folders]
    )
    merged = national_communes.merge(per, on="commune_code", suffixes=("", "_p"))
    assert len(merged) == 4
    assert (merged["points_needed"] == merged["points_needed_p"]).all()
    assert np.allclose(merged["share_within_5km"], merged["share_within_5km_p"])
    for f in folders:
        assert (tmp_path / "maps" / "by_province" / f"{f}.html").is_file()
    national_map = (tmp_path / "maps" / "all_provinces.html").read_text("utf-8")
    assert "Tỉnh Hòa Bình" in national_map and "Tỉnh Sơn La" in national_map
    # a second run without --overwrite refuses before computing anything
    again = run(
        runner,
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--out",
        str(out),
        "--no-map",
        "--by",
        "province",
        code=2,
    )
    assert "--overwrite" in again.output


def test_offline_map_needs_no_network(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "--offline-map"))
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert '<script src="http' not in page
    assert not re.search(r'<link[^>]+href="http', page)
    assert "L.MarkerClusterGroup" in page or "L.map" in page


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: tone marks as combining characters."""
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", d[:-1])
            out.append(base.encode("cp1258") + d[-1].encode("cp1258"))
    return b"".join(out)


def test_settlements_place_the_population(runner, small_layers, tmp_path):
    from common import LAEA_VN
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(LAEA_VN, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(25_000.0, 5_000.0)
    villages = tmp_path / "villages.csv"
    text = f"ten_ban;vi_do;kinh_do;dan_so\nBản Khến;{lat:.7f};{lon:.7f};1.200\n"
    villages.write_bytes(cp1258(text))
    run(
        runner,
        *analyze_args(
            small_layers, tmp_path, "--settlements", str(villages), "--no-map"
        ),
    )
    communes = read_csv(tmp_path / "out" / "communes.csv").set_index("commune_code")
    # all 1,000 people of 00003 live in the village (rescaled from 1,200), whose
    # nearest point is p4 at (11 km, 1 km): 14.56 km away (distances are taken in
    # UTM, whose scale is within 0.1% of true in its zone)
    expected_km = np.hypot(14_000, 4_000) / 1000
    assert communes.loc["00003", "mean_distance_km"] == pytest.approx(
        expected_km, rel=1e-3
    )
    assert communes.loc["00003", "max_distance_km"] == pytest.approx(
        expected_km, rel=1e-3
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["access"]["population_surface"] == "settlements"
    # communes without villages keep a grid: its far cells form zones of many cells
    zones = read_csv(tmp_path / "out" / "uncovered_zones.csv")
    assert zones["area_km2"].sum() > 10
    assert zones["population"].sum() == pytest.approx(
        summary["access"]["uncovered_population"], abs=len(zones)
    )
    bad = tmp_path / "bad_villages.csv"
    bad.write_text("ten,lat,lon\nA,20.8,105.3\n", encoding="utf-8")
    result = run(
        runner,
        *analyze_args(
            small_layers, tmp_path, "--settlements", str(bad), "--no-map", "--overwrite"
        ),
        code=2,
    )
    assert "no population column" in result.output


def test_plan_with_settlements_as_candidates(runner, small_layers, tmp_path):
    to_lonlat = Transformer.from_crs(LAEA_VN, 4326, always_xy=True)
    rows = ["ten,lat,lon,dan_so"]
    sites = {"Bản A": (25_000.0, 5_000.0), "Bản B": (28_000.0, 8_000.0)}
    for name, (x, y) in sites.items():
        lon, lat = to_lonlat.transform(x, y)
        rows.append(f"{name},{lat:.7f},{lon:.7f},500")
    villages = tmp_path / "villages.csv"
    villages.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = plan_args(
        small_layers,
        tmp_path,
        "--add",
        "1",
        "--settlements",
        str(villages),
        "--candidate-source",
        "settlements",
        "--no-map",
    )
    run(runner, *args)
    proposed = read_csv(tmp_path / "plan" / "proposed_points.csv")
    assert len(proposed) == 1
    # the two villages hold the 1,000 people of 00003 and lie 4.2 km apart: a
    # site at one of them brings its 500 people within the 2.9 km radius
    got = (proposed["lat"].iloc[0], proposed["lon"].iloc[0])
    expected = [to_lonlat.transform(*xy)[::-1] for xy in sites.values()]
    assert any(np.allclose(got, e, atol=1e-5) for e in expected)
    assert proposed["newly_covered_pop"].iloc[0] == pytest.approx(500, abs=1)
    missing = run(
        runner,
        *plan_args(
            small_layers,
            tmp_path,
            "--add",
            "1",
            "--candidate-source",
            "settlements",
            "--overwrite",
        ),
        code=2,
    )
    assert "--settlements" in missing.output


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"enabled": False},
        {"catchments": False},
    ],
)
def test_stage_count_matches_the_stages_reported(small_layers, options):
    from coverage.benchmarks import load_benchmark
    from coverage.pipeline import AccessOptions, analyze, count_stages

    boundaries, points = small_layers
    seen: list[str] = []
    access = AccessOptions(**options)
    analyze(
        boundaries,
        points,
        benchmark=load_benchmark("vn-national-2024"),
        access=access,
        on_stage=seen.append,
    )
    assert len(seen) == count_stages(access)


@pytest.mark.parametrize("extra", [(), ("--no-access",), ("--by", "province")])
def test_progress_counts_to_the_last_stage(runner, small_layers, tmp_path, extra):
    result = runner.invoke(main, analyze_args(small_layers, tmp_path, *extra))
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("[")]
    done, total = re.match(r"\[\s*(\d+)/(\d+)", lines[-1]).groups()
    assert done == total and int(total) == len(lines)


@pytest.mark.parametrize("extra", [(), ("--no-map",)])
def test_plan_progress_counts_to_the_last_stage(runner, small_layers, tmp_path, extra):
    args = plan_args(small_layers, tmp_path, "--add", "2", *extra)
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("[")]
    done, total = re.match(r"\[\s*(\d+)/(\d+)", lines[-1]).groups()
    assert done == total and int(total) == len(lines)
    assert lines[-1].endswith("writing the plan …")


def test_pipeline_still_exports_every_name():
    import coverage.pipeline

    for name in coverage.pipeline.__all__:
        assert getattr(coverage.pipeline, name) is not None, name
    with pytest.raises(AttributeError):
        _ = coverage.pipeline.no_such_name


def test_workbook_keeps_codes_as_text(runner, small_layers, tmp_path):
    import openpyxl

    run(runner, *analyze_args(small_layers, tmp_path, "--no-map", "--lang", "vi"))
    book = openpyxl.load_workbook(tmp_path / "out" / "coverage.xlsx")
    assert {"communes", "districts", "provinces", "gaps"} <= set(book.sheetnames)
    sheet = book["communes"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "Mã xã"
    codes = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert codes == ["00001", "00002", "00003"]
    assert all(
        cell.data_type != "f" for ws in book.worksheets for row in ws for cell in row
    )
    csv = read_csv(tmp_path / "out" / "communes.csv")
    assert sheet.max_row - 1 == len(csv)


def test_control_characters_in_names_never_reach_the_terminal(runner, tmp_path):
    communes = square_communes(
        [
            {"ma_xa": "00001", "ten_xa": "Xã \x1b[2J\x07Tân Lạc", "dan_so": 2000},
            {"ma_xa": "00002", "ten_xa": "Xã Mới", "dan_so": 3000},
        ]
    )
    boundaries = tmp_path / "c.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points = write_points_csv(points_in([1]), tmp_path / "p.csv")
    result = runner.invoke(
        main,
        [
            "analyze",
            "-b",
            str(boundaries),
            "-p",
            str(points),
            "--out",
            str(tmp_path / "out"),
            "--no-map",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Tân Lạc" in result.stdout
    assert "\x1b" not in result.output and "\x07" not in result.output
    # the data keep the name as it is
    table = read_csv(tmp_path / "out" / "communes.csv")
    assert "\x1b[2J" in table.loc[0, "commune_name"]


@pytest.fixture
def gadm_like(tmp_path: Path) -> tuple[Path, Path]:
    """Communes in GADM's column names, without population, and their points."""
    communes = square_communes(
        [
            {"GID_3": "VNM.25.3.1_1", "NAME_3": "Tân Lạc", "NAME_1": "Hòa Bình"},
            {"GID_3": "VNM.25.3.2_1", "NAME_3": "Mường Khến", "NAME_1": "Hòa Bình"},
        ]
    )
    boundaries = tmp_path / "gadm.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points = write_points_csv(points_in([0, 0, 1]), tmp_path / "points.csv")
    return boundaries, points


def _with_table(gadm_like, tmp_path, text: str, *extra: str):
    boundaries, points = gadm_like
    table = tmp_path / "dan_so.csv"
    table.write_text(text, encoding="utf-8-sig")
    return [
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--population-table",
        str(table),
        "--out",
        str(tmp_path / "out"),
        "--no-map",
        *extra,
    ]


def test_population_table_joined_on_the_code(runner, gadm_like, tmp_path):
    text = "Mã xã;Dân số 2019\nVNM.25.3.2_1;5.000\nVNM.25.3.1_1;20.000\nVNM.9.9_1;7\n"
    run(runner, *_with_table(gadm_like, tmp_path, text, "-c", "population=Dân số 2019"))
    communes = read_csv(tmp_path / "out" / "communes.csv").set_index("commune_code")
    assert communes.loc["VNM.25.3.1_1", "population"] == 20_000
    assert communes.loc["VNM.25.3.2_1", "population"] == 5_000
    # 20,000 people and 2 points: 10,000 people per point
    assert communes.loc["VNM.25.3.1_1", "people_per_point"] == 10_000
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert any("2 of 2 communes matched" in n for n in summary["notes"])
    assert any("1 table row(s) match no commune" in n for n in summary["notes"])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ma_xa,dan_so\nVNM.25.3.1_1,20000\n", "no population for commune code"),
        (
            "ma_xa,dan_so\nVNM.25.3.1_1,1\nVNM.25.3.1_1,2\nVNM.25.3.2_1,3\n",
            "appears 2 times",
        ),
        ("ma_xa,ghi_chu\nVNM.25.3.1_1,x\n", "no population column found"),
        ("ma_xa,dan_so\nVNM.25.3.1_1,-5\nVNM.25.3.2_1,3\n", "negative"),
    ],
)
def test_population_table_problems(runner, gadm_like, tmp_path, text, fragment):
    result = run(runner, *_with_table(gadm_like, tmp_path, text), code=2)
    assert fragment in result.output
    assert "dan_so.csv" in result.output or "gadm.geojson" in result.output


@pytest.mark.parametrize("benchmark", ["vn-national-2024", "nl-5km"])
def test_gap_reasons_in_vietnamese(runner, small_layers, tmp_path, benchmark):
    run(runner, *analyze_args(small_layers, tmp_path, "--lang", "vi", "-B", benchmark))
    gaps = pd.read_csv(tmp_path / "out" / "gaps.csv", encoding="utf-8-sig")
    reasons = " ; ".join(gaps["Lý do chưa đạt"])
    assert reasons
    for english in ("radius", "people/point", "no service point", "staffed", "within"):
        assert english not in reasons
    assert "chưa có điểm phục vụ" in reasons  # commune 00003 has no point
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "chưa có điểm phục vụ" in page and "no service point" not in page


def test_rule_not_evaluated_is_blank_not_a_crash(runner, small_layers, tmp_path):
    # uk-post-office has a rural rule that the layers cannot evaluate: its verdict
    # is missing, and the CSV writer must show it blank (it crashed on pandas 3).
    run(runner, *analyze_args(small_layers, tmp_path, "-B", "uk-post-office"))
    rules = read_csv(tmp_path / "out" / "distance_rules.csv")
    rural = rules[rules["rule"].str.contains("rural")]
    assert len(rural) > 0 and rural["passes"].isna().all()
    assert set(rules.loc[~rules.index.isin(rural.index), "passes"]) <= {"yes", "no"}
