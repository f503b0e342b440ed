"""The smaller hostile cases of issues 15 and 16, each with its exact outcome."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from test_bad_inputs import ROWS, build, communes_frame, csv_text

from coverage.cli import main
from coverage.output.report import printable

ROOT = Path(__file__).resolve().parents[1]
COVERAGE = shutil.which("coverage", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("delay_s", [0.05, 0.15, 0.3, 0.5, 1.0, 2.0])
def test_ctrl_c_at_any_time_exits_130_in_one_line(tmp_path, delay_s):
    assert COVERAGE is not None
    proc = subprocess.Popen(
        [COVERAGE, "analyze", "--out", str(tmp_path / "out"), "--no-map"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    before_any_code = err.rstrip().endswith(
        "from coverage._entry import run\nKeyboardInterrupt"
    )
    if "init_import_site" in err or before_any_code:
        pytest.skip("the signal came while the interpreter itself was starting")
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted!" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Interrupted"), err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "0.01"])
def test_plan_time_limit_must_be_finite_and_positive(runner, value):
    result = runner.invoke(main, ["plan", "--add", "1", "--time-limit", value])
    assert result.exit_code == 2
    assert (
        f"Invalid value for '--time-limit': {float(value):g} is not a number of "
        "seconds of at least 0.1 (e.g. 60)" in result.output
    )


def test_points_layer_without_crs_suggests_points_crs(runner, tmp_path):
    built = build(tmp_path)
    lat, lon = float(ROWS[0][4]), float(ROWS[0][5])
    layer = gpd.GeoDataFrame(
        {"ma_diem": ["A"]}, geometry=gpd.points_from_xy([lon], [lat]), crs=None
    )
    path = tmp_path / "points.gpkg"
    layer.to_file(path)
    result = runner.invoke(
        main, ["validate", "-b", str(built.boundaries), "-p", str(path)]
    )
    assert result.exit_code == 2
    assert (
        "points.gpkg: the layer has no coordinate reference system; set one with "
        "--points-crs (e.g. --points-crs EPSG:4326 for lon/lat degrees, EPSG:32648 "
        "for UTM 48N)" in result.output
    )
    fixed = runner.invoke(
        main,
        [
            "validate",
            "-b",
            str(built.boundaries),
            "-p",
            str(path),
            "--points-crs",
            "4326",
        ],
    )
    assert fixed.exit_code == 0, fixed.output


def test_exclusions_without_crs_say_how_to_fix(runner, tmp_path):
    built = build(tmp_path)
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=None)
    path = tmp_path / "zones.gpkg"
    zones.to_file(path)
    args = ["plan", "-b", str(built.boundaries), "-p", str(built.points), "--add", "1"]
    result = runner.invoke(
        main,
        [*args, "--exclude", str(path), "--out", str(tmp_path / "plan"), "--no-map"],
    )
    assert result.exit_code == 2, result.output
    assert (
        f"{path} (--exclude): the layer has no coordinate reference system, so "
        "excluding areas is impossible; assign its CRS in your GIS (e.g. save it as "
        "GeoJSON in EPSG:4326) and pass it again with --exclude" in result.output
    )


BIDI = ["\u202e", "\u202c", "\u202a", "\u202b", "\u202d", "\u2066", "\u2067"]
BIDI += ["\u2068", "\u2069", "\u200e", "\u200f", "\u061c"]


@pytest.mark.parametrize("char", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_bidi_controls_are_shown_as_question_marks(char):
    assert printable(f"Xã {char}Tân Lạc") == "Xã ?Tân Lạc"


def test_bidi_in_a_message_and_kept_in_the_outputs(runner, tmp_path):
    name = "Xã \u202eTân Lạc\u202c"
    row = [*ROWS[0][:2], "\u202ekiosk", *ROWS[0][3:]]
    built = build(tmp_path, points=csv_text([row]))
    result = runner.invoke(
        main, ["validate", "-b", str(built.boundaries), "-p", str(built.points)]
    )
    assert result.exit_code == 2
    assert "kind '\\u202ekiosk' not recognised" in result.output
    assert "\u202e" not in result.output
    good = build(tmp_path, communes=communes_frame(ten_xa=[name, "B", "C"]))
    out = tmp_path / "out"
    args = ["analyze", "-b", str(good.boundaries), "-p", str(good.points)]
    ran = runner.invoke(main, [*args, "--out", str(out), "--no-map"])
    assert ran.exit_code == 0, ran.output
    assert "\u202e" not in ran.output
    assert name in (out / "communes.csv").read_text(encoding="utf-8-sig")


def test_xlsx_cells_cut_at_excel_limit_are_noted(runner, tmp_path):
    long_name = "Xã " + "Tân Lạc " * 4999 + "Tân Lạc"
    built = build(tmp_path, communes=communes_frame(ten_xa=[long_name, "B", "C"]))
    out = tmp_path / "out"
    args = ["analyze", "-b", str(built.boundaries), "-p", str(built.points)]
    result = runner.invoke(main, [*args, "--out", str(out), "--no-map"])
    assert result.exit_code == 0, result.output
    note = (
        "coverage.xlsx: 1 cell(s) of sheet 'communes', column 'commune_name' cut at "
        "32,767 characters (Excel's limit); the CSV files hold them whole"
    )
    notes = json.loads((out / "summary.json").read_text(encoding="utf-8"))["notes"]
    assert note in notes
    assert note in result.output
    assert long_name in (out / "communes.csv").read_text(encoding="utf-8-sig")


WARN = """
import sys, warnings
import coverage.pipeline as pipeline
from coverage.cli import main

