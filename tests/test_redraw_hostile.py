"""`coverage map --from` a damaged run folder: exit 2 naming file, field and fix."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_bad_inputs import build

from coverage.cli import main


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("run")
    built = build(root)
    out = root / "out"
    args = ["analyze", "-b", str(built.boundaries), "-p", str(built.points)]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-map"])
    assert result.exit_code == 0, result.output
    return out


def _copy(finished: Path, tmp: Path) -> Path:
    run = tmp / "run"
    run.mkdir()
    for name in ("summary.json", "coverage.gpkg"):
        (run / name).write_bytes((finished / name).read_bytes())
    return run


def _edit(run: Path, change) -> None:
    path = run / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(data)), encoding="utf-8")


def _set(path: str, value):
    def change(data):
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
        return data

    return change


RERUN = "; rerun `coverage analyze --out {run}` to rewrite it"

CASES = [
    ("list", lambda d: [d], "{run}/summary.json: not a JSON object (got a list)"),
    ("null", lambda d: None, "{run}/summary.json: not a JSON object (got a null)"),
    (
        "benchmark-string",
        _set("benchmark", "vn"),
        "{run}/summary.json: 'benchmark' must be a table; rerun coverage analyze",
    ),
    (
        "radius-string",
        _set("benchmark.radius_km", "2.9"),
        "{run}/summary.json: field 'benchmark': invalid benchmark profile: "
        "'radius_km' must be a number of km from 0.001 to 20,000, got a string "
        "('2.9')",
    ),
    (
        "people-nan",
        _set("benchmark.people_per_point", "NaN"),
        "'people_per_point' must be a number of people from 1 to "
        "10,000,000,000, got a string ('NaN')",
    ),
    (
        "rules-integer",
        _set("benchmark.distance_rules", 5),
        "'distance_rules' must be an array of tables",
    ),
    (
        "sources-integer",
        _set("benchmark.sources", 3),
        "'sources' must be a string or an array of strings, got 3",
    ),
    (
        "threshold-string",
        _set("access", {"zone_threshold_km": "5"}),
        "{run}/summary.json: field 'access.zone_threshold_km' must be a positive "
        "number of km, got a string ('5')",
    ),
    (
        "access-list",
        _set("access", [1]),
        "{run}/summary.json: field 'access' must be an object, got a list ([1])",
    ),
    (
        "inputs-number",
        _set("inputs", 7),
        "{run}/summary.json: field 'inputs' must be an object, got an integer (7)",
    ),
    (
        "synthetic-string",
        _set("synthetic_data", "no"),
        "{run}/summary.json: field 'synthetic_data' must be true or false, got a "
        "string ('no')",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_damaged_summary(runner, finished, tmp_path, change, message):
    run = _copy(finished, tmp_path)
    _edit(run, change)
    map_path = tmp_path / "m.html"
    result = runner.invoke(
        main,
        ["map", "--from", str(run), "--map", str(map_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message.format(run=run) in result.output
    if "rerun coverage analyze" not in message:
        assert RERUN.format(run=run) in result.output
    assert not map_path.exists()


def test_broken_json(runner, finished, tmp_path):
    run = _copy(finished, tmp_path)
    (run / "summary.json").write_text("{", encoding="utf-8")
    result = runner.invoke(main, ["map", "--from", str(run), "--map", "m.html"])
    assert result.exit_code == 2
    assert f"{run}/summary.json: unreadable (Expecting property name" in result.output


def test_gpkg_without_communes(runner, finished, tmp_path):
    run = _copy(finished, tmp_path)
    with sqlite3.connect(run / "coverage.gpkg") as db:
        db.execute("DROP TABLE communes")
        db.execute("DELETE FROM gpkg_contents WHERE table_name = 'communes'")
        db.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'communes'")
    result = runner.invoke(
        main, ["map", "--from", str(run), "--map", str(tmp_path / "m.html")]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(
        f"Error: {run}/coverage.gpkg: no 'communes' layer (layers: "
    )
    assert result.output.strip().endswith(RERUN.format(run=run))


def test_gpkg_not_a_database(runner, finished, tmp_path):
    run = _copy(finished, tmp_path)
    (run / "coverage.gpkg").write_bytes(b"not sqlite at all")
    result = runner.invoke(
        main, ["map", "--from", str(run), "--map", str(tmp_path / "m.html")]
    )
    assert result.exit_code == 2, result.output
    assert f"{run}/coverage.gpkg: not a readable GeoPackage" in result.output
