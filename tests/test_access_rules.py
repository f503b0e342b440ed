"""The one distance-rule evaluator (coverage.access.rules) and the package layout."""

from __future__ import annotations

import importlib
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import coverage.access as access
from coverage.access import (
    RULE_TOLERANCE,
    compute_access,
    evaluate_distance_rules,
    rule_columns,
    rule_evaluated,
    rule_fails,
    rule_gap_reason,
    rule_label,
    rule_passes,
    rule_share,
)
from coverage.benchmarks import DistanceRule
from coverage.reasons import render_reasons

MODULES = ["core", "surface", "distance", "zones", "catchments", "rules"]


def test_scalar_verdicts_are_python_bools_or_none():
    assert rule_passes(0.95, 0.95) is True
    assert rule_passes(0.95 - RULE_TOLERANCE / 2, 0.95) is True
    assert rule_passes(0.95 - 10 * RULE_TOLERANCE, 0.95) is False
    assert rule_passes(np.float64(0.99), 0.95) is True
    assert rule_passes(None, 0.95) is None
    assert rule_passes(math.nan, 0.95) is None
    assert rule_passes(pd.NA, 0.95) is None


def test_array_verdicts_are_nullable_and_fails_is_their_complement():
    share = np.array([0.5, np.nan, 0.95 - RULE_TOLERANCE / 2, 0.94, 1.0])
    passes = rule_passes(share, 0.95)
    assert str(passes.dtype) == "boolean"
    assert passes.tolist() == [False, pd.NA, True, False, True]
    fails = rule_fails(share, 0.95)
    assert fails.dtype == bool
    assert fails.tolist() == [True, False, False, True, False]
    assert (fails == ~passes.to_numpy(dtype=bool, na_value=True)).all()
    assert rule_passes([0.9, 0.99], 0.95).tolist() == [False, True]
    for s in share:
        fails_one = bool(rule_fails([s], 0.95)[0])
        assert rule_passes(s, 0.95) == (None if np.isnan(s) else not fails_one)


def test_labels_columns_and_scope():
    rule = DistanceRule(5.0, 0.95)
    rural = DistanceRule(4.83, 0.99, "rural")
    assert rule_label(rule) == "95.0% within 5 km"
    assert rule_label(rural) == "99.0% within 4.83 km (rural)"
    assert rule_label(rural, scope_note=": not evaluated") == (
        "99.0% within 4.83 km (rural: not evaluated)"
    )
    assert rule_columns(rural) == ("pop_within_4.83km", "share_within_4.83km")
    assert rule_evaluated(rule) and not rule_evaluated(rural)
    table = pd.DataFrame({"share_within_5km": [0.5, 1.0]})
    np.testing.assert_array_equal(rule_share(table, rule), [0.5, 1.0])
    # a rule that is not evaluated reads no column
    assert np.isnan(rule_share(table, rural)).all()


def test_gap_reason_is_a_code_rendered_in_both_languages():
    share = np.array([0.93249, 0.5, 0.97, np.nan])
    codes = rule_gap_reason(DistanceRule(5.0, 0.95), share)
    # only failing rows get a reason; a share not evaluated (NaN) never fails
    expected = ["share_below|0.95|5|93.2", "share_below|0.95|5|50", "", ""]
    assert codes.tolist() == expected
    assert render_reasons(codes, "en").tolist() == [
        "95% within 5 km needed, 93.2% reached",
        "95% within 5 km needed, 50.0% reached",
        "",
        "",
    ]
    vi = render_reasons(codes, "vi")
    assert vi.tolist()[0] == "cần 95% dân số trong phạm vi 5 km, đạt 93,2%"


def test_evaluate_distance_rules_uses_the_shared_verdict():
    communes = gpd.GeoDataFrame(
        {"commune_code": ["near", "far"], "population": [1000, 1000]},
        geometry=[
            box(600_000, 2_300_000, 602_000, 2_302_000),
            box(620_000, 2_300_000, 622_000, 2_302_000),
        ],
        crs="EPSG:32648",
    )
    points = gpd.GeoDataFrame(
        {"point_id": ["p"]},
        geometry=gpd.points_from_xy([601_000], [2_301_000]),
        crs="EPSG:32648",
    )
    res = compute_access(communes, points, thresholds_km=(5,), cell_m=500.0)
    rules = [DistanceRule(5.0, 0.5), DistanceRule(5.0, 0.6), DistanceRule(3, 1, "x")]
    table = evaluate_distance_rules(res, rules, level="commune")
    assert table["rule"].tolist()[:2] == ["50.0% within 5 km"] * 2
    for rule in rules:
        rows = table[table["min_share"] == rule.min_share]
        expected = rule_passes(rows["share"].to_numpy(float), rule.min_share)
        assert rows["passes"].tolist() == expected.tolist()
    assert table["passes"].tolist()[:4] == [True, False, True, False]
    assert table["passes"].isna().tolist()[4:] == [True, True]
    empty = evaluate_distance_rules(res, [])
    assert list(empty.columns)[-2:] == ["passes", "evaluated"] and empty.empty


@pytest.mark.parametrize("name", MODULES)
def test_every_module_is_small_and_exported(name):
    module = importlib.import_module(f"coverage.access.{name}")
    assert module.__all__
    for attr in module.__all__:
        assert getattr(access, attr) is getattr(module, attr)
    with open(module.__file__, encoding="utf-8") as fh:
        assert sum(1 for _ in fh) < 800
