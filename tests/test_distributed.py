"""``coverage analyze --scheduler``: a Dask run gives the single-process outputs.

One ``LocalCluster`` of two worker processes serves the whole module; the small
synthetic countries of ``bench/make_national.py`` (both shapes) are analysed in
one process and on the cluster, and every CSV cell and ``summary.json`` must be
the same. The halo rule is checked on a province without any point of its own,
and faults (a task that raises, a worker process that dies) must never leave a
silently incomplete table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from coverage.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = {"seconds", "elapsed", "elapsed_s", "time_s", "wall_s"}
CELL_M = "500"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_national", ROOT / "bench" / "make_national.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module", params=["pre2025", "post2025"])
def country(request, tmp_path_factory):
    data = _generator().generate(
        request.param,
        n_communes=240,
        n_provinces=4,
        n_points=500,
        population=3_000_000,
        segment_m=2_000.0,
        seed=11,
    )
    folder = tmp_path_factory.mktemp(f"dask_{request.param}")
    gpkg, csv = _generator().write(data, folder)
    single = folder / "single"
    result = _run(gpkg, csv, single)
    assert result.exit_code == 0, result.output
    return data, gpkg, csv, folder


def _run(boundaries: Path, points: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        main,
        [
            "-q",
            "analyze",
            "-b",
            str(boundaries),
            "-p",
            str(points),
            "--out",
            str(out),
            "--no-map",
            "--by",
            "province",
            "--cell-m",
            CELL_M,
            *extra,
        ],
    )


def _drop_timings(value):
    if isinstance(value, dict):
        return {k: _drop_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_drop_timings(v) for v in value]
    return value


def _assert_same_outputs(a: Path, b: Path) -> None:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix == ".csv")
    assert files, a
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.suffix == ".csv")
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for rel in sorted(p.relative_to(a) for p in a.rglob("summary.json")):
        left = json.loads((a / rel).read_text(encoding="utf-8"))
        right = json.loads((b / rel).read_text(encoding="utf-8"))
        assert _drop_timings(left) == _drop_timings(right), rel


def test_distributed_outputs_equal_single_process(country, cluster):
    _, gpkg, csv, folder = country
    result = _run(gpkg, csv, folder / "dask", "--scheduler", cluster.scheduler.address)
    assert result.exit_code == 0, result.output
    _assert_same_outputs(folder / "single", folder / "dask")


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_partition_then_analyze_with_parts(country, cluster):
    _, gpkg, csv, folder = country
    runner = CliRunner()
    parts = folder / "parts"
    result = runner.invoke(
        main, ["-q", "partition", "-b", str(gpkg), "-p", str(csv), "--out", str(parts)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((parts / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["provinces"]) == 4
    assert sum(p["n_communes"] for p in manifest["provinces"].values()) == 240
    out = folder / "dask_parts"
    result = _run(
        gpkg,
        csv,
        out,
        "--scheduler",
        cluster.scheduler.address,
        "--parts",
        str(parts),
    )
    assert result.exit_code == 0, result.output
    _assert_same_outputs(folder / "single", out)


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_stale_partition_is_refused(country, cluster, tmp_path):
    data, gpkg, csv, _ = country
    changed = data.communes.copy()
    changed.loc[changed.index[0], "dan_so"] += 1
    other = tmp_path / "other.gpkg"
    changed.to_file(other, driver="GPKG", engine="pyogrio")
    parts = tmp_path / "parts"
    runner = CliRunner()
    result = runner.invoke(
        main, ["-q", "partition", "-b", str(other), "-p", str(csv), "--out", str(parts)]
    )
    assert result.exit_code == 0, result.output
    result = _run(
        gpkg,
        csv,
        tmp_path / "out",
        "--scheduler",
        cluster.scheduler.address,
        "--parts",
        str(parts),
    )
    assert result.exit_code == 2, result.output
    assert "other communes" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_nearest_point_across_the_border(country, cluster, tmp_path):
    """A province without points: its nearest points lie in the next province."""
    from coverage.benchmarks import load_benchmark
    from coverage.distributed import DaskAccess, SharedInputs
    from coverage.distributed.assemble import national_frame
    from coverage.distributed.tasks import ProvinceTask, run_province
    from coverage.model import AccessOptions
    from coverage.pipeline import analyze

    data, gpkg, _, _ = country
    pts = data.points
    code_col = "commune_code" if "commune_code" in pts.columns else "ma_xa"
    codes = data.communes.set_index("ma_xa")["ten_tinh"]
    province = sorted(codes.unique())[0]
    keep = pts[code_col].astype(str).map(codes) != province
    csv = tmp_path / "points.csv"
    pts.loc[keep].to_csv(csv, index=False, encoding="utf-8-sig")
    bench = load_benchmark("vn-national-2024")
    options = AccessOptions(cell_m=float(CELL_M))
    single = analyze(gpkg, csv, benchmark=bench, access=options)
    source = SharedInputs(boundaries=str(gpkg), points=str(csv))
    engine = DaskAccess(scheduler=cluster.scheduler.address, source=source, halo_km=0.5)
    spread = analyze(gpkg, csv, benchmark=bench, access=options, distances=engine)
    np.testing.assert_array_equal(spread.access.dist_m, single.access.dist_m)
    np.testing.assert_array_equal(spread.access.surface.pop, single.access.surface.pop)
    for col in single.access.communes.columns:
        np.testing.assert_array_equal(
            spread.access.communes[col].to_numpy(),
            single.access.communes[col].to_numpy(),
            err_msg=col,
        )
    # the task itself, in this process: the 0.5 km halo is widened, once
    frame = national_frame(
        single.communes, single.points, thresholds_km=(2.0, 3.0, 5.0)
    )
    task = ProvinceTask(
        province=province,
        part="",
        source=source,
        crs=frame.surface.crs,
        origin_m=frame.surface.origin_m,
        cell_m=float(CELL_M),
        halo_km=0.5,
    )
    cells = run_province(task, frame.point_xy)
    assert cells.passes >= 2
    assert cells.halo_km > 0.5
    in_province = single.communes["province_name"].to_numpy() == province
    surface = single.access.surface
    mine = in_province[surface.commune]
    assert len(cells) == int(mine.sum()) > 0
    order = np.lexsort((surface.ix[mine], surface.iy[mine]))
    theirs = np.lexsort((cells.ix, cells.iy))
    np.testing.assert_array_equal(
        cells.dist_m[theirs], single.access.dist_m[mine][order]
    )


def test_halo_rule_widens_until_exact():
    from coverage.access import nearest_distance_m
    from coverage.distributed.tasks import halo_nearest

    rng = np.random.default_rng(3)
    cells = rng.uniform(0, 10_000, size=(500, 2))
    points = np.vstack([rng.uniform(40_000, 60_000, size=(50, 2)), [[5_000, 5_000]]])
    exact, idx = nearest_distance_m(cells, points)
    found = halo_nearest(cells, points, halo_km=1.0)
    assert found.passes == 2
    np.testing.assert_array_equal(found.dist_m, exact)
    np.testing.assert_array_equal(found.nearest, idx)
    far = halo_nearest(cells, points[:50], halo_km=1.0)
    assert far.passes == 2  # an empty halo, then every point
    np.testing.assert_array_equal(far.dist_m, nearest_distance_m(cells, points[:50])[0])
    assert halo_nearest(cells, points, halo_km=20.0).passes == 1


def _set_fault(client, spec: str | None) -> None:
    from coverage.distributed.tasks import FAULT_ENV

    if spec is None:
        client.run(lambda: os.environ.pop(FAULT_ENV, None))
    else:
        client.run(lambda: os.environ.__setitem__(FAULT_ENV, spec))


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_failing_task_names_its_province_and_writes_nothing(country, cluster):
    data, gpkg, csv, folder = country
    province = sorted(data.communes["ten_tinh"].unique())[1]
    _set_fault(cluster, f"raise:{province}")
    try:
        out = folder / "failed"
        result = _run(gpkg, csv, out, "--scheduler", cluster.scheduler.address)
    finally:
        _set_fault(cluster, None)
    assert result.exit_code == 1, result.output
    assert province in result.output
    assert "test fault" in result.output
    assert "no output was written" in result.output
    assert not out.exists()


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_dead_worker_is_retried_or_reported(country, cluster, tmp_path):
    data, gpkg, csv, folder = country
    province = sorted(data.communes["ten_tinh"].unique())[2]
    marker = tmp_path / "died"
    _set_fault(cluster, f"exit:{province}:{marker}")
    try:
        out = folder / "retried"
        result = _run(gpkg, csv, out, "--scheduler", cluster.scheduler.address)
    finally:
        _set_fault(cluster, None)
    assert marker.exists()  # a worker process did end inside the task
    if result.exit_code == 0:
        _assert_same_outputs(folder / "single", out)
    else:
        assert result.exit_code == 1, result.output
        assert province in result.output
        assert not out.exists()
    cluster.wait_for_workers(2, timeout=120)


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_missing_extra_is_a_clear_input_error(country, monkeypatch):
    _, gpkg, csv, folder = country
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "distributed" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    result = _run(gpkg, csv, folder / "no_dask", "--scheduler", "local:2")
    assert result.exit_code == 2, result.output
    assert "coverage-planner[dask]" in result.output


@pytest.mark.parametrize("country", ["pre2025"], indirect=True)
def test_bad_scheduler_values(country, tmp_path):
    _, gpkg, csv, _ = country
    result = _run(gpkg, csv, tmp_path / "a", "--scheduler", "local:zero")
    assert result.exit_code == 2, result.output
    assert "local:N" in result.output
    result = _run(gpkg, csv, tmp_path / "b", "--parts", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "--parts needs --scheduler" in result.output


def test_help_does_not_import_dask():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from coverage.cli import main\n"
        "r = CliRunner().invoke(main, ['analyze', '--help'])\n"
        "assert r.exit_code == 0 and '--scheduler' in r.output\n"
        "bad = [m for m in ('dask', 'distributed', 'pyarrow') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
