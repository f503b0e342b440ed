"""Figures do not depend on the CRS the layers come in (issue 16).

Twelve sample communes and their points are written in EPSG:4326, Web Mercator,
VN-2000 (a TM-3 zone and UTM 48N on the VN-2000 datum) and WGS84 UTM 48N; areas,
distances, the uncovered zones and a plan must agree within 0.1%.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import CRS
from shapely.geometry import box

from coverage.cli import main
from coverage.geo import metric_crs

ROOT = Path(__file__).resolve().parents[1]
# The communes of the sample's largest uncovered zone: every figure is non-trivial.
CODES = [
    "04579",
    "04593",
    "04634",
    "04644",
    "04648",
    "04656",
    "04659",
    "04663",
    "04666",
    "04669",
    "04673",
    "04677",
]
CRSS = ("EPSG:4326", "EPSG:3857", "EPSG:9210", "EPSG:3405", "EPSG:32648")
TOLERANCE = 1e-3


def _sample(folder: Path, crs: str) -> tuple[Path, Path]:
    communes = gpd.read_file(ROOT / "data" / "boundaries" / "communes.geojson")
    communes = communes[communes["ma_xa"].isin(CODES)]
    table = pd.read_csv(
        ROOT / "data" / "points" / "service_points.csv",
        dtype=str,
        encoding="utf-8-sig",
    )
    table = table[table["commune_code"].isin(CODES)].drop(columns="commune_code")
    points = gpd.GeoDataFrame(
        table.drop(columns=["lat", "lon"]),
        geometry=gpd.points_from_xy(
            table["lon"].astype(float), table["lat"].astype(float)
        ),
        crs=4326,
    )
    tag = crs.replace(":", "")
    boundaries = folder / f"communes_{tag}.gpkg"
    points_path = folder / f"points_{tag}.gpkg"
    communes.to_crs(crs).to_file(boundaries)
    points.to_crs(crs).to_file(points_path)
    return boundaries, points_path


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def _figures(folder: Path, crs: str) -> dict[str, float]:
    boundaries, points = _sample(folder, crs)
    before = _digest(boundaries, points)
    runner = CliRunner()
    tag = crs.replace(":", "")
    layers = ["-b", str(boundaries), "-p", str(points), "--no-map"]
    out = folder / f"analyze_{tag}"
    result = runner.invoke(
        main, ["analyze", *layers, "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    plan_out = folder / f"plan_{tag}"
    planned = runner.invoke(
        main,
        ["plan", *layers, "--add", "3", "--out", str(plan_out)],
        catch_exceptions=False,
    )
    assert planned.exit_code == 0, planned.output
    assert _digest(boundaries, points) == before
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    access = summary["access"]
    within = {w["distance_km"]: w["share"] for w in access["within"]}
    communes = pd.read_csv(
        out / "communes.csv", encoding="utf-8-sig", dtype={"commune_code": str}
    ).set_index("commune_code")
    plan = json.loads((plan_out / "plan.json").read_text(encoding="utf-8"))
    figures = {
        "area_km2": summary["overall"]["area_km2"],
        "mean_distance_km": access["mean_distance_km"],
        "p90_distance_km": access["p90_distance_km"],
        "share_within_5km": within[5.0],
        "uncovered_population": access["uncovered_population"],
        "plan_objective": plan["objective"],
    }
    for code in CODES:
        figures[f"area_km2 {code}"] = communes.loc[code, "area_km2"]
        figures[f"mean_distance_km {code}"] = communes.loc[code, "mean_distance_km"]
    return figures


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[str, dict[str, float]]:
    folder = tmp_path_factory.mktemp("crs")
    return {crs: _figures(folder, crs) for crs in CRSS}


def test_reference_figures_are_meaningful(figures):
    ref = figures["EPSG:4326"]
    assert ref["uncovered_population"] > 1000
    assert 0 < ref["share_within_5km"] < 1
    assert ref["plan_objective"] > 0


@pytest.mark.parametrize("crs", CRSS[1:])
def test_same_figures_in_any_crs(figures, crs):
    ref, other = figures["EPSG:4326"], figures[crs]
    assert other.keys() == ref.keys()
    for key, value in ref.items():
        assert other[key] == pytest.approx(value, rel=TOLERANCE, abs=1e-9), key


@pytest.mark.parametrize("crs", CRSS)
def test_metric_crs_ignores_the_input_crs(crs):
    layer = gpd.GeoDataFrame(geometry=[box(105.0, 20.8, 105.4, 21.0)], crs=4326)
    assert metric_crs(layer.to_crs(crs)) == CRS.from_epsg(32648)


def test_metric_crs_follows_the_data():
    south = gpd.GeoDataFrame(geometry=[box(-47.0, -16.0, -47.5, -15.5)], crs=4326)
    assert metric_crs(south.to_crs(3857)) == CRS.from_epsg(32723)
