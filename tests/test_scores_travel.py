"""Access scores by travel time and per district and province (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from coverage.access.scores import (
    LUO_QI_WEIGHTS,
    enhanced_two_step_fca,
    floating_catchment,
    neighbour_pairs,
    two_step_fca,
)
from coverage.benchmarks import load_benchmark
from coverage.cli import main
from coverage.model import AccessOptions, TravelOptions
from coverage.pipeline import analyze
from coverage.pipeline.scores import apply_access_score, time_pairs
from coverage.travel.cover import TIME_TOLERANCE_MIN, TimeCover
from coverage.travel.graph import build_graph
from coverage.travel.profiles import parse_travel_profile
from coverage.travel.roads import ROAD_CLASSES

ROOT = Path(__file__).resolve().parents[1]
ROADS = ROOT / "data" / "roads" / "roads.gpkg"
COMMUNES = ROOT / "data" / "boundaries" / "communes.geojson"
POINTS = ROOT / "data" / "points" / "service_points.csv"
CRS = 32648


def _profile(road_kmh: float, offroad_kmh: float):
    return parse_travel_profile(
        {
            "name": "t",
            "offroad_speed_kmh": offroad_kmh,
            "road_speed_kmh": dict.fromkeys(ROAD_CLASSES, road_kmh),
        }
    )


def _road(x0: float, x1: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_class": ["primary"]},
        geometry=[shapely.LineString([(x0, 0.0), (x1, 0.0)])],
        crs=CRS,
    )


def test_e2sfca_by_travel_time_by_hand():
    # three cells on a 60 km/h road (1 km a minute), points at both ends, walking
    # off road so slow that only the road counts: cell -> point times are
    # 0/3, 1/2 and 3/0 minutes; zones 0-1, 1-2, 2-3 min, weights 1, 0.68, 0.22
    cells = np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]])
    pop = np.array([100.0, 200.0, 300.0])
    points = np.array([[0.0, 0.0], [3000.0, 0.0]])
    supply = np.array([1.0, 2.0])
    graph = build_graph(
        cells, points, _road(0, 3000), cell_m=1000, profile=_profile(60, 0.01), crs=CRS
    )
    pairs = time_pairs(graph, max_min=3.0)
    minutes = np.full((3, 2), np.inf)
    minutes[pairs.demand_idx, pairs.supply_idx] = pairs.cost
    np.testing.assert_allclose(minutes, [[0, 3], [1, 2], [3, 0]], atol=1e-6)
    edges = [1 + TIME_TOLERANCE_MIN, 2 + TIME_TOLERANCE_MIN, 3 + TIME_TOLERANCE_MIN]
    res = floating_catchment(pop, supply, pairs, edges=edges, weights=LUO_QI_WEIGHTS)
    d0 = 100 + 200 + 300 * 0.22
    d1 = 100 * 0.22 + 200 * 0.68 + 300
    np.testing.assert_allclose(res.demand_in_reach, [d0, d1])
    r0, r1 = 1 / d0, 2 / d1
    np.testing.assert_allclose(
        res.score, [r0 + 0.22 * r1, r0 + 0.68 * r1, 0.22 * r0 + r1]
    )
    assert float(pop @ res.score) == pytest.approx(3.0)
    # a 2.5-minute catchment drops the 3-minute pairs (2SFCA)
    res2 = two_step_fca(pop, supply, time_pairs(graph, max_min=2.5), max_cost=2.5)
    np.testing.assert_allclose(res2.ratio, [1 / 300, 2 / 500])
    np.testing.assert_allclose(res2.score, [1 / 300, 1 / 300 + 2 / 500, 2 / 500])


@pytest.mark.parametrize("enhanced", [True, False])
def test_minutes_equal_km_on_a_road_at_one_speed(enhanced):
    # Roads everywhere at one speed: along a straight line of cells with a road on
    # it and off-road walking at the road speed, every shortest time is the
    # straight-line distance / speed, so the minute score equals the km score at
    # the equivalent thresholds. (On a 2-D grid it would not: the graph moves
    # along roads and the 8 neighbour directions, so its times are those of a
    # network distance >= the straight line, equal only along straight runs.)
    rng = np.random.default_rng(3)
    x = np.arange(40) * 500.0
    cells = np.column_stack([x, np.zeros_like(x)])
    pop = rng.integers(0, 500, size=len(x)).astype(float)
    points = cells[[2, 11, 17, 30, 38]]
    supply = np.array([1.0, 2.0, 1.0, 3.0, 1.0])
    kmh = 30.0  # 0.5 km a minute
    graph = build_graph(
        cells, points, _road(0, x[-1]), cell_m=500, profile=_profile(kmh, kmh), crs=CRS
    )
    edges_km = [1.0, 2.5, 4.0]
    edges_min = [e / kmh * 60 for e in edges_km]
    t = time_pairs(graph, max_min=edges_min[-1])
    d = neighbour_pairs(cells, points, max_distance_m=edges_km[-1] * 1000)
    assert len(t) == len(d)
    if enhanced:
        by_min = enhanced_two_step_fca(
            pop, supply, t, thresholds=[e + TIME_TOLERANCE_MIN for e in edges_min]
        )
        by_km = enhanced_two_step_fca(
            pop, supply, d, thresholds=[e * 1000 for e in edges_km]
        )
    else:
        by_min = two_step_fca(pop, supply, t, max_cost=edges_min[-1] + 1e-6)
        by_km = two_step_fca(pop, supply, d, max_cost=edges_km[-1] * 1000)
    np.testing.assert_allclose(by_min.score, by_km.score, rtol=1e-12)
    np.testing.assert_allclose(by_min.ratio, by_km.ratio, rtol=1e-12)


def test_time_pairs_agree_with_the_planners_cover():
    rng = np.random.default_rng(5)
    cells = np.column_stack(
        [np.repeat(np.arange(8), 6) * 500.0, np.tile(np.arange(6), 8) * 500.0]
    )
    points = rng.uniform(0, 3000, size=(4, 2))
    profile = _profile(40, 4)
    graph = build_graph(
        cells, points, _road(0, 3500), cell_m=500, profile=profile, crs=CRS
    )
    pairs = time_pairs(graph, max_min=20.0)
    cover = TimeCover(
        limit_min=20.0, roads=_road(0, 3500), profile=profile, crs=CRS, cell_m=500
    )(cells, points)
    got = np.zeros(cover.shape, dtype=bool)
    got[pairs.demand_idx, pairs.supply_idx] = True
    np.testing.assert_array_equal(got, cover.toarray())
    assert pairs.cost.max() <= 20.0 + TIME_TOLERANCE_MIN


@pytest.fixture(scope="module")
def timed_scores():
    analysis = analyze(
        COMMUNES,
        POINTS,
        benchmark=load_benchmark("vn-national-2024"),
        access=AccessOptions(cell_m=1000.0),
        travel=TravelOptions(roads=ROADS),
    )
    apply_access_score(analysis, method="e2sfca", thresholds_min=(45.0,))
    return analysis


def test_sample_score_by_time_and_per_level(timed_scores):
    a = timed_scores
    score = a.summary["access_score"]
    assert score["measure"] == "travel_time_min"
    assert score["zone_edges_min"] == [15.0, 30.0, 45.0]
    assert score["thresholds_from"] == "--within-min"
    assert "zone_edges_km" not in score
    communes = a.communes
    pop = communes["population"].to_numpy(float)
    # supply is conserved: the area mean is points per person when none is idle
    assert score["n_idle_points"] == 0
    n_points = len(a.access.point_xy)
    assert score["area_mean"] == pytest.approx(n_points / pop.sum() * 1000)
    assert a.summary["overall"]["access_score"] == score["area_mean"]
    for level, keys in (
        ("district", ["province_name", "district_name"]),
        ("province", ["province_name"]),
    ):
        table = a.levels[level]
        assert list(table.columns[-2:]) == ["access_score", "access_score_ratio"]
        weighted = (
            communes.assign(_w=communes["access_score"] * pop)
            .groupby(keys)[["_w", "population"]]
            .sum()
        )
        expected = (weighted["_w"] / weighted["population"]).reindex(
            pd.MultiIndex.from_frame(table[keys]) if len(keys) > 1 else table[keys[0]]
        )
        np.testing.assert_allclose(
            table["access_score"], expected.to_numpy(), rtol=1e-9
        )
        np.testing.assert_allclose(
            table["access_score_ratio"],
            table["access_score"] / score["area_mean"],
            rtol=1e-9,
        )
        assert len(score[f"lowest_{level}s"]) == min(5, len(table))
    # the same score from the pairs by hand
    graph = a.travel.times.graph
    pairs = time_pairs(graph, max_min=45.0)
    res = enhanced_two_step_fca(
        a.access.surface.pop,
        np.ones(graph.n_points),
        pairs,
        thresholds=[
            15 + TIME_TOLERANCE_MIN,
            30 + TIME_TOLERANCE_MIN,
            45 + TIME_TOLERANCE_MIN,
        ],
    )
    cells = pd.DataFrame({"c": a.access.surface.commune, "p": a.access.surface.pop})
    cells["w"] = res.score * cells["p"]
    by_commune = cells.groupby("c")[["w", "p"]].sum()
    np.testing.assert_allclose(
        communes["access_score"].to_numpy()[by_commune.index],
        (by_commune["w"] / by_commune["p"]).to_numpy() * 1000,
        rtol=1e-9,
    )


def test_cli_writes_level_scores_and_measure(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        [
            "-q",
            "analyze",
            "--out",
            str(out),
            "--no-map",
            "--cell-m",
            "1000",
            "--roads",
            str(ROADS),
            "--within-min",
            "10,20,40",
            "--access-score",
            "2sfca",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    score = summary["access_score"]
    assert score["measure"] == "travel_time_min"
    assert score["zone_edges_min"] == [40.0]
    assert score["zone_weights"] == [1.0]
    for name in ("districts", "provinces"):
        table = pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig")
        assert {"access_score", "access_score_ratio"} <= set(table.columns)
        sheet = pd.read_excel(out / "coverage.xlsx", sheet_name=name)
        assert "access_score_ratio" in sheet.columns
    provinces = pd.read_csv(out / "provinces.csv", encoding="utf-8-sig")
    assert provinces["access_score"].iloc[0] == pytest.approx(
        summary["overall"]["access_score"], abs=1e-3
    )


def test_without_roads_the_score_is_by_distance(tmp_path):
    analysis = analyze(
        COMMUNES,
        POINTS,
        benchmark=load_benchmark("vn-national-2024"),
        access=AccessOptions(cell_m=1000.0),
    )
    apply_access_score(analysis, method="e2sfca", thresholds_km=(6.0,))
    score = analysis.summary["access_score"]
    assert score["measure"] == "distance_km"
    assert score["zone_edges_km"] == [2.0, 4.0, 6.0]
    assert "access_score" in analysis.levels["district"].columns


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"zone_edges_min": [15.0, 30.0, 60.0]}, "(15/30/60 min)"),
        ({"zone_edges_km": [2.0, 3.0, 5.0]}, "(2/3/5 km)"),
    ],
)
def test_report_line_names_the_measure_of_the_score(edges, expected):
    from coverage.output.report import _score_lines

    score = {"method": "e2sfca", "area_mean": 0.281, "unit": "supply per 1,000 people"}
    score |= {"lowest_communes": ["04701"], **edges}
    (line,) = [
        x for x in _score_lines({"access_score": score}, vi=False) if "score" in x
    ]
    assert f"access score e2sfca {expected}: 0.281" in line
