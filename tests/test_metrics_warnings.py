"""Metrics never emit Python warnings, whatever the figures (issue 15).

Extreme benchmarks built in code (the profile schema refuses them in files), zero
areas, undefined populations and empty layers give finite, documented results
with every warning turned into an error.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from coverage.benchmarks import Benchmark
from coverage.geo import area_km2
from coverage.metrics import (
    aggregate_metrics_on,
    compute_commune_metrics,
    overall_metrics,
    points_needed,
    rank_gaps,
)

NAN, INF = math.nan, math.inf


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _layer(population=(10, 0, 10**15)) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"commune_code": ["a", "b", "c"], "population": list(population)},
        geometry=[
            box(105.0, 21.0, 105.1, 21.1),
            box(105.1, 21.0, 105.1, 21.1),
            box(105.2, 21.0, 105.3, 21.1),
        ],
        crs=4326,
    )


POINTS = pd.DataFrame(
    {
        "commune_code": ["a", "c"],
        "kind": ["post_office", "agent"],
        "staffed": [True, False],
        "admin_services": [False, False],
    }
)

EXTREME = [
    (1e-300, 1e-300),
    (1e308, 1e308),
    (NAN, INF),
    (INF, NAN),
    (0.0, 0.0),
    (-1.0, -1.0),
]


@pytest.mark.parametrize(("radius", "people"), EXTREME, ids=[str(e) for e in EXTREME])
def test_extreme_benchmark_gives_finite_counts(radius, people):
    bench = Benchmark("x", "x", radius_km=radius, people_per_point=people)
    metrics = compute_commune_metrics(_layer(), POINTS, bench)
    for column in ("points_needed", "people_affected"):
        values = metrics[column].to_numpy()
        assert values.dtype == np.int64 and (values >= 0).all(), column
    overall = overall_metrics(metrics, bench)
    assert overall["n_points"] == 2
    table = pd.DataFrame(metrics.drop(columns="geometry")).assign(level="all")
    assert len(aggregate_metrics_on(table, ["level"], bench)) == 1
    assert 0 < len(rank_gaps(metrics)) <= 3


def test_undefined_population_counts_no_people():
    bench = Benchmark("x", "x", radius_km=2.9, people_per_point=7105)
    metrics = compute_commune_metrics(_layer((NAN, 5, 1e300)), POINTS, bench)
    # Commune a (115 km², one point) still needs points for the radius rule.
    assert metrics["points_needed"].tolist() == [4, 1, 2**53 - 1]
    assert metrics["people_affected"].tolist() == [0, 5, 2**53]


def test_points_needed_caps_overflow():
    need = points_needed(
        np.array([NAN, 1e300, -5.0]),
        np.array([1e300, NAN, 1.0]),
        np.array([0, 1, 2]),
        radius_km=1e-3,
        people_per_point=1.0,
    )
    assert need.tolist() == [2**53, 2**53 - 1, 0]


def test_points_needed_unchanged_for_ordinary_figures():
    need = points_needed(
        np.array([100.0, 26.42, 0.0]),
        np.array([20000, 7105, 0]),
        np.array([1, 0, 0]),
        radius_km=2.9,
        people_per_point=7105,
    )
    assert need.tolist() == [3, 1, 1]


def test_area_of_empty_layer():
    layer = gpd.GeoDataFrame(geometry=[Polygon(), None], crs=4326)
    assert area_km2(layer).tolist() == [0.0, 0.0]
    assert area_km2(layer.iloc[:0]).tolist() == []


def test_empty_commune_layer_metrics():
    bench = Benchmark("x", "x", radius_km=2.9, people_per_point=7105)
    metrics = compute_commune_metrics(_layer().iloc[:0], POINTS.iloc[:0], bench)
    assert len(metrics) == 0 and "gap_reasons" in metrics.columns
