"""The bundled synthetic sample in data/: its files, its figures and its generator."""

from __future__ import annotations

import importlib.util
import json
import sys
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from coverage.benchmarks import load_benchmark
from coverage.geo import area_km2

DATA = Path(__file__).resolve().parents[1] / "data"
COMMUNES = DATA / "boundaries" / "communes.geojson"
POINTS = DATA / "points" / "service_points.csv"
KINDS = {"post_office", "culture_post", "agent", "letter_box", "delivery"}


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return gpd.read_file(COMMUNES)


@pytest.fixture(scope="module")
def points() -> pd.DataFrame:
    return pd.read_csv(POINTS, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def located(points: pd.DataFrame) -> gpd.GeoDataFrame:
    xy = gpd.points_from_xy(points["lon"].astype(float), points["lat"].astype(float))
    return gpd.GeoDataFrame(points, geometry=xy, crs="EPSG:4326")


@pytest.fixture(scope="module")
def per_commune(communes: gpd.GeoDataFrame, points: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "code": communes["ma_xa"],
            "area_km2": area_km2(communes),
            "population": communes["dan_so"].astype(float),
        }
    )
    n_points = points.groupby("commune_code").size()
    n_staffed = points[points["staffed"] == "yes"].groupby("commune_code").size()
    table["n_points"] = table["code"].map(n_points).fillna(0).astype(int)
    table["n_staffed"] = table["code"].map(n_staffed).fillna(0).astype(int)
    return table


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_sample_under_test", DATA / "make_sample.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_communes_are_valid_unique_polygons_in_wgs84(communes):
    assert 140 <= len(communes) <= 160
    assert CRS.from_user_input(communes.crs) == CRS.from_epsg(4326)
    codes = communes["ma_xa"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"\d{5}").all()
    geometry = communes.geometry.values
    assert not shapely.is_empty(geometry).any()
    assert shapely.is_valid(geometry).all()
    assert set(communes.geom_type) <= {"Polygon", "MultiPolygon"}
    west, south, east, north = communes.total_bounds
    assert 104.9 < west < east < 105.9
    assert 20.2 < south < north < 21.2


def test_communes_tile_the_province_without_gaps_or_overlaps(communes):
    geometry = communes.geometry.values
    assert shapely.coverage_is_valid(geometry)
    province = shapely.union_all(geometry)
    assert province.geom_type == "Polygon"
    assert len(province.interiors) == 0
    # Overlaps would make the sum exceed the union's area.
    assert shapely.area(geometry).sum() == pytest.approx(province.area, rel=1e-9)


def test_area_population_and_mix_of_sizes(communes, per_commune):
    assert 4_000 <= per_commune["area_km2"].sum() <= 5_200
    population = communes["dan_so"]
    assert pd.api.types.is_integer_dtype(population)
    assert (population > 0).all()
    assert 800_000 <= population.sum() <= 900_000
    small = per_commune["area_km2"] < 10
    large = per_commune["area_km2"] > 50
    assert small.sum() >= 5
    assert large.sum() >= 15
    density = per_commune["population"] / per_commune["area_km2"]
    assert density[small].median() > 10 * density[large].median()


def test_districts_are_ten_contiguous_groups(communes):
    assert communes["ten_huyen"].nunique() == 10
    dissolved = communes.dissolve("ten_huyen")
    assert (dissolved.geom_type == "Polygon").all()


def test_files_are_marked_synthetic():
    collection = json.loads(COMMUNES.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    assert "SYNTHETIC" in collection["description"]
    properties = [f["properties"] for f in collection["features"]]
    assert all(p["synthetic"] is True for p in properties)
    assert all("mẫu tổng hợp" in p["ten_tinh"] for p in properties)


def test_points_columns_and_values(points):
    assert list(points.columns) == [
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
    assert 220 <= len(points) <= 260
    assert points["point_id"].is_unique
    assert set(points["kind"]) == KINDS
    assert set(points["staffed"]) == {"yes", "no"}
    assert set(points["admin_services"]) == {"yes", "no"}
    assert (points.loc[points["kind"] == "letter_box", "staffed"] == "no").all()
    share = points["kind"].value_counts(normalize=True)
    assert 0.45 <= share["culture_post"] <= 0.65
    assert 0.2 <= (points["admin_services"] == "yes").mean() <= 0.45
    assert points["lat"].str.fullmatch(r"\d+\.\d{6}").all()
    assert points["lon"].str.fullmatch(r"\d+\.\d{6}").all()


def test_every_point_lies_in_its_declared_commune(communes, located):
    assert located["commune_code"].isin(communes["ma_xa"]).all()
    joined = gpd.sjoin(
        located, communes[["ma_xa", "geometry"]], how="left", predicate="within"
    )
    assert len(joined) == len(located)
    assert (joined["ma_xa"] == joined["commune_code"]).all()


def test_some_communes_lack_a_point_or_a_staffed_point(per_commune):
    assert (per_commune["n_points"] == 0).sum() >= 3
    unstaffed = (per_commune["n_points"] > 0) & (per_commune["n_staffed"] == 0)
    assert unstaffed.sum() >= 3


def test_national_benchmark_gives_an_interesting_report(per_commune):
    benchmark = load_benchmark("vn-national-2024")
    n_total = per_commune["n_points"].sum()
    radius_km = np.sqrt(per_commune["area_km2"].sum() / (np.pi * n_total))
    assert 2.3 <= radius_km <= 2.7
    assert 3_000 <= per_commune["population"].sum() / n_total <= 4_000
    n = per_commune["n_points"].replace(0, np.nan)
    commune_radius_km = np.sqrt(per_commune["area_km2"] / (np.pi * n))
    meets = (
        (commune_radius_km <= benchmark.radius_km)
        & (per_commune["population"] / n <= benchmark.people_per_point)
        & (per_commune["n_staffed"] > 0)
    )
    assert 1 / 3 <= (~meets).mean() <= 1 / 2
    # Both reasons occur: big upland communes and crowded wards.
    assert (commune_radius_km > benchmark.radius_km).sum() >= 10
    assert (per_commune["population"] / n > benchmark.people_per_point).sum() >= 3


def test_encoding_bom_and_diacritics(communes, points):
    assert POINTS.read_bytes().startswith(b"\xef\xbb\xbf")
    assert not COMMUNES.read_bytes().startswith(b"\xef\xbb\xbf")
    assert points["name"].str.contains("Bưu điện văn hóa xã", regex=False).any()
    assert communes["ten_xa"].str.contains("ạ", regex=False).any()
    assert "Thành phố Hòa Bình" in set(communes["ten_huyen"])
    texts = [*communes["ten_xa"], *communes["ten_huyen"], *points["name"]]
    assert all(unicodedata.is_normalized("NFC", text) for text in texts)
    assert all(text == " ".join(text.split()) for text in texts)


def test_names_repeat_across_districts_only(communes):
    assert not communes.duplicated(["ten_huyen", "ten_xa"]).any()
    assert communes["ten_xa"].duplicated().any()
    prefixes = communes["ten_xa"].str.extract(r"^(Phường|Thị trấn|Xã) ")[0]
    assert prefixes.notna().all()
    assert set(prefixes) == {"Phường", "Thị trấn", "Xã"}


def test_files_are_small():
    assert COMMUNES.stat().st_size + POINTS.stat().st_size < 2_000_000


def test_generator_is_deterministic(tmp_path):
    generator = _load_generator()
    first = generator.main(tmp_path / "a")
    second = generator.main(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert {p.name for p in first} == {"communes.geojson", "service_points.csv"}
