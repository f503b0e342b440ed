"""Every command checks its outputs before reading: no input is ever touched.

The data-loss cases of issue 15, the duplicate target of issue 16, the lock of an
output folder taken by two processes, the all-or-nothing commit and the default
map name derived from the run (exact exit codes and messages, inputs and previous
outputs unchanged by hash).
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_inputs import build

from coverage.cli import main
from coverage.output.guard import LOCK_NAME

_RUNS = itertools.count()


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(runner, *args: str):
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    built = build(tmp_path / "in")
    return built


def _analyze(runner, built, *extra: str):
    return _run(
        runner, "analyze", "-b", str(built.boundaries), "-p", str(built.points), *extra
    )


@pytest.mark.parametrize("victim", ["points", "boundaries"])
def test_map_onto_an_input_is_refused(runner, inputs, tmp_path, victim):
    before = _hashes(tmp_path)
    path = getattr(inputs, victim)
    result = _analyze(runner, inputs, "--out", "out", "--map", str(path), "--overwrite")
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: --map {path} is the input --{victim} {path}; writing there would "
        "destroy it: choose another --map (--overwrite never replaces an input)"
    )
    assert _hashes(tmp_path) == before
    assert not (tmp_path / "out").exists() and not (tmp_path / "maps").exists()


def test_map_onto_the_summary_it_redraws_is_refused(runner, inputs, tmp_path):
    assert _analyze(runner, inputs, "--out", "in/run", "--no-map").exit_code == 0
    before = _hashes(tmp_path)
    result = _run(
        runner, "map", "--from", "in/run", "--map", "in/run/summary.json", "--overwrite"
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "Error: --map in/run/summary.json lies inside the input folder --from "
        "in/run, which this run reads: choose another --map"
    )
    assert _hashes(tmp_path) == before


def test_stale_output_cleanup_never_deletes_the_points_read(runner, inputs, tmp_path):
    (tmp_path / "out").mkdir()
    points = tmp_path / "out" / "points_outside.csv"
    points.write_bytes(inputs.points.read_bytes())
    before = _hashes(tmp_path)
    result = _run(
        runner,
        "analyze",
        "-b",
        str(inputs.boundaries),
        "-p",
        "out/points_outside.csv",
        "--out",
        "out",
        "--overwrite",
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "Error: --out out/points_outside.csv is the input --points "
        "out/points_outside.csv; writing there would destroy it: choose another "
        "--out (--overwrite never replaces an input)"
    )
    assert _hashes(tmp_path) == before


def test_map_onto_a_table_of_the_same_run_is_refused(runner, inputs, tmp_path):
    assert _analyze(runner, inputs, "--out", "out2").exit_code == 0
    before = _hashes(tmp_path)
    result = _analyze(
        runner, inputs, "--out", "out2", "--map", "out2/communes.csv", "--overwrite"
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "Error: --map out2/communes.csv and --out out2/communes.csv are the same "
        "file; choose another --map"
    )
    assert _hashes(tmp_path) == before


def test_plan_and_by_province_folders_are_guarded(runner, inputs, tmp_path):
    before = _hashes(tmp_path)
    plan = _run(
        runner,
        "plan",
        "-b",
        str(inputs.boundaries),
        "-p",
        str(inputs.points),
        "--add",
        "1",
        "--out",
        "in",
        "--map",
        str(inputs.points),
    )
    assert plan.exit_code == 2
    assert "Error: --map " in plan.output and "is the input --points" in plan.output
    (tmp_path / "out" / "by_province" / "x").mkdir(parents=True)
    hidden = tmp_path / "out" / "by_province" / "x" / "points.csv"
    hidden.write_bytes(inputs.points.read_bytes())
    before = _hashes(tmp_path)
    result = _run(
        runner,
        "analyze",
        "-b",
        str(inputs.boundaries),
        "-p",
        str(hidden),
        "--by",
        "province",
        "--overwrite",
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: --out out/by_province would be rewritten by this run, and it holds "
        f"the input --points {hidden}: move the input out of it or choose another "
        "--out"
    )
    assert _hashes(tmp_path) == before


def test_benchmark_file_is_an_input(runner, inputs, tmp_path):
    profile = tmp_path / "in" / "mine.toml"
    profile.write_text('name = "mine"\nradius_km = 3.0\n', encoding="utf-8")
    before = _hashes(tmp_path)
    result = _analyze(
        runner, inputs, "-B", str(profile), "--map", str(profile), "--overwrite"
    )
    assert result.exit_code == 2
    assert f"is the input --benchmark {profile}" in result.output
    assert _hashes(tmp_path) == before


def _spellings(root: Path, folder: str) -> list[str]:
    """Spellings of ``root/folder``: relative, ``./``, ``..``, absolute, a symlink."""
    os.symlink(root / folder, root / f"link-{folder}")
    return [
        folder,
        f"./{folder}",
        f"maps/../{folder}",
        f"{folder}/../{folder}",
        str(root / folder),
        f"link-{folder}",
    ]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_spelling_of_an_input_as_output_is_refused(runner, tmp_path, data):
    root = tmp_path / str(next(_RUNS))
    (root / "in").mkdir(parents=True)
    built = build(root / "in")
    (root / "o").mkdir()
    os.replace(built.points, root / "o" / "communes.csv")
    old = Path.cwd()
    os.chdir(root)
    try:
        option = data.draw(st.sampled_from(["--map", "--out"]))
        if option == "--map":
            folder = data.draw(st.sampled_from(_spellings(root, "in")))
            victim = data.draw(st.sampled_from(["communes.geojson", "in.txt"]))
            target = f"{folder}/{victim}"
            points = "o/communes.csv"
            boundaries = "in/communes.geojson"
            if victim == "in.txt":
                # the whole folder is read: nothing may be written inside it
                boundaries = "in"
                (root / "in" / "points.csv").unlink(missing_ok=True)
            args = ["--out", "o2", "--map", target]
        else:
            spelling = data.draw(st.sampled_from(_spellings(root, "o")))
            points = data.draw(
                st.sampled_from(["o/communes.csv", "./o/../o/communes.csv"])
            )
            boundaries = "in/communes.geojson"
            args = ["--out", spelling]
        command = data.draw(st.sampled_from(["analyze", "plan"]))
        extra = ["--add", "1"] if command == "plan" else []
        before = _hashes(root)
        result = _run(
            runner,
            command,
            "-b",
            boundaries,
            "-p",
            points,
            *extra,
            *args,
            *data.draw(st.sampled_from([[], ["--overwrite"]])),
        )
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert line.startswith("Error: " + option), line
        assert "\n" not in line
        assert "is the input --" in line or "lies inside the input folder" in line
        assert _hashes(root) == before
        assert not (root / "maps").exists() and not (root / "o2").exists()
    finally:
        os.chdir(old)


RUN = "import sys; from coverage.cli import main; main(sys.argv[1:])"

HOLD = """
import sys
import coverage.pipeline as pipeline
from coverage.cli import main

