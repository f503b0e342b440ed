"""Property-based fuzzing of the readers and of ``analyze`` on random small layers.

Whatever the input, a reader either returns a layer that satisfies the canonical
model or raises a :class:`CoverageError` with a message; ``coverage analyze`` and
``coverage validate`` end with exit code 0 or 2 and agree. The ``ci`` profile
(the default) runs a few dozen examples per test; ``bench/fuzz.py`` reuses the
strategies and checks below for thousands.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from click.testing import CliRunner
from common import LAEA_VN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.cli import main
from coverage.errors import CoverageError
from coverage.io import MAX_POPULATION, read_communes, read_points

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")

# ---------------------------------------------------------------- strategies

POINT_COLUMNS = [
    "lat",
    "lon",
    "vi_do",
    "kinh_do",
    "x",
    "y",
    "id",
    "ma_diem",
    "name",
    "kind",
    "loai",
    "staffed",
    "tthc",
    "ma_xa",
    "operator",
    "",
    "Vĩ độ",
]
TOKENS = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "1.234",
    "21,0333",
    "105,8342",
    "20.8",
    "105.3",
    "có",
    "không",
    "x",
    "bưu cục",
    "thùng thư",
    "=1+1",
    "@SUM(A1)",
    '"',
    '""',
    "\n",
    "１２",
    "٣",
]
TEXT = st.text(
    alphabet=st.sampled_from([*"aăâđêôơưáàảãạ019.,;|\t\"'=+-@ \n\r", "Đ", "ệ"]),
    max_size=12,
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-200, max_value=200).map(lambda v: f"{v:.6f}"),
    st.floats(min_value=-200, max_value=200).map(
        lambda v: f"{v:.4f}".replace(".", ",")
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)
CELLS = st.one_of(st.sampled_from(TOKENS), TEXT, NUMBERS)


@st.composite
def csv_files(draw) -> bytes:
    """CSV bytes as people, spreadsheets and broken tools write them."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    header = draw(st.lists(st.sampled_from(POINT_COLUMNS), max_size=5))
    coordinates = draw(st.integers(0, 4)) > 0
    if coordinates:
        header += draw(st.sampled_from([["lat", "lon"], ["vi_do", "kinh_do"]]))
        header = draw(st.permutations(header))
    plausible = st.one_of(
        st.floats(8, 23).map(lambda v: f"{v:.5f}"),
        st.floats(102, 110).map(lambda v: f"{v:.5f}".replace(".", ",")),
        CELLS,
    )

    def cell(name: str):
        return plausible if name in ("lat", "lon", "vi_do", "kinh_do") else CELLS

    rows = draw(
        st.lists(st.tuples(*(cell(name) for name in header)).map(list), max_size=6)
    )
    if draw(st.booleans()):
        rows = [r[: draw(st.integers(0, len(r) + 1))] for r in rows]
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = "\n".join(delimiter.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]))
    return text.encode(encoding, errors="replace")


COORD = st.one_of(
    st.floats(min_value=-80, max_value=80),
    st.floats(min_value=-200, max_value=200),
    st.sampled_from([0.0, 105.3, 20.8, 1e12, -1e12]),
)
PROPERTY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    CELLS,
    st.lists(st.integers(0, 9), max_size=2),
)
PROPERTY_KEYS = st.sampled_from(
    ["ma_xa", "ten_xa", "dan_so", "population", "id", "name", "kind", "staffed", "x"]
)


@st.composite
def geometries(draw) -> dict | None:
    kind = draw(
        st.sampled_from(
            ["none", "point", "ring", "line", "collection", "empty", "multi"]
            + ["box"] * 6
        )
    )
    x, y = draw(COORD), draw(COORD)
    w, h = draw(st.floats(0, 2)), draw(st.floats(0, 2))
    square = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    if kind == "none":
        return None
    if kind == "point":
        return {"type": "Point", "coordinates": [x, y]}
    if kind == "box":
        return {"type": "Polygon", "coordinates": [square]}
    if kind == "ring":
        ring = draw(st.lists(st.tuples(COORD, COORD), min_size=0, max_size=5))
        return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}
    if kind == "line":
        return {"type": "LineString", "coordinates": square[:2]}
    if kind == "empty":
        return {"type": "Polygon", "coordinates": []}
    if kind == "multi":
        return {"type": "MultiPoint", "coordinates": square[:3]}
    return {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Polygon", "coordinates": [square]},
            {"type": "Point", "coordinates": [x, y]},
        ],
    }


@st.composite
def geojson_files(draw) -> bytes:
    """GeoJSON text with odd geometries and properties, sometimes broken."""
    features = []
    sound = draw(st.integers(0, 3)) > 0
    for i in range(draw(st.integers(0, 4))):
        properties = {}
        if sound:
            properties = {"ma_xa": f"X{i}", "dan_so": draw(st.integers(0, 10**6))}
        if not sound or draw(st.booleans()):
            properties.update(draw(st.dictionaries(PROPERTY_KEYS, PROPERTY_VALUES)))
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": draw(geometries()),
            }
        )
    text = json.dumps({"type": "FeatureCollection", "features": features})
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode()


