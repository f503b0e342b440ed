from __future__ import annotations

import re
import unicodedata
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from common import LAEA_VN, bow_tie, empty_polygon, points_in, square_communes

from coverage.errors import CRSError, InputError, ValidationError
from coverage.io import (
    assign_points,
    normalise_key,
    parse_number,
    read_communes,
    read_points,
)

NAMES = ["Xã Tân Lạc", "Phường Đồng Tiến", "Thị trấn Mường Khến"]


def _communes(tmp_path, cols=None, name="c.geojson", **kw):
    cols = cols or {
        "ma_xa": "commune_code",
        "ten_xa": "commune_name",
        "dan_so": "population",
    }
    spec = []
    for i, n in enumerate(NAMES):
        row = {
            "commune_code": f"0468{i}",
            "commune_name": n,
            "population": 1000 * (i + 1),
        }
        spec.append({src: row[dst] for src, dst in cols.items()})
    g = square_communes(spec, **kw)
    path = tmp_path / name
    g.to_crs(4326).to_file(path) if g.crs else g.to_file(path)
    return path


@pytest.mark.parametrize(
    "cols",
    [
        {"ma_xa": "commune_code", "ten_xa": "commune_name", "dan_so": "population"},
        {"GID_3": "commune_code", "NAME_3": "commune_name", "Population": "population"},
        {"Mã xã": "commune_code", "Tên xã": "commune_name", "Dân số": "population"},
    ],
)
def test_commune_columns_recognised(tmp_path, cols):
    loaded = read_communes(_communes(tmp_path, cols))
    f = loaded.frame
    assert f["commune_code"].tolist() == ["04680", "04681", "04682"]
    assert f["commune_name"].tolist() == NAMES
    assert f["population"].tolist() == [1000, 2000, 3000]


def test_explicit_column_names_win(tmp_path):
    path = _communes(
        tmp_path, {"MA": "commune_code", "TEN": "commune_name", "DS_2019": "population"}
    )
    with pytest.raises(InputError, match="no population column"):
        read_communes(path)
    f = read_communes(
        path, columns={"population": "DS_2019", "commune_code": "MA"}
    ).frame
    assert f["population"].sum() == 6000


def test_explicit_column_that_does_not_exist(tmp_path):
    with pytest.raises(InputError, match=r"column .POP. .* not found"):
        read_communes(_communes(tmp_path), columns={"population": "POP"})


def test_missing_crs_says_how_to_set_one(tmp_path):
    g = square_communes([{"ma_xa": "1", "dan_so": 5}], crs=None)
    path = tmp_path / "nocrs.gpkg"
    g.to_file(path)
    with pytest.raises(CRSError, match="--crs"):
        read_communes(path)
    f = read_communes(path, crs=LAEA_VN).frame
    assert f.crs is not None


def test_zipped_shapefile(tmp_path):
    g = square_communes([{"ma_xa": "1", "ten_xa": "Xã Tân Lạc", "dan_so": 5}])
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    g.to_crs(4326).to_file(shp_dir / "xa.shp", encoding="utf-8")
    archive = tmp_path / "xa.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    frame = read_communes(archive).frame
    assert frame["commune_name"].tolist() == ["Xã Tân Lạc"]


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        (None, "has no geometry"),
        (empty_polygon, "has an empty geometry"),
        (bow_tie, "invalid geometry"),
        (shapely.Point(5, 5), "is a point, not a polygon"),
    ],
)
def test_bad_commune_geometries_reported_with_feature(tmp_path, geometry, message):
    g = square_communes(
        [
            {"ma_xa": "1", "ten_xa": "Xã A", "dan_so": 5},
            {"ma_xa": "2", "ten_xa": "Xã B", "dan_so": 5, "geometry": geometry},
        ]
    )
    path = tmp_path / "bad.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError, match=message) as info:
        read_communes(path)
    assert "feature 2 (Xã B)" in str(info.value)
    assert str(path) in str(info.value)


def test_bow_tie_repaired_only_when_asked(tmp_path):
    g = square_communes([{"ma_xa": "1", "dan_so": 5, "geometry": bow_tie}])
    path = tmp_path / "bowtie.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError, match="Self-intersection"):
        read_communes(path)
    loaded = read_communes(path, fix_invalid=True)
    assert shapely.is_valid(loaded.frame.geometry.iloc[0])
    assert loaded.frame.geometry.iloc[0].area == pytest.approx(50_000_000)
    assert any("repaired" in n for n in loaded.notes)


def test_all_problems_reported_together(tmp_path):
    g = square_communes(
        [
            {"ma_xa": "1", "dan_so": "1.234"},
            {"ma_xa": "1", "dan_so": "-5"},
            {"ma_xa": "3", "dan_so": "nhiều"},
            {"ma_xa": "4", "dan_so": None},
        ]
    )
    path = tmp_path / "many.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError) as info:
        read_communes(path)
    text = str(info.value)
    assert "4 problem(s)" in text
    assert "'1' appears 2 times" in text
    assert "negative" in text and "'nhiều' is not a number" in text
    assert "population is missing" in text


