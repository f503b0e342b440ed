"""The pipeline's joins, province split and summary verdicts, checked directly.

Each test here kills a mutant that the end-to-end tests let through: a province
view keeping every uncovered zone, ``meets_access`` missing from the district and
province tables, and the summary's rule verdict moved by a percentage point.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from common import LAEA_VN, write_points_csv
from shapely.geometry import box

from coverage.access import rule_passes
from coverage.benchmarks import DistanceRule, load_benchmark
from coverage.model import AccessOptions, Analysis
from coverage.pipeline.analyze import analyze, level_access
from coverage.pipeline.provinces import split_by_province
from coverage.pipeline.summary import access_summary

# Province A: two communes served from one corner (far parts beyond 5 km).
# Province B, 90 km away: two communes with a point in each quarter (all within
# 3.6 km), so B meets "95% within 5 km" and A does not.
_SQUARES = {
    "A1": (0, "A", "A-north"),
    "A2": (10_000, "A", "A-south"),
    "B1": (100_000, "B", "B-north"),
    "B2": (110_000, "B", "B-south"),
}


@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory) -> Analysis:
    folder: Path = tmp_path_factory.mktemp("two_provinces")
    communes = gpd.GeoDataFrame(
        {
            "commune_code": list(_SQUARES),
            "commune_name": [f"Xã {c}" for c in _SQUARES],
            "district_name": [d for _, _, d in _SQUARES.values()],
            "province_name": [p for _, p, _ in _SQUARES.values()],
            "population": [10_000, 10_000, 10_000, 10_000],
        },
        geometry=[box(x, 0, x + 10_000, 10_000) for x, _, _ in _SQUARES.values()],
        crs=LAEA_VN,
    )
    xy = [(1_000, 1_000)] + [
        (x + dx, dy)
        for x in (100_000, 110_000)
        for dx in (2_500, 7_500)
        for dy in (2_500, 7_500)
    ]
    points = gpd.GeoDataFrame(
        {
            "point_id": [f"p{i}" for i in range(len(xy))],
            "kind": "post_office",
            "staffed": True,
            "admin_services": False,
        },
        geometry=[shapely.Point(p) for p in xy],
        crs=LAEA_VN,
    )
    boundaries = folder / "communes.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points_csv = write_points_csv(points, folder / "points.csv")
    return analyze(
        boundaries,
        points_csv,
        benchmark=load_benchmark("nl-5km"),
        access=AccessOptions(cell_m=500, catchments=False),
    )


def test_each_province_keeps_only_its_own_uncovered_zones(two_provinces):
    zones = two_provinces.zones
    assert zones is not None and len(zones) > 0
    parts = split_by_province(two_provinces)
    assert set(parts) == {"A", "B"}
    for name, part in parts.items():
        own = set(part.communes["commune_code"])
        assert part.zones is not None
        for codes in part.zones["commune_codes"].astype(str).str.split(";"):
            assert own.intersection(codes), (name, codes)
    # province A has the far corners; B is covered everywhere within 5 km
    assert len(parts["A"].zones) > 0 and len(parts["B"].zones) == 0
    assert len(parts["A"].zones) + len(parts["B"].zones) == len(zones)


@pytest.mark.parametrize("level", ["district", "province"])
def test_levels_carry_the_distance_rule_verdict(two_provinces, level):
    table = two_provinces.levels[level]
    assert "meets_access" in table.columns
    share = table["share_within_5km"].to_numpy(float)
    expected = np.asarray(rule_passes(share, 0.95), dtype=bool)
    np.testing.assert_array_equal(table["meets_access"].to_numpy(bool), expected)
    # both verdicts occur, so a constant column cannot pass
    assert expected.any() and not expected.all()
    if level == "province":
        verdict = dict(zip(table["province_name"], table["meets_access"], strict=True))
        assert verdict == {"A": False, "B": True}


def _summary_passes(analysis: Analysis, min_share: float) -> bool | None:
    bench = dataclasses.replace(
        analysis.benchmark, distance_rules=(DistanceRule(5.0, min_share),)
    )
    moved = dataclasses.replace(analysis, benchmark=bench)
    rules = access_summary(moved, level_access(analysis, []))["rules"]
    return rules[0]["passes"]


def test_summary_rule_verdict_sits_exactly_at_the_minimum(two_provinces):
    overall = level_access(two_provinces, [])
    share = float(overall["share_within_5km"].iloc[0])
    assert 0.05 < share < 0.95
    assert _summary_passes(two_provinces, share) is True
    assert _summary_passes(two_provinces, share + 0.005) is False
    assert _summary_passes(two_provinces, share - 0.005) is True
    # the run's own summary agrees with the shared verdict
    rule = two_provinces.summary["access"]["rules"][0]
    assert rule["passes"] is (share >= 0.95)
    assert rule["share"] == pytest.approx(share)


def test_reasons_are_codes_inside_and_words_in_the_summary(two_provinces):
    communes = two_provinces.communes.set_index("commune_code")
    # A2 has no point and none of its people within 5 km: codes with numbers
    assert communes.loc["A2", "gap_reasons"] == "no_point;share_below|0.95|5|0"
    words = two_provinces.summary["overall"]["gap_reasons"]
    assert "|" not in words and "_" not in words


def test_summary_counts_connected_zones_and_their_commune_parts():
    import pandas as pd

    from coverage.pipeline.summary import zone_counts

    zones = pd.DataFrame({"zone_id": [1, 1, 1, 2], "population": [10.0, 5, 5, 7]})
    assert zone_counts(zones) == {
        "n_uncovered_zones": 2,
        "n_uncovered_zone_parts": 4,
        "uncovered_population": 27.0,
    }
    assert zone_counts(None)["n_uncovered_zones"] == 0
