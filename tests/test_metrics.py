from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from common import UTM48N, points_in, square_communes
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from coverage.benchmarks import Benchmark, load_benchmark
from coverage.io import assign_points
from coverage.metrics import (
    aggregate_metrics,
    compute_commune_metrics,
    levels_present,
    overall_metrics,
    people_per_point,
    points_needed,
    rank_gaps,
    service_radius_km,
)
from coverage.reasons import render_reasons

NATIONAL = load_benchmark("vn-national-2024")


def test_radius_of_a_10km_square_with_4_points():
    assert service_radius_km(np.array([100.0]), np.array([4]))[0] == pytest.approx(
        2.8209, abs=5e-5
    )


def test_people_per_point_hand_computed():
    assert people_per_point(np.array([20_000]), np.array([2]))[0] == 10_000


def test_no_point_gives_undefined_not_zero_or_infinite():
    assert np.isnan(service_radius_km(np.array([50.0]), np.array([0]))[0])
    assert np.isnan(people_per_point(np.array([500]), np.array([0]))[0])


@pytest.mark.parametrize(
    ("n_points", "radius_km"),
    [(18_502, 2.39), (17_898, 2.43), (14_911, 2.66), (12_757, 2.87)],
)
def test_national_series_recomputed_from_area_and_counts(n_points, radius_km):
    # MIC series, area of Vietnam about 331,000 km2 (FACTS.md)
    got = service_radius_km(np.array([331_000.0]), np.array([n_points]))[0]
    assert round(got, 2) == pytest.approx(radius_km, abs=0.01)


def test_hoa_binh_radius_from_gso_area():
    got = service_radius_km(np.array([4590.6]), np.array([240]))[0]
    assert round(got, 2) == 2.47


def test_points_needed_formula():
    # 100 km2 at 2.9 km needs ceil(100 / 26.42) = 4; 20,000 people at 7,105 needs 3
    got = points_needed(
        np.array([100.0, 100.0, 10.0]),
        np.array([20_000, 20_000, 50_000]),
        np.array([1, 9, 0]),
        radius_km=2.9,
        people_per_point=7105,
    )
    assert got.tolist() == [3, 0, 8]


@given(
    area=st.floats(0.01, 5000),
    pop=st.integers(0, 500_000),
    n=st.integers(0, 500),
)
def test_points_needed_never_negative_and_closes_the_gap(area, pop, n):
    need = points_needed(
        np.array([area]),
        np.array([pop]),
        np.array([n]),
        radius_km=2.9,
        people_per_point=7105,
    )[0]
    assert need >= 0
    total = n + need
    assert total >= 1
    assert service_radius_km(np.array([area]), np.array([total]))[0] <= 2.9 + 1e-9
    assert people_per_point(np.array([pop]), np.array([total]))[0] <= 7105 + 1e-9


@given(area=st.floats(0.01, 10_000), n=st.integers(1, 1000))
def test_radius_falls_as_points_are_added(area, n):
    r = service_radius_km(np.array([area, area]), np.array([n, n + 1]))
    assert r[1] < r[0]


def _metrics(communes, points, benchmark=NATIONAL):
    assigned, _ = assign_points(points, communes)
    return compute_commune_metrics(communes, assigned, benchmark)


def test_commune_metrics_on_equal_area_squares():
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 20_000},
            {"commune_code": "B", "commune_name": "B", "population": 20_000},
            {"commune_code": "C", "commune_name": "C", "population": 700},
        ]
    )
    points = points_in([0, 0, 0, 0, 1, 1])
    m = _metrics(communes, points).set_index("commune_code")
    assert m.loc["A", "area_km2"] == pytest.approx(100.0, rel=1e-6)
    assert m.loc["A", "radius_km"] == pytest.approx(2.8209, abs=1e-4)
    assert m.loc["B", "people_per_point"] == 10_000
    assert bool(m.loc["A", "meets_radius"]) and bool(m.loc["A", "meets_people"])
    assert not m.loc["B", "meets_radius"] and not m.loc["B", "meets_people"]
    assert m.loc["B", "points_needed"] == 2  # 100 km2 -> 4 points at 2.9 km; has 2
    assert np.isnan(m.loc["C", "radius_km"]) and bool(m.loc["C", "fails"])
    assert m.loc["C", "gap_reasons"] == "no_point"
    assert render_reasons([m.loc["B", "gap_reasons"]], "en")[0] == (
        "radius 3.99 km > 2.9 km; 10,000 people/point > 7,105"
    )
    assert m.loc["C", "points_needed"] == 4


def test_same_metrics_in_utm_and_lonlat():
    spec = [{"commune_code": "A", "commune_name": "A", "population": 9_000}]
    communes = square_communes(spec, crs=UTM48N)
    communes.geometry = communes.geometry.translate(580_000, 2_300_000)
    points = points_in([0, 0], crs=UTM48N)
    points.geometry = points.geometry.translate(580_000, 2_300_000)
    utm = _metrics(communes, points)
    ll = _metrics(communes.to_crs(4326), points.to_crs(4326))
    assert ll["area_km2"].iloc[0] == pytest.approx(utm["area_km2"].iloc[0], rel=1e-6)
    assert ll["radius_km"].iloc[0] == pytest.approx(utm["radius_km"].iloc[0], rel=1e-6)