def test_dotted_thousands_population(tmp_path):
    g = square_communes(
        [{"ma_xa": "1", "dan_so": "1.234"}, {"ma_xa": "2", "dan_so": "12.345.678"}]
    )
    path = tmp_path / "dots.gpkg"
    g.to_file(path)
    assert read_communes(path).frame["population"].tolist() == [1234, 12_345_678]


def test_coordinates_keep_three_decimals():
    values, bad = parse_number(pd.Series(["21.033", "105,8342", ""]))
    assert values.tolist()[:2] == [21.033, 105.8342] and not bad.any()


def test_normalise_key_folds_vietnamese():
    assert normalise_key("Đại lý Bưu điện") == "dai_ly_buu_dien"


POINTS_CSV = (
    "ma_diem,ten_diem,loai,co_nguoi_phuc_vu,tthc,vi_do,kinh_do\n"
    "BD1,Bưu điện văn hóa xã Tân Lạc,Điểm BĐVHX,Có,x,20.81,105.33\n"
    "BD2,Bưu cục Đồng Tiến,bưu cục,có,,20.82,105.34\n"
    "BD3,Thùng thư,thùng thư,không,không,20.83,105.35\n"
)


def _encode(text: str, encoding: str) -> bytes:
    """Encode as Windows does for cp1258: tone marks as combining characters."""
    if encoding != "cp1258":
        return text.encode(encoding)
    out = b""
    for char in text:
        try:
            out += char.encode(encoding)
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tone = next(m for m in parts if m in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", parts.replace(tone, ""))
            out += base.encode(encoding) + tone.encode(encoding)
    return out


@pytest.mark.parametrize(
    ("encoding", "delimiter", "decimal"),
    [
        ("utf-8", ",", "."),
        ("utf-8-sig", ",", "."),
        ("cp1258", ",", "."),
        ("utf-16", ",", "."),
        ("utf-8-sig", ";", ","),
    ],
)
def test_points_csv_as_excel_saves_it(tmp_path, encoding, delimiter, decimal):
    text = POINTS_CSV
    if delimiter == ";":
        rows = [line.split(",") for line in text.strip().split("\n")]
        text = (
            "\n".join(
                ";".join(c.replace(".", decimal) if c[:1].isdigit() else c for c in r)
                for r in rows
            )
            + "\n"
        )
    path = tmp_path / "points.csv"
    path.write_bytes(_encode(text, encoding))
    f = read_points(path).frame
    assert f["name"].tolist()[0] == "Bưu điện văn hóa xã Tân Lạc"
    assert f["kind"].tolist() == ["culture_post", "post_office", "letter_box"]
    assert f["staffed"].tolist() == [True, True, False]
    assert f["admin_services"].tolist() == [True, False, False]
    assert f.geometry.y.round(2).tolist() == [20.81, 20.82, 20.83]
    assert f.crs.to_epsg() == 4326


def test_points_without_coordinate_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,name\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="no latitude/longitude columns"):
        read_points(path)


def test_points_defaults_are_stated(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lat,lon\n20.8,105.3\n", encoding="utf-8")
    loaded = read_points(path)
    assert loaded.frame["kind"].tolist() == ["other"]
    assert bool(loaded.frame["staffed"].iloc[0])
    assert any("no staffed column" in n for n in loaded.notes)


def test_swapped_coordinates_are_named(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,lat,lon\nA,105.3,20.8\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"row 2: .*swapped"):
        read_points(path)


def test_blank_and_bad_coordinates_name_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,lat,lon\nA,20.8,105.3\nB,,105.3\nC,abc,105\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_points(path)
    assert "row 3: latitude or longitude is blank" in str(info.value)
    assert "row 4: coordinates ('abc', '105') are not numbers" in str(info.value)


def test_points_from_geojson(tmp_path):
    pts = points_in([0, 0], kind=["agent", "post_office"])
    path = tmp_path / "p.geojson"
    pts.to_crs(4326).to_file(path)
    f = read_points(path).frame
    assert f["kind"].tolist() == ["agent", "post_office"]
    assert f["point_id"].tolist() == ["p0", "p1"]


def test_assignment_inside_outside_and_cross_check():
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 1},
            {"commune_code": "B", "commune_name": "B", "population": 1},
        ]
    )
    pts = points_in([0, 1, 5], declared_commune_code=["A", "A", "B"])
    assigned, notes = assign_points(pts, communes)
    assert assigned["commune_code"].tolist() == ["A", "B", ""]
    assert assigned["inside"].tolist() == [True, True, False]
    assert any("outside every commune (p2)" in n for n in notes)
    assert any("another commune" in n and "p1" in n for n in notes)


