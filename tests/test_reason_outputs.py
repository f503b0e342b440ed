"""Gap reasons are codes inside a run and words in every output (en/vi)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from test_workflow import analyze_args, run

from coverage.reasons import render_reasons


def test_outputs_render_codes_and_the_geopackage_keeps_them(
    runner, small_layers, tmp_path
):
    run(runner, *analyze_args(small_layers, tmp_path, "--no-map"))
    out = tmp_path / "out"
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig", keep_default_na=False)
    assert "no service point" in set(gaps["gap_reasons"])
    assert not gaps["gap_reasons"].str.contains("|", regex=False).any()
    layer = gpd.read_file(out / "coverage.gpkg", layer="communes")
    columns = list(layer.columns)
    assert columns[columns.index("gap_reasons") + 1] == "gap_reason_codes"
    codes = layer["gap_reason_codes"].fillna("")
    assert "no_point" in set(codes)
    words = render_reasons(codes, "en").tolist()
    assert layer["gap_reasons"].fillna("").tolist() == words


def test_map_from_a_run_speaks_the_language_asked(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "--no-map"))
    target = tmp_path / "vi.html"
    run(runner, "map", "--from", str(tmp_path / "out"), "--map", str(target))
    assert "no service point" in target.read_text(encoding="utf-8")
    run(
        runner,
        *("map", "--from", str(tmp_path / "out"), "--map", str(target)),
        *("--lang", "vi", "--overwrite"),
    )
    page = target.read_text(encoding="utf-8")
    assert "chưa có điểm phục vụ" in page and "no service point" not in page


def test_a_geopackage_without_codes_still_redraws(runner, small_layers, tmp_path):
    run(runner, *analyze_args(small_layers, tmp_path, "--no-map"))
    gpkg = tmp_path / "out" / "coverage.gpkg"
    layer = gpd.read_file(gpkg, layer="communes").drop(columns="gap_reason_codes")
    layer.to_file(gpkg, layer="communes", driver="GPKG", engine="pyogrio")
    target = Path(tmp_path / "old.html")
    run(runner, "map", "--from", str(tmp_path / "out"), "--map", str(target))
    # the words written by the run pass through unchanged
    assert "no service point" in target.read_text(encoding="utf-8")
