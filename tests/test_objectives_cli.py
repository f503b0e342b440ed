"""End-to-end tests of capacity, access scores and plan objectives (issue 12)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from common import LAEA_VN, points_in, square_communes, write_points_csv

from coverage.access import access_scores
from coverage.access.core import _point_arrays
from coverage.benchmarks import load_benchmark, parse_benchmark
from coverage.cli import main
from coverage.errors import InputError
from coverage.model import AccessOptions
from coverage.pipeline import analyze as run_analysis


def _run(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def _layer(xy, crs=LAEA_VN, **cols):
    return gpd.GeoDataFrame(
        pd.DataFrame(cols), geometry=[shapely.Point(x, y) for x, y in xy], crs=crs
    )


@pytest.fixture
def line_case(tmp_path):
    """One 10 km square commune, three villages on a line, one point, two sites.

    Villages at x = 1, 5, 9 km (100, 100, 200 people); the existing point at
    x = 1 km; candidate A at x = 5 km, B at x = 8 km. Before: distances 0, 4, 8 km,
    mean (100*4 + 200*8) / 400 = 5 km, largest 8 km. With B: 0, 3, 1 km, mean
    (100*3 + 200*1) / 400 = 1.25 km, largest 3 km; with A: mean 2 km, largest
    4 km. So B is both the 1-median and the 1-center.
    """
    communes = square_communes(
        [{"commune_code": "C1", "commune_name": "One", "population": 400}]
    )
    communes.to_file(tmp_path / "c.gpkg")
    write_points_csv(
        _layer([(1000, 5000)], point_id=["E1"], kind=["post_office"]),
        tmp_path / "p.csv",
    )
    write_points_csv(
        _layer([(5000, 5000), (8000, 5000)], point_id=["A", "B"]),
        tmp_path / "cand.csv",
    )
    write_points_csv(
        _layer([(1000, 5000), (5000, 5000), (9000, 5000)], population=[100, 100, 200]),
        tmp_path / "s.csv",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("objective", "before_km", "after_km"),
    [("median", 5.0, 1.25), ("center", 8.0, 3.0)],
)
def test_plan_objective_hand_computed(
    runner, line_case, objective, before_km, after_km
):
    d = line_case
    out = d / f"o_{objective}"
    res = _run(
        runner,
        "plan",
        "-b",
        d / "c.gpkg",
        "-p",
        d / "p.csv",
        "--candidates",
        d / "cand.csv",
        "--settlements",
        d / "s.csv",
        "--add",
        1,
        "--objective",
        objective,
        "--radius-km",
        2,
        "--out",
        out,
        "--no-map",
    )
    assert res.exit_code == 0, res.output
    plan = json.loads((out / "plan.json").read_text())
    assert plan["problem"] == f"p-{objective}"
    assert plan["status"] == "optimal"
    values = plan["objective_values"]
    assert values["objective"] == objective
    # lat/lon CSVs and the UTM zone of the analysis move points by centimetres
    assert values["before"] == pytest.approx(before_km, rel=2e-3)
    assert values["after"] == pytest.approx(after_km, rel=2e-3)
    table = pd.read_csv(out / "before_after.csv", encoding="utf-8-sig")
    assert table["objective_before"].iloc[0] == pytest.approx(before_km, rel=2e-3)
    assert table["objective_after"].iloc[0] == pytest.approx(after_km, rel=2e-3)
    proposed = pd.read_csv(out / "proposed_points.csv", encoding="utf-8-sig")
    b = gpd.GeoSeries([shapely.Point(8000, 5000)], crs=LAEA_VN).to_crs(4326)
    assert proposed["lon"].iloc[0] == pytest.approx(b.x.iloc[0], abs=1e-4)


def test_objective_needs_add(runner, line_case):
    d = line_case
    res = runner.invoke(
        main,
        [
            *("plan", "-b", str(d / "c.gpkg"), "-p", str(d / "p.csv")),
            *("--target", "all", "--objective", "median", "--no-map"),
        ],
    )
    assert res.exit_code == 2
    assert "--objective median needs --add K" in res.output


def test_respect_capacity_without_capacity_names_points(runner, line_case):
    d = line_case
    res = runner.invoke(
        main,
        [
            *("plan", "-b", str(d / "c.gpkg"), "-p", str(d / "p.csv")),
            *("--candidates", str(d / "cand.csv"), "--add", "1"),
            *("--respect-capacity", "--out", str(d / "cap"), "--no-map"),
        ],
    )
    assert res.exit_code == 2
    assert "have no capacity: E1" in res.output
    assert "infeasible" not in res.output


def test_respect_capacity_plan(runner, line_case):
    d = line_case
    points = _layer([(1000, 5000)], point_id=["E1"], kind=["post_office"])
    points["so_quay"] = [50]
    write_points_csv(points, d / "pc.csv")
    res = _run(
        runner,
        "plan",
        "-b",
        d / "c.gpkg",
        "-p",
        d / "pc.csv",
        "--candidates",
        d / "cand.csv",
        "--settlements",
        d / "s.csv",
        "--add",
        1,
        "--respect-capacity",
        "--new-capacity",
        150,
        "--radius-km",
        1.5,
        "--out",
        d / "cap",
        "--no-map",
    )
    assert res.exit_code == 0, res.output
    plan = json.loads((d / "cap" / "plan.json").read_text())
    assert plan["problem"] == "capacitated-cover"
    # E1 serves 50 of its village's 100; B (150) serves 150 of the 200 at 9 km
    assert plan["objective_values"]["before"] == pytest.approx(50.0)
    assert plan["objective_values"]["after"] == pytest.approx(200.0)
    assert "E1" in plan["detail"]


def test_capacity_load_in_catchments(runner, tmp_path):
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 10_000},
            {"commune_code": "B", "commune_name": "B", "population": 10_000},
        ]
    )
    communes.to_file(tmp_path / "c.gpkg")
    points = points_in([0, 1], so_quay=[1, 5])
    write_points_csv(points, tmp_path / "p.csv")
    profile = tmp_path / "cap.toml"
    profile.write_text(
        'name = "cap"\ntitle = "cap"\nradius_km = 5.0\n'
        "[capacity]\nculture_post = 1\npeople_per_unit = 3000\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = _run(
        runner,
        "analyze",
        "-b",
        tmp_path / "c.gpkg",
        "-p",
        tmp_path / "p.csv",
        "-B",
        profile,
        "--out",
        out,
        "--no-map",
    )
    assert res.exit_code == 0, res.output
    catch = pd.read_csv(out / "catchments.csv", encoding="utf-8-sig")
    assert list(catch.columns[-3:]) == ["capacity", "load", "overloaded"]
    expected = catch["pop_served"] / (catch["capacity"] * 3000)
    np.testing.assert_allclose(catch["load"], expected, atol=1e-3)
    assert catch["overloaded"].tolist() == ["yes", "no"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["capacity"]["n_overloaded"] == 1
    assert summary["capacity"]["overloaded_points"] == ["p0"]


def test_capacity_profile_schema():
    bench = parse_benchmark(
        {"name": "x", "capacity": {"post_office": 3, "people_per_unit": 2000}},
        origin="x.toml",
    )
    assert bench.capacity_by_kind == {"post_office": 3.0}
    assert bench.people_per_unit == 2000.0
    with pytest.raises(InputError, match="did you mean 'post_office'"):
        parse_benchmark({"name": "x", "capacity": {"post_ofice": 3}}, origin="x")


@pytest.mark.parametrize("method", ["e2sfca", "2sfca"])
def test_access_score_column_matches_core(runner, tmp_path, method):
    communes = square_communes(
        [
            {"commune_code": c, "commune_name": c, "population": p}
            for c, p in (("A", 5000), ("B", 8000), ("C", 3000))
        ]
    )
    communes.to_file(tmp_path / "c.gpkg")
    points = points_in([0, 0, 2], counters=[1, 3, 2])
    write_points_csv(points, tmp_path / "p.csv")
    out = tmp_path / "out"
    res = _run(
        runner,
        "analyze",
        "-b",
        tmp_path / "c.gpkg",
        "-p",
        tmp_path / "p.csv",
        "--access-score",
        method,
        "--within",
        "4,8,12",
        "--cell-m",
        1000,
        "--out",
        out,
        "--map",
        out / "map.html",
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "communes.csv", encoding="utf-8-sig", dtype={0: str})
    # the same layers through the library, then the array core directly
    analysis = run_analysis(
        tmp_path / "c.gpkg",
        tmp_path / "p.csv",
        benchmark=load_benchmark("vn-strategy-2025"),
        access=AccessOptions(cell_m=1000, thresholds_km=(4.0, 8.0, 12.0)),
    )
    surface = analysis.access.surface
    xy, _, _ = _point_arrays(analysis.points, surface.crs)
    edges = [4000.0, 8000.0, 12000.0] if method == "e2sfca" else [12000.0]
    _, groups = access_scores(
        surface.pop,
        np.array([1.0, 3.0, 2.0]),
        method=method,
        thresholds=edges,
        demand_xy=np.column_stack([surface.x_m, surface.y_m]),
        supply_xy=xy,
        groups=surface.commune,
    )
    np.testing.assert_allclose(table["access_score"], groups.score * 1000, atol=6e-4)
    np.testing.assert_allclose(
        table["access_score_ratio"], groups.ratio_to_mean, atol=6e-4
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["access_score"]["method"] == method
    assert summary["access_score"]["area_mean"] == pytest.approx(
        groups.area_mean * 1000
    )
    # the workbook is written from the same table
    sheet = pd.read_excel(out / "coverage.xlsx", sheet_name="communes")
    assert "access_score" in sheet.columns
    assert '"key":"access_score"' in (out / "map.html").read_text(encoding="utf-8")