real = pipeline.analyze

def held(*args, **kwargs):
    print("holding", flush=True)
    sys.stdin.readline()
    return real(*args, **kwargs)

pipeline.analyze = held
main(sys.argv[1:])
"""


def test_two_runs_into_one_empty_folder(inputs, tmp_path):
    args = ["analyze", "-b", str(inputs.boundaries), "-p", str(inputs.points)]
    args += ["--out", "out", "--no-map"]
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert first.stdout.readline().strip() == "holding"
        second = subprocess.run(
            [sys.executable, "-c", RUN, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
    finally:
        _, err = first.communicate("\n", timeout=120)
    assert second.returncode == 1, second.stderr
    assert second.stderr.strip().splitlines()[-1] == (
        f"Error: {tmp_path / 'out'}: another coverage run is writing into this "
        "folder right now; wait for it to finish or choose another --out"
    )
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err
    assert (tmp_path / "out" / "communes.csv").is_file()
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_the_lock_file_is_never_an_output(runner, inputs, tmp_path):
    assert _analyze(runner, inputs, "--out", "out").exit_code == 0
    (tmp_path / "out" / LOCK_NAME).write_text("", encoding="utf-8")
    result = _analyze(runner, inputs, "--out", "out", "--overwrite")
    assert result.exit_code == 0, result.output
    assert LOCK_NAME not in result.output
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_default_map_follows_the_out_folder(runner, inputs, tmp_path):
    assert _analyze(runner, inputs, "--out", "o1").exit_code == 0
    assert _analyze(runner, inputs, "--out", "o2").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == [
        "o1.html",
        "o2.html",
    ]
    assert _analyze(runner, inputs, "--out", "out").exit_code == 0
    assert (tmp_path / "maps" / "coverage.html").is_file()
    before = _hashes(tmp_path)
    again = _analyze(runner, inputs, "--out", "o3", "--map", "maps/o1.html")
    assert again.exit_code == 2
    assert again.output.strip() == (
        "Error: maps/o1.html: output exists already; pass --overwrite to replace "
        "it or choose another --map path"
    )
    assert _hashes(tmp_path) == before
    redraw = _run(runner, "map", "--from", "o2", "--overwrite")
    assert redraw.exit_code == 0, redraw.output
    assert "maps/o2.html" in redraw.output


# All-or-nothing commit: a failure in the middle of the moves rolls back.


def _fail_on(monkeypatch, n: int, *, exc: BaseException | None = None):
    real = os.replace
    calls: list[tuple[str, str]] = []

    def replace(src, dst, *args, **kwargs):
        calls.append((str(src), str(dst)))
        if len(calls) == n:
            raise exc or OSError(errno.EIO, "Input/output error")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return calls


@pytest.mark.parametrize("when", [3, 14], ids=["moving-old-aside", "moving-new-in"])
def test_failure_in_the_middle_of_the_commit_rolls_back(
    runner, inputs, tmp_path, monkeypatch, when
):
    assert _analyze(runner, inputs, "--out", "out").exit_code == 0
    before = _hashes(tmp_path)
    calls = _fail_on(monkeypatch, when)
    result = _analyze(runner, inputs, "--out", "out", "--overwrite")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: writing outputs failed (Input/output error); the previous outputs "
        "were left unchanged"
    )
    assert len(calls) > when
    assert _hashes(tmp_path) == before
    assert [p for p in (tmp_path / "out").iterdir() if p.is_dir()] == []


def test_a_failed_roll_back_says_so(runner, inputs, tmp_path, monkeypatch):
    assert _analyze(runner, inputs, "--out", "out").exit_code == 0
    real = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        calls.append(src)
        if len(calls) >= 14:
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = _analyze(runner, inputs, "--out", "out", "--overwrite")
    assert result.exit_code == 1
    assert "the previous outputs could not all be put back" in result.output
    assert "left unchanged" not in result.output
    assert "move them back by hand" in result.output


def test_a_full_disk_on_a_first_run_says_so(runner, inputs, tmp_path, monkeypatch):
    import geopandas as gpd
    from pyogrio.errors import DataSourceError

    def full(self, *args, **kwargs):
        msg = (
            "sqlite3_exec(CREATE TABLE gpkg_contents (table_name TEXT)) failed: "
            "database or disk is full"
        )
        raise DataSourceError(msg)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full)
    result = _analyze(runner, inputs, "--out", "out", "--no-map")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: writing outputs failed: the disk is full (no space left on device); "
        "free some space or choose another --out folder; nothing was written"
    )
    assert not (tmp_path / "out").exists()


def test_commit_rolls_back_in_the_library(tmp_path, monkeypatch):
    from coverage.output.files import OutputSet

    targets = [tmp_path / f"{name}.csv" for name in "abc"]
    for t in targets[:2]:
        t.write_text("old " + t.name, encoding="utf-8")
    before = _hashes(tmp_path)
    outputs = OutputSet(targets, overwrite=True)
    with pytest.raises(OSError, match="left unchanged"), outputs:
        for t in targets:
            outputs.path(t).write_text("new", encoding="utf-8")
        _fail_on(monkeypatch, 4)
        outputs.commit()
    monkeypatch.undo()
    assert _hashes(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
    assert textwrap.dedent("") == ""
