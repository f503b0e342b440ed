from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from coverage.cli import main


def _run(runner, *args):
    return runner.invoke(main, list(args), catch_exceptions=False)


def _analyze(runner, layers, out, *extra):
    boundaries, points = layers
    return _run(
        runner,
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(points),
        "--out",
        str(out),
        "--no-map",
        *extra,
    )


def test_analyze_writes_every_output(runner, small_layers, tmp_path):
    out = tmp_path / "out"
    result = _analyze(runner, small_layers, out)
    assert result.exit_code == 0, result.output
    for name in (
        "communes.csv",
        "districts.csv",
        "provinces.csv",
        "gaps.csv",
        "points_outside.csv",
        "summary.json",
        "coverage.gpkg",
    ):
        assert (out / name).exists(), name
    raw = (out / "communes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    communes = pd.read_csv(
        out / "communes.csv", encoding="utf-8-sig", dtype={"commune_code": str}
    )
    required = [
        "commune_code",
        "commune_name",
        "district_name",
        "province_name",
        "population",
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
        "points_needed",
    ]
    assert communes.columns[: len(required)].tolist() == required
    row = communes.set_index("commune_code").loc["00001"]
    assert row["commune_name"] == "Xã Tân Lạc"
    assert row["radius_km"] == pytest.approx(2.821, abs=0.001)
    assert row["people_per_point"] == 5000
    no_point = communes.set_index("commune_code").loc["00003"]
    assert pd.isna(no_point["radius_km"]) and pd.isna(no_point["people_per_point"])
    gaps = pd.read_csv(
        out / "gaps.csv", encoding="utf-8-sig", dtype={"commune_code": str}
    )
    assert gaps["commune_code"].tolist() == ["00002", "00003"]
    assert "no staffed point" in gaps["gap_reasons"].iloc[0]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["overall"]["n_points"] == 5
    assert summary["n_points_outside_communes"] == 1
    assert summary["benchmark"]["name"] == "vn-national-2024"
    assert summary["communes_without_point"][0]["commune_name"] == "Xã Mường Khến"
    assert "Communes without any service point (1)" in result.output
    assert "00003 Xã Mường Khến" in result.output


def test_summary_reads_like_a_report(runner, small_layers, tmp_path):
    result = _analyze(runner, small_layers, tmp_path / "o")
    text = result.output
    assert "Service points 5" in text
    assert "Staffed points 2 (40.0%)" in text
    assert "Points receiving administrative (TTHC) dossiers 2 (40.0%)" in text
    assert "2.9 km" in text and "7,105" in text


def test_vietnamese_headers_and_summary(runner, small_layers, tmp_path):
    out = tmp_path / "vi"
    result = _analyze(runner, small_layers, out, "--lang", "vi")
    assert result.exit_code == 0, result.output
    assert "Số điểm phục vụ 5" in result.output
    header = (out / "communes.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "commune_code" not in header and "Xã" in header


def test_refuses_to_overwrite_without_flag(runner, small_layers, tmp_path):
    out = tmp_path / "o"
    assert _analyze(runner, small_layers, out).exit_code == 0
    before = (out / "communes.csv").read_bytes()
    again = _analyze(runner, small_layers, out)
    assert again.exit_code == 2
    assert "--overwrite" in again.output
    assert (out / "communes.csv").read_bytes() == before
    assert _analyze(runner, small_layers, out, "--overwrite").exit_code == 0


def test_missing_input_file_is_bad_input(runner, small_layers, tmp_path):
    boundaries, _ = small_layers
    result = _run(
        runner,
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(tmp_path / "nope.csv"),
        "--out",
        str(tmp_path / "o"),
        "--no-map",
    )
    assert result.exit_code == 2
    assert "nope.csv: file not found" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o" / "communes.csv").exists()


def test_not_a_spatial_file(runner, small_layers, tmp_path):
    _, points = small_layers
    bogus = tmp_path / "communes.geojson"
    bogus.write_text("this is not json", encoding="utf-8")
    result = _run(
        runner,
        "analyze",
        "-b",
        str(bogus),
        "-p",
        str(points),
        "--out",
        str(tmp_path / "o"),
        "--no-map",
    )
    assert result.exit_code == 2
    assert "not a readable spatial file" in result.output


def test_unknown_benchmark(runner, small_layers, tmp_path):
    result = _analyze(runner, small_layers, tmp_path / "o", "--benchmark", "nowhere")
    assert result.exit_code == 2
    assert "unknown benchmark 'nowhere'" in result.output


def test_user_benchmark_toml(runner, small_layers, tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text(
        'name = "mine"\nradius_km = 6.0\npeople_per_point = 30000\n'
        "require_staffed = false\n",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    result = _analyze(runner, small_layers, out, "--benchmark", str(toml))
    assert result.exit_code == 0, result.output
    gaps = pd.read_csv(
        out / "gaps.csv", encoding="utf-8-sig", dtype={"commune_code": str}
    )
    assert gaps["commune_code"].tolist() == ["00003"]


def test_only_one_input_is_a_usage_error(runner, small_layers):
    result = _run(runner, "analyze", "-b", str(small_layers[0]))
    assert result.exit_code == 2
    assert "--points is needed too" in result.output


def test_bad_column_option(runner, small_layers, tmp_path):
    result = _analyze(runner, small_layers, tmp_path / "o", "--column", "population")
    assert result.exit_code == 2
    assert "KEY=COLUMN" in result.output


def test_kinds_filter(runner, small_layers, tmp_path):
    out = tmp_path / "o"
    result = _analyze(runner, small_layers, out, "--kinds", "post_office,culture_post")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["overall"]["n_points"] == 3
    bad = _analyze(runner, small_layers, tmp_path / "o2", "--kinds", "kiosk")
    assert bad.exit_code == 2 and "unknown kind(s) kiosk" in bad.output


def test_inputs_are_not_modified(runner, small_layers, tmp_path):
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in small_layers]
    _analyze(runner, small_layers, tmp_path / "o")
    assert digests == [hashlib.sha256(p.read_bytes()).hexdigest() for p in small_layers]


def test_unwritable_output_folder(runner, small_layers, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _analyze(runner, small_layers, blocker / "sub")
    assert result.exit_code == 1
    assert "cannot write outputs here" in result.output


def test_benchmarks_lists_profiles_with_sources(runner):
    result = _run(runner, "benchmarks")
    assert result.exit_code == 0
    for name in (
        "vn-national-2024",
        "vn-mic-2015",
        "vn-strategy-2025",
        "vn-staffed-commune",
    ):
        assert name in result.output
    assert "people per point ≤ 7,105" in result.output
    assert "source: Decision 654/QD-TTg" in result.output


def test_version_and_help(runner):
    assert "coverage-planner" in _run(runner, "--version").output
    assert "coverage analyze" in _run(runner, "analyze", "--help").output