def test_point_on_shared_border_counted_once():
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "A", "population": 1},
            {"commune_code": "B", "commune_name": "B", "population": 1},
        ]
    )
    pts = gpd.GeoDataFrame(
        {"point_id": ["x"]}, geometry=[shapely.Point(10_000, 5000)], crs=LAEA_VN
    )
    assigned, _ = assign_points(pts, communes)
    assert assigned["commune_code"].tolist() in (["A"], ["B"])


def test_inputs_never_modified(tmp_path):
    path = _communes(tmp_path)
    before = path.read_bytes()
    read_communes(path)
    assert path.read_bytes() == before


def test_population_rounding_keeps_integers(tmp_path):
    g = square_communes([{"ma_xa": "1", "dan_so": 1234.6}])
    path = tmp_path / "f.gpkg"
    g.to_file(path)
    assert read_communes(path).frame["population"].dtype == np.int64


def test_load_communes_returns_every_problem_without_raising(tmp_path):
    from coverage.io import load_communes

    g = square_communes(
        [
            {"ma_xa": "1", "dan_so": "x"},
            {"ma_xa": "2", "dan_so": 5, "geometry": bow_tie},
        ]
    )
    path = tmp_path / "two.gpkg"
    g.to_file(path)
    loaded, problems = load_communes(path)
    assert len(loaded.frame) == 2
    assert [p.where for p in problems] == ["feature 1 (1)", "feature 2 (2)"]
    assert all(p.fatal for p in problems)


def test_collection_without_polygon_is_not_kept_by_fix_invalid(tmp_path):
    line_only = shapely.GeometryCollection([shapely.LineString([(0, 0), (1, 1)])])
    both = shapely.GeometryCollection(
        [shapely.box(0, 0, 10, 10), shapely.Point(50, 50)]
    )
    g = square_communes(
        [
            {"ma_xa": "1", "dan_so": 5, "geometry": both},
            {"ma_xa": "2", "dan_so": 5, "geometry": line_only},
        ]
    )
    path = tmp_path / "gc.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError) as info:
        read_communes(path, fix_invalid=True)
    assert "feature 2 (2): geometry collection holds no polygon" in str(info.value)
    assert "feature 1" not in str(info.value)


def test_zero_area_differs_from_bow_tie(tmp_path):
    flat = shapely.Polygon([(0, 0), (5, 0), (10, 0), (0, 0)])
    g = square_communes(
        [
            {"ma_xa": "1", "dan_so": 5, "geometry": flat},
            {"ma_xa": "2", "dan_so": 5, "geometry": bow_tie},
        ]
    )
    path = tmp_path / "flat.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError) as info:
        read_communes(path)
    text = str(info.value)
    assert "feature 1 (1): has zero area" in text
    assert "feature 2 (2): invalid geometry (Self-intersection" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("inf", "population 'inf' is not a number"),
        ("1e400", "population '1e400' is not a number"),
        ("2e10", "population 2e+10 is more than the world's population"),
    ],
)
def test_population_that_cannot_be_a_count(tmp_path, value, message):
    g = square_communes([{"ma_xa": "1", "dan_so": value}])
    path = tmp_path / "p.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError, match=re.escape(message)):
        read_communes(path)


def test_more_than_twenty_problems_are_counted(tmp_path):
    g = square_communes([{"ma_xa": str(i), "dan_so": "?"} for i in range(25)])
    path = tmp_path / "many.gpkg"
    g.to_file(path)
    with pytest.raises(ValidationError) as info:
        read_communes(path)
    assert len(info.value.problems) == 21
    assert "... and 5 more features with this population problem" in str(info.value)


def test_long_values_are_shortened_in_messages(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"id,kind,lat,lon\nA,{'x' * 5000},20.8,105.3\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_points(path)
    assert len(str(info.value)) < 300
    assert "kind '" + "x" * 56 + "... not recognised" in str(info.value)


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)))
    with pytest.raises(InputError, match="a binary file, not a CSV text table"):
        read_points(path)


def test_point_layer_with_projected_coordinates_declared_as_degrees(tmp_path):
    pts = points_in([0, 0]).set_crs(4326, allow_override=True)
    path = tmp_path / "p.gpkg"
    pts.to_file(path)
    with pytest.raises(ValidationError, match="are not degrees although the layer"):
        read_points(path)


def test_blank_point_ids_are_named_after_their_rows(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(
        "id,lat,lon\n,20.8,105.3\nBD1,20.81,105.31\n,20.82,105.32\n", encoding="utf-8"
    )
    frame = read_points(path).frame
    assert frame["point_id"].tolist() == ["row-2", "BD1", "row-4"]
    assert frame["point_id"].is_unique
