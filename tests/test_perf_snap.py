"""Points a few metres outside their commune are snapped to it."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from coverage.errors import InputError
from coverage.io import assign_points

UTM = "EPSG:32648"
X0, Y0 = 600_000.0, 2_300_000.0


@pytest.fixture
def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    communes = gpd.GeoDataFrame(
        {"commune_code": ["A", "B"]},
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
        ],
        crs=UTM,
    ).to_crs("EPSG:4326")
    offsets = {"in": 500.0, "p1_5": -1.5, "p49": -49.0, "p60": -60.0}
    points = gpd.GeoDataFrame(
        {"point_id": list(offsets)},
        geometry=[Point(X0 + 300, Y0 + dy) for dy in offsets.values()],
        crs=UTM,
    ).to_crs("EPSG:4326")
    return communes, points


def test_points_within_the_tolerance_are_snapped(layers) -> None:
    communes, points = layers
    out, notes = assign_points(points, communes)
    assert out["commune_code"].tolist() == ["A", "A", "A", ""]
    assert out["inside"].tolist() == [True, True, True, False]
    snapped = [n for n in notes if "snapped" in n]
    assert len(snapped) == 1
    assert snapped[0].startswith("2 point(s) up to 50 m outside every commune")
    assert "p1_5, p49" in snapped[0]
    outside = "1 point(s) lie outside every commune (p60)"
    assert any(n.startswith(outside) for n in notes)


def test_tolerance_is_a_parameter(layers) -> None:
    communes, points = layers
    wide, _ = assign_points(points, communes, snap_m=100.0)
    assert wide["commune_code"].tolist() == ["A", "A", "A", "A"]
    none, notes = assign_points(points, communes, snap_m=0.0)
    assert none["commune_code"].tolist() == ["A", "", "", ""]
    assert not any("snapped" in n for n in notes)
    with pytest.raises(InputError):
        assign_points(points, communes, snap_m=-1.0)


def test_nearest_commune_wins(layers) -> None:
    communes, _ = layers
    metric = communes.to_crs(UTM)
    near_b = gpd.GeoDataFrame(
        {"point_id": ["q"]}, geometry=[Point(X0 + 1010, Y0 - 5)], crs=UTM
    )
    out, _ = assign_points(near_b, metric)
    assert out["commune_code"].tolist() == ["B"]
