"""Structure of the synthetic national dataset (bench/make_national.py), tiny size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_national", ROOT / "bench" / "make_national.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_national = _load_generator()


@pytest.fixture(scope="module", params=["pre2025", "post2025"])
def data(request):
    return request.param, make_national.generate(
        request.param,
        n_communes=200,
        n_provinces=5,
        n_points=400,
        population=1_234_567,
        segment_m=2_000.0,
        seed=7,
    )


def test_columns_and_districts_only_before_2025(data):
    shape, d = data
    expected = ["ma_xa", "ten_xa", "ten_tinh", "dan_so", "geometry"]
    if shape == "pre2025":
        expected.insert(2, "ten_huyen")
    assert list(d.communes.columns) == expected
    assert d.communes.crs.to_epsg() == 4326
    assert len(d.communes) == 200
    assert d.communes["ten_tinh"].nunique() == 5


def test_codes_unique_and_population_exact(data):
    _, d = data
    codes = d.communes["ma_xa"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"\d{5}").all()
    assert int(d.communes["dan_so"].sum()) == 1_234_567
    assert (d.communes["dan_so"] > 0).all()


def test_communes_tile_without_overlap(data):
    _, d = data
    geoms = d.communes.to_crs(make_national._LAEA).geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon"
    assert union.area == pytest.approx(shapely.area(geoms).sum(), rel=1e-9)


def test_provinces_and_districts_contiguous(data):
    shape, d = data
    levels = [["ten_tinh"]] + (
        [["ten_tinh", "ten_huyen"]] if shape == "pre2025" else []
    )
    for keys in levels:
        for _, group in d.communes.groupby(keys):
            union = shapely.union_all(group.geometry.to_numpy())
            assert union.geom_type == "Polygon", keys
    if shape == "pre2025":
        per_district = d.communes.groupby("ten_huyen")["ten_tinh"].nunique()
        assert (per_district == 1).all()


def test_points_inside_their_commune(data):
    _, d = data
    pts = d.points
    assert len(pts) == 400
    assert list(pts.columns) == [
        "point_id",
        "name",
        "kind",
        "staffed",
        "admin_services",
        "operator",
        "commune_code",
        "lat",
        "lon",
    ]
    by_code = d.communes.set_index("ma_xa").geometry
    geoms = by_code.loc[pts["commune_code"]].to_numpy()
    assert shapely.contains_xy(geoms, pts["lon"], pts["lat"]).all()
    assert set(pts["kind"]) <= {
        "post_office",
        "culture_post",
        "agent",
        "letter_box",
        "delivery",
    }
    assert not pts.loc[pts["kind"] == "letter_box", "staffed"].eq("yes").any()


def test_written_files_read_back(tmp_path, data):
    _, d = data
    from coverage.io import assign_points, read_communes, read_points

    make_national.write(d, tmp_path)
    communes = read_communes(tmp_path / "communes.gpkg").frame
    points = read_points(tmp_path / "service_points.csv").frame
    assigned, _ = assign_points(points, communes)
    assert assigned["inside"].all()
    assert (assigned["commune_code"] == assigned["declared_commune_code"]).all()
    assert np.isclose(communes["population"].sum(), 1_234_567)
