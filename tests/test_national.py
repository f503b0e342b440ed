"""A small synthetic country: the national run equals the sum of province runs.

Each province is written to its own files and analysed by an independent
``coverage analyze``; their postal totals must add up to the national run's, and
``--by province`` must give every province the figures of its own run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from coverage.cli import main

ROOT = Path(__file__).resolve().parents[1]
ADDITIVE = (
    "population",
    "n_points",
    "n_staffed",
    "n_admin_services",
    "n_communes",
    "n_communes_staffed",
    "n_communes_failing",
    "communes_points_needed",
)


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_national", ROOT / "bench" / "make_national.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["pre2025", "post2025"])
def country(request, tmp_path_factory):
    make_national = _generator()
    data = make_national.generate(
        request.param,
        n_communes=240,
        n_provinces=4,
        n_points=500,
        population=3_000_000,
        segment_m=2_000.0,
        seed=11,
    )
    folder = tmp_path_factory.mktemp(request.param)
    gpkg, csv = make_national.write(data, folder)
    return data, gpkg, csv, folder


def _analyze(boundaries: Path, points: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "analyze",
            "-b",
            str(boundaries),
            "-p",
            str(points),
            "--out",
            str(out),
            "--no-map",
            "--no-access",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_national_totals_are_sums_of_province_runs(country):
    data, gpkg, csv, folder = country
    national = _analyze(gpkg, csv, folder / "national", "--by", "province")
    communes = data.communes
    points = data.points
    code_col = "commune_code" if "commune_code" in points.columns else "ma_xa"
    runs = {}
    for name, part in communes.groupby("ten_tinh"):
        sub = folder / f"p{len(runs)}"
        sub.mkdir()
        part.to_file(sub / "communes.gpkg", driver="GPKG", engine="pyogrio")
        inside = points[points[code_col].astype(str).isin(part["ma_xa"].astype(str))]
        inside.to_csv(sub / "points.csv", index=False, encoding="utf-8-sig")
        runs[name] = _analyze(sub / "communes.gpkg", sub / "points.csv", sub / "out")
    assert len(runs) == communes["ten_tinh"].nunique() >= 4
    for key in ADDITIVE:
        total = sum(r["overall"][key] for r in runs.values())
        assert total == national["overall"][key], key
    assert sum(r["overall"]["area_km2"] for r in runs.values()) == pytest.approx(
        national["overall"]["area_km2"], rel=1e-9
    )
    # --by province gives every province the figures of its independent run
    provinces = pd.read_csv(
        folder / "national" / "provinces.csv", encoding="utf-8-sig"
    ).set_index("province_name")
    for name, run in runs.items():
        row = provinces.loc[name]
        assert row["n_points"] == run["overall"]["n_points"]
        assert row["radius_km"] == pytest.approx(run["overall"]["radius_km"], abs=1e-3)
        assert row["people_per_point"] == pytest.approx(
            run["overall"]["people_per_point"], abs=0.5
        )
    by_province = sorted((folder / "national" / "by_province").iterdir())
    assert len(by_province) == len(runs)
    for sub in by_province:
        part = json.loads((sub / "summary.json").read_text(encoding="utf-8"))
        own = runs[part["inputs"]["province"]]
        for key in ADDITIVE:
            assert part["overall"][key] == own["overall"][key], (sub.name, key)


def test_each_province_summary_has_its_own_access_figures(country, tmp_path):
    _, gpkg, csv, _ = country
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            *("-q", "analyze", "-b", str(gpkg), "-p", str(csv), "--out", str(out)),
            *("--no-map", "--cell-m", "1000", "--by", "province"),
        ],
    )
    assert result.exit_code == 0, result.output
    national = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    provinces = pd.read_csv(out / "provinces.csv", encoding="utf-8-sig")
    provinces = provinces.set_index("province_name")
    parts = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out / "by_province").glob("*/summary.json"))
    ]
    assert len(parts) == len(provinces) >= 4
    access = [p["access"] for p in parts]
    # the provinces' cells and uncovered people add up to the nation's
    assert sum(a["n_locations"] for a in access) == national["access"]["n_locations"]
    assert sum(a["uncovered_population"] for a in access) >= (
        national["access"]["uncovered_population"] * (1 - 1e-9)
    )
    for part, figures in zip(parts, access, strict=True):
        row = provinces.loc[part["inputs"]["province"]]
        assert figures["mean_distance_km"] == pytest.approx(
            row["mean_distance_km"], abs=5e-4
        )
        assert figures["max_distance_km"] <= national["access"]["max_distance_km"]
    means = [a["mean_distance_km"] for a in access]
    assert min(means) < national["access"]["mean_distance_km"] < max(means)