def test_aggregation_uses_sums_not_averages_of_ratios():
    communes = square_communes(
        [
            {
                "commune_code": "A",
                "commune_name": "A",
                "district_name": "D1",
                "province_name": "P",
                "population": 20_000,
            },
            {
                "commune_code": "B",
                "commune_name": "B",
                "district_name": "D1",
                "province_name": "P",
                "population": 1_000,
                "geometry": box(10_000, 0, 30_000, 20_000),
            },
        ]
    )
    points = points_in([0, 0, 0, 0, 1])
    m = _metrics(communes, points)
    d = aggregate_metrics(m, "district", NATIONAL).iloc[0]
    area = m["area_km2"].sum()
    assert d["area_km2"] == pytest.approx(area)
    assert d["radius_km"] == pytest.approx(math.sqrt(area / (math.pi * 5)))
    assert d["radius_km"] != pytest.approx(m["radius_km"].mean())
    assert d["people_per_point"] == pytest.approx(21_000 / 5)
    assert d["n_communes"] == 2
    assert d["communes_points_needed"] == m["points_needed"].sum()


def test_post_2025_layer_without_districts_aggregates_to_provinces_only():
    communes = square_communes(
        [
            {
                "commune_code": "A",
                "commune_name": "A",
                "province_name": "P1",
                "population": 100,
            },
            {
                "commune_code": "B",
                "commune_name": "B",
                "province_name": "P2",
                "population": 100,
            },
        ]
    )
    m = _metrics(communes, points_in([0, 1]))
    assert levels_present(m) == ["province"]
    provinces = aggregate_metrics(m, "province", NATIONAL)
    assert provinces["province_name"].tolist() == ["P1", "P2"]


def test_staffed_rule_at_commune_and_district_level():
    communes = square_communes(
        [
            {
                "commune_code": "A",
                "commune_name": "A",
                "district_name": "D",
                "population": 100,
            },
            {
                "commune_code": "B",
                "commune_name": "B",
                "district_name": "D",
                "population": 100,
            },
        ]
    )
    points = points_in([0, 1], staffed=[True, False])
    m = _metrics(communes, points).set_index("commune_code")
    assert bool(m.loc["A", "meets_staffed"]) and not bool(m.loc["B", "meets_staffed"])
    assert "no_staffed" in m.loc["B", "gap_reasons"].split(";")
    d = aggregate_metrics(m.reset_index(), "district", NATIONAL).iloc[0]
    assert d["share_communes_staffed"] == 0.5
    assert not d["meets_staffed"] and d["fails"]


def test_benchmark_without_radius_only_checks_people():
    bench = Benchmark(name="p", title="p", people_per_point=3700, require_staffed=False)
    communes = square_communes(
        [{"commune_code": "A", "commune_name": "A", "population": 3_000}]
    )
    m = _metrics(communes, points_in([0], staffed=[False]), bench)
    assert not m["fails"].iloc[0]
    assert m["points_needed"].iloc[0] == 0


def test_gaps_ranked_by_people_affected():
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 40_000},
            {"commune_code": "B", "commune_name": "B", "population": 2_000},
            {"commune_code": "C", "commune_name": "C", "population": 9_000},
            {"commune_code": "D", "commune_name": "D", "population": 100},
        ]
    )
    points = points_in([0, 0, 0, 0, 0, 1, 1, 1, 1, 3, 3, 3, 3])
    m = _metrics(communes, points)
    gaps = rank_gaps(m)
    # A: 40,000 people on 5 points > 7,105 -> 40,000 - 5 * 7,105 = 4,475 affected
    # C: no point -> all 9,000 affected; B and D meet the benchmark
    assert gaps["commune_code"].tolist() == ["C", "A"]
    assert gaps["rank"].tolist() == [1, 2]
    assert gaps["people_affected"].tolist() == [9_000, 40_000 - 5 * 7105]


def test_overall_figures_match_sums():
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 12_000},
            {"commune_code": "B", "commune_name": "B", "population": 3_000},
        ]
    )
    points = points_in([0, 0, 1], admin_services=[True, False, False])
    o = overall_metrics(_metrics(communes, points), NATIONAL)
    assert o["n_points"] == 3 and o["population"] == 15_000
    assert o["radius_km"] == pytest.approx(math.sqrt(200 / (3 * math.pi)), rel=1e-6)
    assert o["people_per_point"] == 5_000
    assert o["share_admin_services"] == pytest.approx(1 / 3)
    assert o["n_communes_without_point"] == 0


# builds layers and runs every metric: slower than a deadline on a shared machine
@settings(deadline=None)
@given(
    pops=st.lists(st.integers(0, 100_000), min_size=1, max_size=6),
    data=st.data(),
)
def test_kind_filter_and_counts_are_consistent(pops, data):
    n = len(pops)
    communes = square_communes(
        [
            {"commune_code": str(i), "commune_name": str(i), "population": p}
            for i, p in enumerate(pops)
        ]
    )
    where = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=20))
    kinds = data.draw(
        st.lists(
            st.sampled_from(["post_office", "agent"]),
            min_size=len(where),
            max_size=len(where),
        )
    )
    points = points_in(where, kind=kinds)
    assigned, _ = assign_points(points, communes)
    all_kinds = compute_commune_metrics(communes, assigned, NATIONAL)
    only_po = compute_commune_metrics(
        communes, assigned, NATIONAL, kinds=("post_office",)
    )
    assert all_kinds["n_points"].sum() == len(where)
    assert only_po["n_points"].sum() == kinds.count("post_office")
    assert (
        all_kinds["n_post_office"] + all_kinds["n_agent"] == all_kinds["n_points"]
    ).all()
    share = pd.Series(all_kinds["radius_km"]).dropna()
    assert (share > 0).all()
