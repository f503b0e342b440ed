"""A corpus of bad inputs, each with its exact outcome: exit code and message.

Every case builds its files in ``tmp_path`` and runs ``coverage validate``; the
cases marked for analyze also run ``coverage analyze --no-map`` and must end the
same way. No case may show a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from common import LAEA_VN, UTM48N, bow_tie, empty_polygon, square_communes
from shapely.geometry import GeometryCollection, LineString, Polygon, box

from coverage.cli import main
from coverage.errors import InputError, ValidationError
from coverage.io import LayerChoiceError, load_communes, read_communes, read_points
from coverage.output.guard import LOCK_NAME
from coverage.validate import validate_inputs

CODES = ["00001", "00002", "00003"]
NAMES = ["Xã Tân Lạc", "Phường Đồng Tiến", "Xã Mường Khến"]
HEADER = "ma_diem,ten_diem,loai,co_nguoi_phuc_vu,vi_do,kinh_do"


def communes_frame(*, crs: str | None = LAEA_VN, **column_values) -> gpd.GeoDataFrame:
    """Three 10 km squares near Hòa Bình; keyword lists replace a column."""
    data = {"ma_xa": CODES, "ten_xa": NAMES, "dan_so": [20000, 5000, 1000]}
    data.update(column_values)
    spec = [
        dict(zip(data, values, strict=True))
        for values in zip(*data.values(), strict=True)
    ]
    return square_communes(spec, crs=crs)


def lat_lon(commune: int, k: int = 0) -> tuple[float, float]:
    """Latitude and longitude of a point inside commune ``commune``."""
    pt = gpd.GeoSeries(
        [shapely.Point(commune * 10_000 + 2000 + 500 * k, 3000)], crs=LAEA_VN
    ).to_crs(4326)
    return round(pt.y.iloc[0], 6), round(pt.x.iloc[0], 6)


def point_rows(where=(0, 1, 2)) -> list[list[str]]:
    rows = []
    for i, c in enumerate(where):
        lat, lon = lat_lon(c, i)
        rows.append([f"BD{i + 1}", f"Bưu điện {i + 1}", "bưu cục", "có", lat, lon])
    return [[str(v) for v in r] for r in rows]


def csv_text(rows: list[list[str]], header: str = HEADER, sep: str = ",") -> str:
    return "\n".join([header.replace(",", sep), *(sep.join(r) for r in rows)]) + "\n"


@dataclass
class Built:
    boundaries: Path
    points: Path
    extra: tuple[str, ...] = ()


def build(
    tmp: Path,
    *,
    communes: gpd.GeoDataFrame | None = None,
    boundaries_name: str = "communes.geojson",
    points: str | bytes | None = None,
    points_name: str = "points.csv",
    extra: tuple[str, ...] = (),
) -> Built:
    """Write a commune layer and a points file (defaults: a valid pair)."""
    b = tmp / boundaries_name
    frame = communes if communes is not None else communes_frame()
    if b.suffix == ".geojson" and frame.crs is not None:
        frame = frame.to_crs(4326)
    frame.to_file(b)
    p = tmp / points_name
    content = csv_text(point_rows()) if points is None else points
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    else:
        p.write_bytes(content)
    return Built(b, p, extra)


def with_boundaries(
    built: Built, content: bytes, name: str = "communes.geojson"
) -> Built:
    """Replace the commune layer by raw bytes."""
    path = built.points.parent / name
    path.write_bytes(content)
    return Built(path, built.points, built.extra)


def cp1258(text: str) -> bytes:
    """Encode as Windows does for Vietnamese: tone marks as combining characters."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tone = next(m for m in parts if m in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", parts.replace(tone, ""))
            out += base.encode("cp1258") + tone.encode("cp1258")
    return out


def replace_geometry(index: int, geometry) -> gpd.GeoDataFrame:
    frame = communes_frame()
    geoms = list(frame.geometry)
    geoms[index] = geometry
    return frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs))


def swapped_rows(rows: list[list[str]], which) -> list[list[str]]:
    out = [list(r) for r in rows]
    for i in which:
        out[i][4], out[i][5] = out[i][5], out[i][4]
    return out


def europe_layers(tmp: Path, swap) -> Built:
    """Communes near 10°E 50°N, where swapped coordinates stay in range."""
    frame = communes_frame().set_crs("EPSG:3035", allow_override=True)
    frame["geometry"] = frame.geometry.translate(4_300_000, 3_000_000)
    pts = gpd.GeoSeries(
        [shapely.Point(4_300_000 + c * 10_000 + 5000, 3_005_000) for c in range(3)],
        crs="EPSG:3035",
    ).to_crs(4326)
    rows = [
        [f"E{i}", "Post", "post", "yes", f"{p.y:.6f}", f"{p.x:.6f}"]
        for i, p in enumerate(pts)
    ]
    return build(tmp, communes=frame, points=csv_text(swapped_rows(rows, swap)))