@st.composite
def small_layers(draw) -> dict:
    """A few communes (some degenerate) and points in LAEA metres near Hòa Bình."""
    n = draw(st.integers(1, 4))
    communes = []
    for i in range(n):
        shape = draw(st.sampled_from(["box"] * 8 + ["bowtie", "sliver"]))
        x0 = i * 1000.0 + draw(st.floats(-300, 300))
        size = draw(st.floats(1.0, 3000.0))
        if shape == "box":
            geom = shapely.box(x0, 0, x0 + size, size)
        elif shape == "bowtie":
            geom = shapely.Polygon(
                [(x0, 0), (x0 + size, size), (x0 + size, 0), (x0, size)]
            )
        else:
            geom = shapely.Polygon([(x0, 0), (x0 + size, 0), (x0 + 2 * size, 0)])
        population = draw(
            st.one_of(
                st.integers(0, 10**6),
                st.integers(0, 10**6),
                st.integers(-5, 10**13),
                st.sampled_from(["", "1.234", "x", "1e400"]),
            )
        )
        code = f"C{i}"
        if draw(st.integers(0, 4)) == 0:
            code = draw(st.sampled_from(["C0", "0001", ""]))
        communes.append((code, str(population), geom))
    odd = st.integers(0, 9).map(lambda v: v == 0)
    points = [
        (
            draw(st.floats(-2000, 6000) if draw(odd) else st.floats(0, n * 1000.0)),
            draw(st.floats(-2000, 4000) if draw(odd) else st.floats(0, 1000.0)),
            draw(st.sampled_from(["??"] if draw(odd) else ["post office", "agent"])),
            draw(st.sampled_from(["maybe"] if draw(odd) else ["yes", "no"])),
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    return {
        "communes": communes,
        "points": points,
        "fix_invalid": draw(st.booleans()),
    }


# ---------------------------------------------------------------- checks


def _write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def check_points_csv(content: bytes) -> None:
    """read_points returns a sound layer or raises a CoverageError with a message."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "points.csv", content)
        try:
            loaded = read_points(path)
        except CoverageError as exc:
            assert str(exc).strip()
            return
        xy = shapely.get_coordinates(loaded.frame.geometry.to_numpy())
        assert len(xy) == len(loaded.frame) > 0
        assert np.isfinite(xy).all()
        assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
        assert loaded.frame["point_id"].is_unique


def check_geojson(content: bytes) -> None:
    """Both readers accept a GeoJSON only as a sound layer, or raise a message."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "layer.geojson", content)
        for reader in (read_communes, read_points):
            try:
                loaded = reader(path)
            except CoverageError as exc:
                assert str(exc).strip()
                continue
            frame = loaded.frame
            geoms = frame.geometry.to_numpy()
            assert not shapely.is_empty(geoms).any()
            if reader is read_communes:
                assert shapely.is_valid(geoms).all()
                assert (shapely.area(geoms) > 0).all()
                assert frame["commune_code"].is_unique
                assert frame["population"].between(0, MAX_POPULATION).all()
            else:
                assert np.isfinite(shapely.get_coordinates(geoms)).all()


def check_analyze(layers: dict) -> None:
    """``analyze`` and ``validate`` end cleanly (0 or 2) and agree on the inputs."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        codes, pops, geoms = zip(*layers["communes"], strict=True)
        frame = gpd.GeoDataFrame(
            {"ma_xa": list(codes), "dan_so": list(pops)},
            geometry=list(geoms),
            crs=LAEA_VN,
        )
        boundaries = folder / "communes.gpkg"
        frame.to_file(boundaries)
        rows = ["ma_diem,loai,co_nguoi,lat,lon"]
        if layers["points"]:
            xs, ys, kinds, staffed = zip(*layers["points"], strict=True)
            ll = gpd.GeoSeries(shapely.points(xs, ys), crs=LAEA_VN).to_crs(4326)
            for i, (p, k, s) in enumerate(zip(ll, kinds, staffed, strict=True)):
                rows.append(f"P{i},{k},{s},{p.y:.7f},{p.x:.7f}")
        points = _write(folder, "points.csv", ("\n".join(rows) + "\n").encode())
        args = ["-b", str(boundaries), "-p", str(points)]
        if layers["fix_invalid"]:
            args.append("--fix-invalid")
        runner = CliRunner()
        checked = runner.invoke(main, ["validate", *args])
        run = runner.invoke(
            main, ["analyze", *args, "--no-map", "--out", str(folder / "out")]
        )
        for result in (checked, run):
            assert result.exception is None or isinstance(
                result.exception, SystemExit
            ), repr(result.exception)
            assert "unexpected failure" not in result.output, result.output
            assert result.exit_code in (0, 2), result.output
        assert checked.exit_code == run.exit_code, checked.output + run.output
        if run.exit_code == 0:
            summary = json.loads((folder / "out" / "summary.json").read_text("utf-8"))
            assert all(
                v is None or math.isfinite(v)
                for v in summary["overall"].values()
                if isinstance(v, float)
            )


# ------------------------------------------- benchmark TOML and run folders

BENCH_KEYS = [
    "name",
    "title",
    "radius_km",
    "radius_kms",
    "people_per_point",
    "require_staffed",
    "distance_rules",
    "sources",
    "path",
    "",
]
RULE_KEYS = ["distance_km", "min_share", "scope", "share", ""]
TOML_VALUES = [
    '"vn"',
    '""',
    '"no"',
    '"true"',
    "true",
    "false",
    "0",
    "1",
    "-1",
    "2.9",
    "1e-9",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "7105",
    "[]",
    "[1, 2]",
    '["a", "b"]',
    "{}",
    "{ distance_km = 5.0, min_share = 0.95 }",
    "1979-05-27",
]


@st.composite
def benchmark_tomls(draw) -> str:
    """TOML profiles: real keys, typos, every kind of value, broken syntax too."""
    lines = []
    if draw(st.booleans()):
        name = draw(st.sampled_from(['"x"', "3", '""']))
        lines.append("name = " + name)
    for key in draw(st.lists(st.sampled_from(BENCH_KEYS), max_size=6)):
        value = draw(st.sampled_from(TOML_VALUES))
        lines.append((key or '""') + " = " + value)
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[distance_rules]]")
        for key in draw(st.lists(st.sampled_from(RULE_KEYS), max_size=3, unique=True)):
            value = draw(st.sampled_from([*TOML_VALUES, '"rural"', '"urban"']))
            lines.append((key or "x") + " = " + value)
    if draw(st.integers(0, 9)) == 0:
        lines.append(draw(st.sampled_from(["[", "= 1", "name = ", "\x00", "a.b = 1"])))
    return "\n".join(lines) + "\n"


def check_benchmark(text: str) -> None:
    """A profile is a Benchmark with finite figures or a CoverageError naming it."""
    from coverage.benchmarks import load_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.toml"
        path.write_text(text, encoding="utf-8")
        try:
            bench = load_benchmark(path)
        except CoverageError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            assert "\n" not in str(exc)
            return
        for value in (bench.radius_km, bench.people_per_point):
            assert value is None or (math.isfinite(value) and value > 0)
        assert isinstance(bench.require_staffed, bool)


_FINISHED: dict[str, bytes] = {}

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _finished_run() -> dict[str, bytes]:
    """summary.json and coverage.gpkg of a small finished run (made once)."""
    if not _FINISHED:
        from test_bad_inputs import build

        with tempfile.TemporaryDirectory() as tmp:
            built = build(Path(tmp))
            out = Path(tmp) / "out"
            args = ["analyze", "-b", str(built.boundaries), "-p", str(built.points)]
            result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-map"])
            assert result.exit_code == 0, result.output
            for name in ("summary.json", "coverage.gpkg"):
                _FINISHED[name] = (out / name).read_bytes()
    return _FINISHED


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


@st.composite
def run_folders(draw) -> dict:
    """A finished run's folder: summary.json edited, the GeoPackage damaged."""
    summary = json.loads(_finished_run()["summary.json"])
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(list(_paths(summary))))
        value = draw(JSON_VALUES)
        if not where:
            summary = value
            continue
        node = summary
        try:
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(summary)
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(["", "{", "[1,", "null", "\ufeff{}", "NaN"]))
    gpkg = draw(st.sampled_from(["whole", "no-communes", "garbage", "empty", "none"]))
    return {"summary": text, "gpkg": gpkg}


