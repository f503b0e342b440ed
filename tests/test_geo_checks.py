"""Implausible commune geometries: a world-sized stray polygon, containment, overlap."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from common import LAEA_VN, square_communes
from shapely.geometry import Polygon, box

from coverage.errors import CRSError
from coverage.geo import CommuneProblem, implausible_communes

ROOT = Path(__file__).resolve().parents[1]
OVERLAP_FIX = "communes must not overlap: remove the duplicate or fix the boundaries"


@pytest.fixture(scope="module")
def sample() -> gpd.GeoDataFrame:
    frame = gpd.read_file(ROOT / "data" / "boundaries" / "communes.geojson")
    return frame.rename(columns={"ma_xa": "commune_code"})


def _with(frame: gpd.GeoDataFrame, code: str, geometry) -> gpd.GeoDataFrame:
    extra = gpd.GeoDataFrame({"commune_code": [code]}, geometry=[geometry], crs=4326)
    return pd.concat([frame, extra.to_crs(frame.crs)], ignore_index=True)


def _squares(n: int, **geometries) -> gpd.GeoDataFrame:
    spec = [{"commune_code": f"C{i}"} for i in range(n)]
    for key, geom in geometries.items():
        spec[int(key[1:])]["geometry"] = geom
    return square_communes(spec, crs=LAEA_VN)


def test_sample_is_plausible(sample):
    assert implausible_communes(sample) == []


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857"])
def test_world_polygon(sample, crs):
    layer = _with(sample, "WORLD", box(-180, -85, 180, 85)).to_crs(crs)
    n = len(sample)
    problems = implausible_communes(layer)
    assert [(p.kind, p.indices) for p in problems] == [
        ("too_large", (n,)),
        ("contains_most", (n,)),
    ]
    median = problems[0].problem.split("median commune (")[1].split(" km²")[0]
    assert problems[0].problem.startswith(
        f"feature {n + 1} (code WORLD): area 508,10"
    ) and problems[0].problem.endswith(
        f"the median commune ({median} km²) and more than 331,000 km²"
    )
    assert problems[0].fix == (
        "remove it or fix its coordinates (a stray outline of a country or of the "
        "world?)"
    )
    assert problems[1].problem == (
        f"feature {n + 1} (code WORLD) contains {n} of the {n} other communes"
    )


def test_world_polygon_message(sample):
    layer = _with(sample, "WORLD", box(-180, -85, 180, 85))
    first = implausible_communes(layer)[0]
    assert str(first) == (
        f"feature {len(sample) + 1} (code WORLD): area 508,107,311 km², 23,311,707 "
        "times the median commune (21.80 km²) and more than 331,000 km²; remove it "
        "or fix its coordinates (a stray outline of a country or of the world?)"
    )


def test_copied_polygon_under_another_code(sample):
    layer = _with(sample, "99999", sample.geometry.iloc[3])
    assert implausible_communes(layer) == [
        CommuneProblem(
            "overlap",
            (3, len(sample)),
            f"feature 4 (code 04555) and feature {len(sample) + 1} (code 99999) "
            "overlap on 100% of the smaller one (4.81 km²)",
            OVERLAP_FIX,
        )
    ]


@pytest.mark.parametrize(("start_m", "found"), [(9000, True), (9900, False)])
def test_overlap_share_threshold(start_m, found):
    layer = _squares(3, c1=box(start_m, 0, start_m + 10_000, 10_000))
    problems = implausible_communes(layer)
    if not found:
        assert problems == []
        return
    assert [(p.kind, p.indices) for p in problems] == [("overlap", (0, 1))]
    assert problems[0].problem == (
        "feature 1 (code C0) and feature 2 (code C1) overlap on 10% of the smaller "
        "one (10.00 km²)"
    )


def test_small_commune_inside_another():
    layer = _squares(3, c2=box(2000, 2000, 3000, 3000))
    problems = implausible_communes(layer)
    assert [(p.kind, p.indices) for p in problems] == [("overlap", (0, 2))]
    assert "overlap on 100% of the smaller one (1.00 km²)" in problems[0].problem


def test_outline_containing_most_communes():
    outline = box(-500, -500, 30_500, 10_500)
    layer = _squares(5, c4=outline)
    problems = implausible_communes(layer)
    assert [(p.kind, p.indices) for p in problems] == [("contains_most", (4,))]
    assert (
        problems[0].problem == "feature 5 (code C4) contains 3 of the 4 other communes"
    )
    assert problems[0].fix == (
        "remove it (a district, province or country outline mixed into the commune "
        "layer?)"
    )


def test_touching_and_tiled_communes_pass():
    assert implausible_communes(_squares(6)) == []
    two = box(0, 0, 10_000, 10_000)
    notched = Polygon([(10_000, 0), (20_000, 0), (20_000, 10_000), (10_000, 10_000)])
    assert implausible_communes(_squares(2, c0=two, c1=notched)) == []


def test_missing_and_empty_geometries_keep_positions():
    layer = _squares(4, c1=Polygon())
    layer.loc[2, "geometry"] = None
    layer.loc[3, "geometry"] = box(500, 500, 1500, 1500)
    problems = implausible_communes(layer)
    assert [(p.kind, p.indices) for p in problems] == [("overlap", (0, 3))]


def test_labels_without_codes():
    layer = _squares(2, c1=box(0, 0, 10_000, 10_000)).drop(columns="commune_code")
    (problem,) = implausible_communes(layer)
    assert problem.problem == (
        "feature 1 and feature 2 overlap on 100% of the smaller one (100.00 km²)"
    )


def test_thresholds_are_options():
    layer = _squares(3, c1=box(9000, 0, 19_000, 10_000))
    assert implausible_communes(layer, max_overlap_share=0.2) == []
    big = _squares(3, c2=box(20_000, 0, 420_000, 400_000))
    assert implausible_communes(big) == []
    kinds = [p.kind for p in implausible_communes(big, max_area_km2=1000.0)]
    assert kinds == ["too_large"]
    assert implausible_communes(big, max_area_km2=1000.0, max_area_ratio=2000) == []


def test_no_crs_is_refused():
    layer = _squares(2).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="the layer has no coordinate reference system"):
        implausible_communes(layer)


def test_empty_layer():
    assert implausible_communes(_squares(0)) == []