def _no_crs(tmp: Path, *extra: str) -> Built:
    frame = communes_frame(crs=None)
    return build(tmp, communes=frame, boundaries_name="nocrs.gpkg", extra=extra)


def _degrees_declared_for_metres(tmp: Path) -> Built:
    frame = communes_frame().set_crs(4326, allow_override=True)
    return build(tmp, communes=frame, boundaries_name="wrong.gpkg")


def _utm_points(tmp: Path) -> Built:
    pts = gpd.GeoSeries(
        [shapely.Point(*lat_lon(c)[::-1]) for c in range(3)], crs=4326
    ).to_crs(UTM48N)
    rows = [
        [f"U{i}", "Post", "post", "yes", f"{p.y:.1f}", f"{p.x:.1f}"]
        for i, p in enumerate(pts)
    ]
    return build(tmp, points=csv_text(rows))


def _points_geojson(tmp: Path, geoms, crs="EPSG:4326") -> Built:
    frame = gpd.GeoDataFrame(
        {"point_id": [f"G{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs
    )
    b = build(tmp)
    path = tmp / "points.gpkg"
    frame.to_file(path)
    return Built(b.boundaries, path)


def _folder_as_boundaries(tmp: Path) -> Built:
    b = build(tmp)
    folder = tmp / "folder"
    folder.mkdir()
    return Built(folder, b.points)


def _nan_vertex(tmp: Path) -> Built:
    """A GeoJSON ring with a NaN vertex (written as the ``NaN`` GDAL accepts)."""
    data = json.loads(communes_frame().to_crs(4326).to_json())
    data["features"][0]["geometry"]["coordinates"][0][1] = [float("nan")] * 2
    return with_boundaries(build(tmp), json.dumps(data).encode())


def _huge_vertex(tmp: Path) -> Built:
    frame = communes_frame()
    ring = list(frame.geometry.iloc[0].exterior.coords)
    ring[1] = (ring[1][0], 1e308)
    return build(
        tmp,
        communes=frame.set_geometry(
            gpd.GeoSeries([Polygon(ring), *frame.geometry.iloc[1:]], crs=frame.crs)
        ),
        boundaries_name="huge.gpkg",
    )


def _two_layers(tmp: Path) -> Built:
    b = build(tmp)
    path = tmp / "communes.gpkg"
    communes_frame().to_file(path, layer="communes_2024")
    communes_frame().to_file(path, layer="communes_2019")
    return Built(path, b.points)


def _fields(built: Built) -> tuple[Path, Path]:
    return built.boundaries, built.points


def _points_two_layers(tmp: Path, *extra: str) -> Built:
    b = build(tmp)
    table = pd.read_csv(b.points, dtype=str)
    layer = gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy(
            table["kinh_do"].astype(float), table["vi_do"].astype(float)
        ),
        crs=4326,
    )
    path = tmp / "points.gpkg"
    layer.to_file(path, layer="diem_2024")
    layer.iloc[:1].to_file(path, layer="diem_2019")
    return Built(b.boundaries, path, extra)


def _utf16_without_bom(tmp: Path, encoding: str) -> Built:
    return build(tmp, points=csv_text(ROWS).encode(encoding))


ROWS = point_rows()
OK = 0
BAD = 2


def _world_stray(tmp: Path) -> Built:
    frame = communes_frame().to_crs(4326)
    stray = gpd.GeoDataFrame(
        {"ma_xa": ["99999"], "ten_xa": ["Thế giới"], "dan_so": [10]},
        geometry=[box(-180, -85, 180, 85)],
        crs=4326,
    )
    both = pd.concat([frame, stray], ignore_index=True)
    return build(tmp, communes=gpd.GeoDataFrame(both, crs=4326))


def _overlapping_copy(tmp: Path) -> Built:
    frame = communes_frame()
    copy = frame.iloc[[0]].assign(ma_xa="00009", ten_xa="Bản sao")
    both = pd.concat([frame, copy], ignore_index=True)
    return build(tmp, communes=gpd.GeoDataFrame(both, crs=frame.crs))


@dataclass
class Case:
    id: str
    make: Callable[[Path], Built]
    exit_code: int
    fragment: str
    analyze: bool = True


CASES = [
    # files that cannot be read
    Case(
        "empty-boundaries",
        lambda t: with_boundaries(build(t), b""),
        BAD,
        "the file is empty",
    ),
    Case("empty-points", lambda t: build(t, points=b""), BAD, "the file is empty"),
    Case(
        "points-header-only",
        lambda t: build(t, points=HEADER + "\n"),
        BAD,
        "the layer has no service points",
    ),
    Case(
        "not-spatial-boundaries",
        lambda t: with_boundaries(build(t), b"this is not json"),
        BAD,
        "not a readable spatial file",
    ),
    Case(
        "table-as-boundaries",
        lambda t: with_boundaries(
            build(t), b"ma_xa,dan_so\n1,5\n", name="communes.csv"
        ),
        BAD,
        "has no geometry column",
    ),
    Case(
        "no-features",
        lambda t: with_boundaries(
            build(t), b'{"type":"FeatureCollection","features":[]}'
        ),
        BAD,
        "the layer has no features",
    ),
    Case(
        "binary-points",
        lambda t: build(t, points=bytes(range(256)) * 4),
        BAD,
        "a binary file, not a CSV text table",
    ),
    Case(
        "missing-boundaries-path",
        lambda t: Built(t / "nowhere.geojson", build(t).points),
        BAD,
        "nowhere.geojson: file not found",
    ),
    Case(
        "missing-points-path",
        lambda t: Built(build(t).boundaries, t / "nope.csv"),
        BAD,
        "nope.csv: file not found",
    ),
    Case(
        "folder-as-boundaries",
        _folder_as_boundaries,
        BAD,
        "is a folder, not a file",
    ),
    # columns
    Case(
        "no-coordinate-columns",
        lambda t: build(t, points="id,name\n1,a\n"),
        BAD,
        "no latitude/longitude columns found",
    ),
    Case(
        "no-population-column",
        lambda t: build(t, communes=communes_frame().drop(columns="dan_so")),
        BAD,
        "no population column found",
    ),
    Case(
        "explicit-column-missing",
        lambda t: build(t, extra=("--column", "population=DS_2019")),
        BAD,
        "column 'DS_2019' (given for population) not found",
    ),
    # coordinates
    Case(
        "swapped-lat-lon",
        lambda t: build(t, points=csv_text(swapped_rows(ROWS, [0, 1, 2]))),
        BAD,
        "row 2, row 3, row 4: latitude and longitude are swapped: swapping them "
        "puts these points inside the communes",
    ),
    Case(
        "swapped-in-range",
        lambda t: europe_layers(t, [0, 1, 2]),
        BAD,
        "latitude and longitude look swapped: 3 of 3 points fall inside the "
        "communes only when the two are swapped",
    ),
    Case(
        "swapped-one-row-warning",
        lambda t: europe_layers(t, [1]),
        OK,
        "lat/lon look swapped in row 3: swapping puts them inside the communes",
    ),
    Case(
        "out-of-range",
        lambda t: build(
            t, points=csv_text([*ROWS, ["X", "x", "bc", "có", "95", "200"]])
        ),
        BAD,
        "row 5: coordinates lat=95, lon=200 are out of range",
    ),
    Case(
        "blank-coordinate",
        lambda t: build(t, points=csv_text([*ROWS, ["X", "x", "bc", "có", "", "105"]])),
        BAD,
        "row 5: latitude or longitude is blank",
    ),
    Case(
        "nan-coordinate",
        lambda t: build(
            t, points=csv_text([*ROWS, ["X", "x", "bc", "có", "NaN", "105"]])
        ),
        BAD,
        "row 5: coordinates ('NaN', '105') are not numbers",
    ),
    Case(
        "infinite-coordinate",
        lambda t: build(
            t, points=csv_text([*ROWS, ["X", "x", "bc", "có", "20.8", "inf"]])
        ),
        BAD,
        "row 5: coordinates ('20.8', 'inf') are not numbers",
    ),
    Case(
        "utm-metres-in-csv",
        _utm_points,
        BAD,
        "look like metres of a projected CRS, not degrees; give their CRS with "
        "--points-crs",
    ),
    Case(
        "point-geometry-nan",
        lambda t: _points_geojson(
            t, [shapely.Point(*lat_lon(0)[::-1]), shapely.Point(float("nan"), 1.0)]
        ),
        BAD,
        "feature 2: point has no usable coordinates (NaN or infinite)",
    ),
    Case(
        "points-not-points",
        lambda t: _points_geojson(t, [box(105.3, 20.8, 105.31, 20.81)]),
        BAD,
        "feature 1: geometry is not a point",
    ),
    Case(
        "points-outside-some",
        lambda t: build(
            t, points=csv_text([*ROWS, ["FAR", "x", "bc", "có", "10.0", "106.0"]])
        ),
        OK,
        "1 point(s) lie outside every commune (FAR)",
    ),
    Case(
        "points-outside-all",
        lambda t: build(t, points=csv_text([["FAR", "x", "bc", "có", "10", "106"]])),
        BAD,
        "none of the 1 points lies inside any commune of communes.geojson",
    ),
    # Excel and encodings
    Case(
        "semicolon-comma-decimals",
        lambda t: build(
            t,
            points=csv_text(
                [[c.replace(".", ",") for c in r] for r in ROWS], sep=";"
            ).encode("utf-8-sig"),
        ),
        OK,
        "OK: 3 communes (population 26,000), 3 service points",
    ),
    Case(
        "quoted-comma-decimals",
        lambda t: build(
            t,
            points=csv_text([[f'"{c.replace(".", ",")}"' for c in r] for r in ROWS]),
        ),
        OK,
        "3 service points, 0 outside every commune",
    ),
    Case(
        "utf-16",
        lambda t: build(t, points=csv_text(ROWS).encode("utf-16")),
        OK,
        "read as UTF-16",
    ),
    Case(
        "windows-1258",
        lambda t: build(t, points=cp1258(csv_text(ROWS))),
        OK,
        "read as cp1258",
    ),
    # duplicates
    Case(
        "duplicate-point-ids",
        lambda t: build(t, points=csv_text([ROWS[0], ROWS[1], ROWS[0]])),
        BAD,
        "row 2, row 4: point id 'BD1' appears 2 times",
    ),
    Case(
        "duplicate-commune-codes",
        lambda t: build(t, communes=communes_frame(ma_xa=["1", "1", "2"])),
        BAD,
        "features 1, 2: commune code '1' appears 2 times",
    ),
    # population
    Case(
        "population-missing",
        lambda t: build(t, communes=communes_frame(dan_so=["5", "", "7"])),
        BAD,
        "feature 2 (Phường Đồng Tiến): population is missing",
    ),
    Case(
        "population-negative",
        lambda t: build(t, communes=communes_frame(dan_so=[5, -3, 7])),
        BAD,
        "feature 2 (Phường Đồng Tiến): population -3 is negative",
    ),
    Case(
        "population-not-a-number",
        lambda t: build(t, communes=communes_frame(dan_so=["5", "nhiều", "7"])),
        BAD,
        "feature 2 (Phường Đồng Tiến): population 'nhiều' is not a number",
    ),
    Case(
        "population-infinite",
        lambda t: build(t, communes=communes_frame(dan_so=["5", "inf", "7"])),
        BAD,
        "population 'inf' is not a number",
    ),
    Case(
        "population-huge",
        lambda t: build(t, communes=communes_frame(dan_so=["5", "1e15", "7"])),
        BAD,
        "population 1e+15 is more than the world's population",
    ),
    Case(
        "population-dotted-thousands",
        lambda t: build(t, communes=communes_frame(dan_so=["1.234", "12.345", "7"])),
        OK,
        "2 population value(s) with thousands separators read as whole numbers "
        "(e.g. '1.234' = 1,234)",
    ),
    # geometries
    Case(
        "bow-tie",
        lambda t: build(
            t, communes=replace_geometry(1, bow_tie), boundaries_name="c.gpkg"
        ),
        BAD,
        "feature 2 (Phường Đồng Tiến): invalid geometry (Self-intersection",
    ),
    Case(
        "bow-tie-fixed",
        lambda t: build(
            t,
            communes=replace_geometry(
                1, shapely.affinity.translate(bow_tie, 10_000, 0)
            ),
            boundaries_name="c.gpkg",
            extra=("--fix-invalid",),
        ),
        OK,
        "1 invalid geometry(ies) repaired",
    ),
    Case(
        "empty-geometry",
        lambda t: build(
            t, communes=replace_geometry(2, empty_polygon), boundaries_name="c.gpkg"
        ),
        BAD,
        "feature 3 (Xã Mường Khến): has ",
    ),
    Case(
        "null-geometry",
        lambda t: build(
            t, communes=replace_geometry(2, None), boundaries_name="c.gpkg"
        ),
        BAD,
        "feature 3 (Xã Mường Khến): has no geometry",
    ),
    Case(
        "point-among-polygons",
        lambda t: build(
            t,
            communes=replace_geometry(2, shapely.Point(25_000, 5000)),
            boundaries_name="c.gpkg",
        ),
        BAD,
        "feature 3 (Xã Mường Khến): geometry is a point, not a polygon",
    ),
    Case(
        "collection-reported",
        lambda t: build(
            t,
            communes=replace_geometry(
                2,
                GeometryCollection(
                    [box(20_000, 0, 30_000, 10_000), LineString([(0, 0), (1, 1)])]
                ),
            ),
            boundaries_name="c.gpkg",
        ),
        BAD,
        "geometry is a geometry collection, not a polygon",
    ),
    Case(
        "collection-fixed",
        lambda t: build(
            t,
            communes=replace_geometry(
                2,
                GeometryCollection(
                    [box(20_000, 0, 30_000, 10_000), LineString([(0, 0), (1, 1)])]
                ),
            ),
            boundaries_name="c.gpkg",
            extra=("--fix-invalid",),
        ),
        OK,
        "1 geometry collection(s) reduced to polygons",
    ),
    Case(
        "zero-area",
        lambda t: build(
            t,
            communes=replace_geometry(
                2, Polygon([(20_000, 0), (25_000, 0), (30_000, 0), (20_000, 0)])
            ),
            boundaries_name="c.gpkg",
            extra=("--fix-invalid",),
        ),
        BAD,
        "feature 3 (Xã Mường Khến): has zero area",
    ),
    # CRS
    Case(
        "missing-crs",
        _no_crs,
        BAD,
        "the layer has no coordinate reference system; set one with --crs",
    ),
    Case(
        "missing-crs-given",
        lambda t: _no_crs(t, "--crs", LAEA_VN),
        OK,
        "OK: 3 communes",
    ),
    Case(
        "mismatched-crs-reprojected",
        lambda t: build(
            t, communes=communes_frame().to_crs(UTM48N), boundaries_name="utm.gpkg"
        ),
        OK,
        "3 service points, 0 outside every commune",
    ),
    Case(
        "crs-option-conflicts",
        lambda t: build(t, extra=("--crs", "EPSG:32648")),
        BAD,
        "but --crs says EPSG:32648; drop --crs",
    ),
    Case(
        "crs-option-nonsense",
        lambda t: _no_crs(t, "--crs", "EPSG:nope"),
        BAD,
        "--crs 'EPSG:nope' is not a CRS",
    ),
    Case(
        "points-crs-nonsense",
        lambda t: build(t, extra=("--points-crs", "nowhere")),
        BAD,
        "--points-crs 'nowhere' is not a CRS",
    ),
    Case(
        "metres-declared-as-degrees",
        _degrees_declared_for_metres,
        BAD,
        "coordinates are not degrees although the layer declares EPSG:4326",
    ),
    # attribute values
    Case(
        "unknown-kind",
        lambda t: build(t, points=csv_text([[*ROWS[0][:2], "kiosk", *ROWS[0][3:]]])),
        BAD,
        "row 2: kind 'kiosk' not recognised; use one of post_office",
    ),
    Case(
        "staffed-not-yes-no",
        lambda t: build(t, points=csv_text([[*ROWS[0][:3], "maybe", *ROWS[0][4:]]])),
        BAD,
        "row 2: staffed value 'maybe' is not yes/no",
    ),
    # hostile inputs (issues 15 and 16)
    Case(
        "nan-vertex",
        _nan_vertex,
        BAD,
        "communes.geojson: feature 1 (Xã Tân Lạc): a vertex has unusable coordinates "
        "(nan, nan): NaN, infinite or beyond any map; correct or delete that vertex "
        "in your GIS, or remove the feature",
    ),
    Case(
        "huge-vertex",
        _huge_vertex,
        BAD,
        "huge.gpkg: feature 1 (Xã Tân Lạc): a vertex has unusable coordinates "
        "(10000, 1e+308): NaN, infinite or beyond any map",
    ),
    Case(
        "two-layers-no-choice",
        _two_layers,
        BAD,
        "communes.gpkg: the file holds 2 layers ('communes_2024', 'communes_2019'); "
        "choose one with --layer NAME",
    ),
    Case(
        "unknown-column-key",
        lambda t: build(t, extra=("-c", "populaton=DS_2024")),
        BAD,
        "error: --column populaton=DS_2024: unknown key 'populaton' (did you mean "
        "population?); the keys are commune_code, commune_name, district_name, "
        "province_name, population, point_id, name, kind, staffed, admin_services, "
        "operator, declared_commune_code, lat, lon",
    ),
    Case(
        "duplicate-header",
        lambda t: build(
            t,
            points=csv_text(
                [[r[4], r[5], r[4], r[5]] for r in ROWS], header="lat,lon,lat,lon"
            ),
        ),
        BAD,
        "points.csv: the header names a column more than once ('lat' in columns 1, "
        "3; 'lon' in columns 2, 4); rename or delete the extra columns so that each "
        "name is used once",
    ),
    Case(
        "utf-16-le-without-bom",
        lambda t: _utf16_without_bom(t, "utf-16-le"),
        OK,
        "points.csv: read as UTF-16-LE (no byte order mark), delimiter ','",
    ),
    Case(
        "utf-16-be-without-bom",
        lambda t: _utf16_without_bom(t, "utf-16-be"),
        OK,
        "points.csv: read as UTF-16-BE (no byte order mark), delimiter ','",
    ),
    Case(
        "two-layers-chosen",
        lambda t: Built(*_fields(_two_layers(t)), ("--layer", "communes_2019")),
        OK,
        "OK: ",
    ),
    Case(
        "unknown-layer-name",
        lambda t: Built(*_fields(_two_layers(t)), ("--layer", "communes_2020")),
        BAD,
        "communes.gpkg: no layer 'communes_2020' in the file; its layers are "
        "'communes_2024', 'communes_2019'",
    ),
    Case(
        "points-two-layers-no-choice",
        _points_two_layers,
        BAD,
        "points.gpkg: the file holds 2 layers ('diem_2024', 'diem_2019'); choose "
        "one with --points-layer NAME",
    ),
    Case(
        "points-layer-chosen",
        lambda t: _points_two_layers(t, "--points-layer", "diem_2019"),
        OK,
        "OK: ",
    ),
    Case(
        "points-layer-unknown",
        lambda t: _points_two_layers(t, "--points-layer", "diem"),
        BAD,
        "points.gpkg: no layer 'diem' in the file; its layers are 'diem_2024', "
        "'diem_2019'",
    ),
    Case(
        "world-sized-stray-polygon",
        _world_stray,
        BAD,
        "communes.geojson: feature 4 (code 99999): area 508,107,311 km², 5,081,072 "
        "times the median commune (100.00 km²) and more than 331,000 km²; remove it "
        "or fix its coordinates (a stray outline of a country or of the world?)",
    ),
    Case(
        "stray-polygon-contains-the-rest",
        _world_stray,
        BAD,
        "communes.geojson: feature 4 (code 99999) contains 3 of the 3 other "
        "communes; remove it (a district, province or country outline mixed into "
        "the commune layer?)",
    ),
    Case(
        "overlapping-copy",
        _overlapping_copy,
        BAD,
        "communes.geojson: feature 1 (code 00001) and feature 4 (code 00009) "
        "overlap on 100% of the smaller one (100.00 km²); communes must not "
        "overlap: remove the duplicate or fix the boundaries",
    ),
]


def _invoke(runner, args: list[str]):
    result = runner.invoke(main, args, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def _args(built: Built) -> list[str]:
    return ["-b", str(built.boundaries), "-p", str(built.points), *built.extra]


def _fingerprint(*paths: Path) -> list[tuple[str, int]]:
    return [
        (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in paths
        if p.is_file()
    ]


_NOT_CASES = ("test_validate", "test_analyze", "test_corpus_is_large_enough")


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    import test_cli_hostile
    import test_outputs_guarded
    import test_redraw_hostile

    def cases(module) -> int:
        # every test of the module, a parametrised one once per parameter set
        total = 0
        for name in dir(module):
            test = getattr(module, name)
            skip = name in _NOT_CASES
            if not name.startswith("test_") or not callable(test) or skip:
                continue
            marks = getattr(test, "pytestmark", [])
            sets = [len(m.args[1]) for m in marks if m.name == "parametrize"]
            total += max(sets, default=1)
        return total

    others = sum(
        cases(m) for m in (test_cli_hostile, test_outputs_guarded, test_redraw_hostile)
    )
    # the output cases of this file beyond CASES count too
    here = cases(sys.modules[__name__])
    assert len(CASES) + here + others >= 100, (len(CASES), here, others)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate(runner, tmp_path, case: Case):
    built = case.make(tmp_path)
    before = _fingerprint(built.boundaries, built.points)
    result = _invoke(runner, ["validate", *_args(built)])
    assert _fingerprint(built.boundaries, built.points) == before
    assert result.exit_code == case.exit_code, result.output
    assert case.fragment in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("OK: " if case.exit_code == OK else "FAILED: ")


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.analyze], ids=[c.id for c in CASES if c.analyze]
)
def test_analyze(runner, tmp_path, case: Case):
    built = case.make(tmp_path)
    out = tmp_path / "out"
    args = ["analyze", *_args(built), "--no-map", "--out", str(out)]
    before = _fingerprint(built.boundaries, built.points)
    result = _invoke(runner, args)
    assert _fingerprint(built.boundaries, built.points) == before
    assert result.exit_code == case.exit_code, result.output
    if case.exit_code == OK:
        assert (out / "communes.csv").exists()
    else:
        assert case.fragment.split(": ")[-1][:40] in result.output
        assert not out.exists() or not any(out.iterdir())


# Outputs: cases that only exist for a run that writes.


def _analyze(runner, built: Built, out: Path, *extra: str):
    args = ["analyze", *_args(built), "--no-map", "--out", str(out), *extra]
    return _invoke(runner, args)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_output_folder_under_a_file(runner, tmp_path):
    built = build(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = _analyze(runner, built, blocker / "out")
    assert result.exit_code == 1
    assert "cannot write outputs here" in result.output
    assert "choose a writable folder with --out" in result.output


def test_output_folder_read_only(runner, tmp_path, monkeypatch):
    built = build(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:
        # root writes into read-only folders: let the OS answer as it would others
        real_mkdir = Path.mkdir

        def mkdir(self, *args, **kwargs):
            if self == locked / "out":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", mkdir)
    try:
        result = _analyze(runner, built, locked / "out")
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 1
    assert "cannot write outputs here (Permission denied)" in result.output
    assert not (locked / "out").exists()


def test_outputs_exist_without_overwrite(runner, tmp_path):
    built = build(tmp_path)
    out = tmp_path / "out"
    assert _analyze(runner, built, out).exit_code == 0
    before = _outputs(out)
    again = _analyze(runner, built, out)
    assert again.exit_code == 2
    assert "output exists already; pass --overwrite" in again.output
    assert _outputs(out) == before


def test_unreadable_points_file(runner, tmp_path, monkeypatch):
    built = build(tmp_path)
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == built.points:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    result = _invoke(runner, ["validate", *_args(built)])
    assert result.exit_code == 2
    assert "points.csv: cannot be read (Permission denied); check its permissions" in (
        result.output
    )


def test_every_problem_of_both_layers_at_once(runner, tmp_path):
    built = build(
        tmp_path,
        communes=communes_frame(ma_xa=["1", "1", "2"], dan_so=["5", "-1", "x"]),
        points=csv_text([ROWS[0], ROWS[0], ["X", "x", "kiosk", "có", "", "105"]]),
    )
    result = _invoke(runner, ["validate", *_args(built)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 6, result.output
    assert "FAILED: 6 problem(s) (3 in communes.geojson, 3 in points.csv)" in (
        result.output
    )
    with pytest.raises(ValidationError) as info:
        validate_inputs(built.boundaries, built.points)
    assert len(info.value.problems) == 6
    assert str(info.value).startswith("6 problem(s) in the input")


def test_validate_inputs_returns_assigned_points(tmp_path):
    rows = [*ROWS, ["FAR", "x", "bc", "có", "10.0", "106.0"]]
    built = build(tmp_path, points=csv_text(rows))
    checked = validate_inputs(built.boundaries, built.points)
    assert checked.communes.frame["commune_code"].tolist() == CODES
    assert checked.assigned["commune_code"].tolist() == [*CODES, ""]
    assert checked.assigned["inside"].tolist() == [True, True, True, False]
    assert any("outside every commune (FAR)" in n for n in checked.notes)


# Atomic outputs: an interrupted run keeps the previous outputs and leaves no file.


@pytest.mark.parametrize(
    ("failure", "exit_code", "message"),
    [
        (KeyboardInterrupt(), 130, "previous outputs were left unchanged"),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            1,
            "writing outputs failed: the disk is full (no space left on device); "
            "free some space or choose another --out folder; the previous outputs "
            "were left unchanged",
        ),
    ],
    ids=["ctrl-c", "disk-full"],
)
def test_interrupted_write_keeps_previous_outputs(
    runner, tmp_path, monkeypatch, failure, exit_code, message
):
    built = build(tmp_path)
    out = tmp_path / "out"
    assert _analyze(runner, built, out).exit_code == 0
    before = _outputs(out)
    calls = []
    real_to_csv = pd.DataFrame.to_csv

    def fail_midway(self, path=None, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # communes.csv and districts.csv are written by then
            Path(path).write_bytes(b"partial")
            raise failure
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_midway)
    result = _analyze(runner, built, out, "--overwrite")
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert len(calls) == 3
    assert _outputs(out) == before
    assert _leftovers(tmp_path) == []


KILL_MIDWAY = """
import os, signal, sys
import pandas as pd
from coverage.cli import main

real = pd.DataFrame.to_csv
calls = []

def to_csv(self, path=None, *args, **kwargs):
    calls.append(path)
    if len(calls) == 2:
        real(self, path, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, path, *args, **kwargs)

pd.DataFrame.to_csv = to_csv
main(sys.argv[1:])
"""


def test_killed_run_keeps_previous_outputs(runner, tmp_path):
    built = build(tmp_path)
    out = tmp_path / "out"
    assert _analyze(runner, built, out).exit_code == 0
    before = _outputs(out)
    args = [*_args(built), "--no-map", "--out", str(out), "--overwrite"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MIDWAY, "analyze", *args],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # a killed run leaves its lock file (harmless: the OS released the lock)
    assert {k: v for k, v in _outputs(out).items() if k != LOCK_NAME} == before
    staged = [p for p in out.iterdir() if p.is_dir()]
    assert staged and all(p.name.startswith(".coverage-tmp-") for p in staged)
    # the next run clears the staging folder of the killed one
    assert _analyze(runner, built, out, "--overwrite").exit_code == 0
    assert [p for p in out.iterdir() if p.is_dir()] == []


def test_first_run_interrupted_leaves_nothing(runner, tmp_path, monkeypatch):
    built = build(tmp_path)
    out = tmp_path / "out"

    def fail(self, path=None, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    result = _analyze(runner, built, out)
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert not out.exists()


# Hostile content: formulas neutralised in every CSV, long names, huge numbers.

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_formulas_neutralised_in_every_csv(runner, tmp_path):
    communes = communes_frame(
        ten_xa=FORMULAS[:3], ma_xa=["=1", "+2", "@3"], dan_so=[20000, 5000, 1000]
    )
    communes["ten_huyen"] = ["=cmd|' /C calc'!A0", "-x", "@y"]
    communes["ten_tinh"] = ["+p", "+p", "=p"]
    rows = [
        [f"@P{i}", FORMULAS[i], "bưu cục", "có", *r[4:]] for i, r in enumerate(ROWS)
    ]
    rows.append(["-FAR", FORMULAS[4], "bưu cục", "có", "10", "106"])
    table = pd.DataFrame(rows, columns=HEADER.split(","))
    built = build(tmp_path, communes=communes, points=table.to_csv(index=False))
    out = tmp_path / "out"
    result = _analyze(runner, built, out)
    assert result.exit_code == 0, result.output
    csvs = sorted(out.glob("*.csv"))
    assert {p.name for p in csvs} >= {"communes.csv", "gaps.csv", "points_outside.csv"}
    checked = 0
    for path in csvs:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        for value in table.to_numpy().ravel():
            if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert pd.to_numeric(value, errors="coerce") == pd.to_numeric(
                    value, errors="coerce"
                ), f"{path.name}: {value!r}"
            if value.startswith("'"):
                checked += 1
    assert checked >= 10


def test_long_names_and_huge_numbers(runner, tmp_path):
    long_name = "Xã " + "Tân Lạc " * 2000
    communes = communes_frame(
        ten_xa=[long_name, "B", "C"], dan_so=["9000000000", "1", "0"]
    )
    built = build(tmp_path, communes=communes)
    out = tmp_path / "out"
    result = _analyze(runner, built, out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(
        out / "communes.csv", encoding="utf-8-sig", dtype={"ma_xa": str}
    )
    assert table["commune_name"].iloc[0] == long_name.strip()
    assert table["population"].tolist() == [9_000_000_000, 1, 0]
    assert table["people_per_point"].iloc[0] == 9_000_000_000
    assert max(len(line) for line in result.output.splitlines()) < 400


# Hostile inputs through the library and a real process (issues 15 and 16).


@pytest.mark.parametrize("make", [_nan_vertex, _huge_vertex], ids=["nan", "1e308"])
def test_broken_vertex_warns_nothing_on_the_terminal(tmp_path, make):
    built = make(tmp_path)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from coverage.cli import main; main()",
            "validate",
            *_args(built),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ""
    assert "a vertex has unusable coordinates" in run.stdout


def test_library_warnings_become_notes(tmp_path, monkeypatch):
    built = build(tmp_path)
    real_area = shapely.area

    def overflowing_area(geometry, **kwargs):
        warnings.warn("overflow encountered in area", RuntimeWarning, stacklevel=2)
        return real_area(geometry, **kwargs)

    monkeypatch.setattr(shapely, "area", overflowing_area)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, problems = load_communes(built.boundaries)
    assert problems == []
    assert loaded.notes[-1] == (
        f"{built.boundaries}: a computation warned while reading the layer (overflow "
        "encountered in area); check features with extreme or broken coordinates"
    )


def test_layer_is_chosen_by_name(tmp_path):
    path = _two_layers(tmp_path).boundaries
    with pytest.raises(LayerChoiceError) as info:
        read_communes(path)
    assert info.value.exit_code == 2
    assert info.value.param == "layer"
    assert info.value.layers == ["communes_2024", "communes_2019"]
    assert len(read_communes(path, layer="communes_2019").frame) == 3
    with pytest.raises(LayerChoiceError) as info:
        read_communes(path, layer="communes_2020")
    assert str(info.value) == (
        f"{path}: no layer 'communes_2020' in the file; its layers are "
        "'communes_2024', 'communes_2019'"
    )
    checked = validate_inputs(path, built_points(tmp_path), layer="communes_2024")
    assert len(checked.communes.frame) == 3


def built_points(tmp: Path) -> Path:
    path = tmp / "layer-points.csv"
    path.write_text(csv_text(ROWS), encoding="utf-8")
    return path


def test_unknown_column_key_refused_by_the_reader(tmp_path):
    built = build(tmp_path)
    with pytest.raises(InputError, match=r"unknown key 'lng' \(did you mean lon\?\)"):
        read_points(built.points, columns={"lng": "kinh_do"})


def test_utf16_without_bom_reads_vietnamese(tmp_path):
    rows = [[*r[:1], "Bưu điện Đồng Tiến", *r[2:]] for r in ROWS]
    built = build(tmp_path, points=csv_text(rows).encode("utf-16-le"))
    loaded = read_points(built.points)
    assert list(loaded.frame["name"]) == ["Bưu điện Đồng Tiến"] * 3
    assert loaded.notes[0] == (
        "points.csv: read as UTF-16-LE (no byte order mark), delimiter ','"
    )