real = pipeline.analyze

def noisy(*args, **kwargs):
    warnings.warn("overflow encountered in is_valid_reason", RuntimeWarning)
    warnings.warn("a deprecated thing", DeprecationWarning)
    return real(*args, **kwargs)

pipeline.analyze = noisy
main(sys.argv[1:])
"""


def test_no_python_warning_reaches_stderr(tmp_path):
    built = build(tmp_path)
    args = ["analyze", "-b", str(built.boundaries), "-p", str(built.points)]
    args += ["--out", str(tmp_path / "out"), "--no-map"]
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", WARN, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "overflow" not in done.stderr
    assert "note: overflow encountered in is_valid_reason" in done.stdout
    assert "note: a deprecated thing" in done.stdout


@pytest.mark.parametrize("command", ["analyze", "plan"])
def test_grid_too_large_is_refused_before_allocating(
    runner, tmp_path, monkeypatch, command
):
    import coverage.access.core as core

    monkeypatch.setattr(core, "_physical_memory_bytes", lambda: None)
    built = build(tmp_path)
    args = [command, "-b", str(built.boundaries), "-p", str(built.points)]
    args += ["--add", "1"] if command == "plan" else []
    cell = "0.5" if command == "analyze" else "1"
    result = runner.invoke(
        main, [*args, "--cell-m", cell, "--out", str(tmp_path / "o"), "--no-map"]
    )
    assert result.exit_code == 2, result.output
    cells = "1,200,000,000" if cell == "0.5" else "300,000,000"
    gb = "240.0" if cell == "0.5" else "60.0"
    assert result.output.strip().splitlines()[-1] == (
        f"Error: --cell-m {cell}: the population grid would hold about {cells} cells "
        f"(about {gb} GB of memory) over 300 km² of land, more than the 40,000,000 "
        "this run allows; use --cell-m 5 or coarser"
    )
    assert not (tmp_path / "o").exists()


def test_grid_limit_follows_the_memory(monkeypatch):
    import numpy as np

    import coverage.access.core as core
    from coverage.errors import InputError

    monkeypatch.setattr(core, "_physical_memory_bytes", lambda: 2_000_000_000)
    assert core.check_grid_size(np.array([1.0, 2.0]), 100.0) == 300
    with pytest.raises(InputError, match="more than the 5,000,000 this run allows"):
        core.check_grid_size(np.array([1000.0]), 10.0)
    assert core.check_grid_size(np.array([np.nan, 0.0]), 250.0) == 2