def check_run_folder(folder_spec: dict) -> None:
    """``coverage map --from`` a damaged folder ends with exit 0 or 2, no traceback."""
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        (run / "summary.json").write_text(folder_spec["summary"], encoding="utf-8")
        gpkg = run / "coverage.gpkg"
        kind = folder_spec["gpkg"]
        if kind != "none":
            gpkg.write_bytes(_finished_run()["coverage.gpkg"])
        if kind == "no-communes":
            with sqlite3.connect(gpkg) as db:
                db.execute("DROP TABLE communes")
                db.execute("DELETE FROM gpkg_contents WHERE table_name = 'communes'")
        elif kind == "garbage":
            gpkg.write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)
        elif kind == "empty":
            gpkg.write_bytes(b"")
        result = CliRunner().invoke(
            main, ["map", "--from", str(run), "--map", str(Path(tmp) / "m.html")]
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            repr(result.exception)
        )
        assert "unexpected failure" not in result.output, result.output
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 2), result.output


# ---------------------------------------------------------------- tests


@given(csv_files())
def test_points_csv_reader(content):
    check_points_csv(content)


@given(geojson_files())
def test_geojson_readers(content):
    check_geojson(content)


@settings(max_examples=25)
@given(small_layers())
def test_analyze_random_small_layers(layers):
    check_analyze(layers)


@given(benchmark_tomls())
def test_benchmark_profiles(text):
    check_benchmark(text)


@settings(max_examples=20)
@given(run_folders())
def test_map_from_damaged_run_folders(folder_spec):
    check_run_folder(folder_spec)
