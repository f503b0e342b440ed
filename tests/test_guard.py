"""Outputs never alias an input or each other; one run per output folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.errors import InputError, OutputError
from coverage.output.guard import OutputLock, check_output_paths, input_files


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "in" / "run").mkdir(parents=True)
    (tmp_path / "in" / "points.csv").write_text("lat,lon\n", encoding="utf-8")
    (tmp_path / "in" / "communes.shp").write_bytes(b"shp")
    (tmp_path / "in" / "communes.dbf").write_bytes(b"dbf")
    (tmp_path / "in" / "run" / "summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "in" / "points.csv", tmp_path / "link.csv")
    os.link(tmp_path / "in" / "points.csv", tmp_path / "hard.csv")
    return tmp_path


def _inputs(root: Path) -> list[tuple[str, Path]]:
    return [
        ("--points", root / "in" / "points.csv"),
        ("--boundaries", root / "in" / "communes.shp"),
        ("--from", root / "in" / "run"),
    ]


def _aliases(root: Path) -> list[Path]:
    return [
        root / "in" / "points.csv",
        root / "in" / "." / "points.csv",
        root / "out" / ".." / "in" / "points.csv",
        root / "link.csv",
        root / "hard.csv",
        root / "in" / "communes.dbf",
        root / "in" / "run" / "summary.json",
        root / "in" / "run" / "map.html",
        root / "in" / "run",
    ]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_spelling_of_an_input_is_refused(tree, data):
    alias = data.draw(st.sampled_from(_aliases(tree)))
    option = data.draw(st.sampled_from(["--map", "--out", "--overwrite-target"]))
    others = [("--out", tree / "out" / "communes.csv")]
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    with pytest.raises(InputError) as info:
        check_output_paths([*others, (option, alias)], _inputs(tree))
    message = str(info.value)
    assert option in message and "\n" not in message
    assert any(opt in message for opt in ("--points", "--boundaries", "--from"))
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


def test_distinct_outputs_next_to_the_inputs_are_fine(tree):
    check_output_paths(
        [("--out", tree / "out"), ("--map", tree / "maps" / "coverage.html")],
        _inputs(tree),
    )


@pytest.mark.parametrize(
    "second",
    ["out/communes.csv", "out/./communes.csv", "maps/../out/communes.csv"],
)
def test_two_outputs_that_are_one_file_are_refused(tree, second):
    first = tree / "out" / "communes.csv"
    with pytest.raises(InputError, match="are the same file; choose another --map"):
        check_output_paths([("--out", first), ("--map", tree / second)], [])


def test_shapefile_reads_its_sidecars():
    names = [p.name for p in input_files("x/communes.shp")]
    assert names[:4] == ["communes.shp", "communes.shx", "communes.dbf", "communes.prj"]
    assert input_files("points.csv") == [Path("points.csv")]


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from coverage.output.guard import OutputLock
        with OutputLock({str(tmp_path)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match="another coverage run is writing"):
            OutputLock(tmp_path).acquire()
    finally:
        holder.communicate("\n", timeout=30)
    with OutputLock(tmp_path):
        pass


def test_the_lock_of_a_killed_run_does_not_block(tmp_path):
    script = (
        "import os, signal\nfrom coverage.output.guard import OutputLock\n"
        f"OutputLock({str(tmp_path)!r}).acquire()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    with OutputLock(tmp_path):
        pass


def test_the_lock_names_the_option_and_cleans_up(tmp_path):
    folder = tmp_path / "maps" / "new"
    with OutputLock(folder, option="--map"):
        assert (folder / ".coverage.lock").is_file()
        with pytest.raises(OutputError, match=r"or choose another --map$"):
            OutputLock(folder, option="--map").acquire()
    # the folders the lock created for nothing are gone again, the lock file too
    assert not (tmp_path / "maps").exists()
