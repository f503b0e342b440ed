"""Single process against a LocalCluster of two workers, on the synthetic country.

Usage::

    python bench/make_national.py --shape pre2025 --out bench/national/pre2025
    python bench/bench_distributed.py bench/national/pre2025 [--cell-m 250]

Runs ``coverage analyze --by province --no-map`` three times in one go: in one
process; with ``--scheduler`` on a ``LocalCluster(2)`` (worker processes, one
thread each, started by this script) whose workers read the input layers; and
the same with ``--parts`` after ``coverage partition``. Prints side by side the
wall time, the time of the surface-and-distance stages, the peak resident memory
of every process (client, each worker), the speed-up, and whether every run
wrote the same files.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COVERAGE = Path(sys.executable).with_name("coverage")
_STAGE = re.compile(r"^\[\s*\d+/\d+\s+([\d.]+) s\] (.*?) …$")


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run(cmd: list[str]) -> dict:
    """Run a command; return its wall time, peak memory and stage start times."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{text[-2000:]}")
    stages = []
    for line in text.splitlines():
        match = _STAGE.match(line.strip())
        if match:
            stages.append((float(match.group(1)), match.group(2)))
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024.0, "stages": stages}


def _access_seconds(stages: list[tuple[float, str]]) -> float:
    """From the surface stage to the zones stage (surface and distances)."""
    start = next(t for t, name in stages if name.startswith("population surface"))
    end = next(t for t, name in stages if name.startswith("uncovered zones"))
    return end - start


def _same_outputs(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv"))
    return bool(files) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files
    )


def _on_cluster(cmd: list[str], workers: int) -> dict:
    """Start a LocalCluster, run ``cmd --scheduler ADDRESS`` on it, read its peaks."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter() - t0
        run = _run([*cmd, "--scheduler", cluster.scheduler_address])
        run["workers_mb"] = sorted(client.run(_worker_peak_mb).values())
        run["start"] = start
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="made by bench/make_national.py")
    ap.add_argument("--cell-m", default="250")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    boundaries = args.folder / "communes.gpkg"
    points = args.folder / "service_points.csv"
    inputs = ["-b", str(boundaries), "-p", str(points)]
    n = args.workers
    with tempfile.TemporaryDirectory() as tmp:
        base = [str(COVERAGE), "analyze", *inputs, "--by", "province", "--no-map"]
        base += ["--cell-m", args.cell_m]
        single = _run([*base, "--out", f"{tmp}/single"])
        shared = _on_cluster([*base, "--out", f"{tmp}/shared"], n)
        t0 = time.perf_counter()
        _run([str(COVERAGE), "-q", "partition", *inputs, "--out", f"{tmp}/parts"])
        t_partition = time.perf_counter() - t0
        parts = _on_cluster(
            [*base, "--out", f"{tmp}/parts_run", "--parts", f"{tmp}/parts"], n
        )
        same = all(
            _same_outputs(Path(tmp) / "single", Path(tmp) / name)
            for name in ("shared", "parts_run")
        )
    runs = [single, shared, parts]
    access = [_access_seconds(r["stages"]) for r in runs]

    def row(label: str, values: list[str]) -> tuple[str, ...]:
        return (label, *values)

    starts = ["-"] + [f"{r['start']:.1f} s" for r in runs[1:]]
    speed = [f"{single['wall'] / r['wall']:.2f}" for r in runs]
    rows = [
        row("wall time, whole analyze", [f"{r['wall']:.1f} s" for r in runs]),
        row("  of which surface + distances", [f"{a:.1f} s" for a in access]),
        row("LocalCluster start (not in wall)", starts),
        row("coverage partition (once)", ["-", "-", f"{t_partition:.1f} s"]),
        row("peak memory, client process", [f"{r['peak_mb']:.0f} MB" for r in runs]),
    ]  # fmt: skip
    rows += [
        row(
            f"peak memory, worker {i + 1}",
            ["-"] + [f"{r['workers_mb'][i]:.0f} MB" for r in runs[1:]],
        )
        for i in range(n)
    ]
    rows += [
        row("speed-up, whole analyze", speed),
        row("speed-up, surface + distances", [f"{access[0] / a:.2f}" for a in access]),
        row("same CSV files as single", ["", *(["yes" if same else "NO"] * 2)]),
    ]  # fmt: skip
    print(f"{args.folder} at {args.cell_m} m, {os.cpu_count()} cores")
    width = max(len(r[0]) for r in rows)
    heads = ["single process", f"LocalCluster({n})", f"LocalCluster({n}) --parts"]
    print(f"{'':{width}}  " + "  ".join(f"{h:>24}" for h in heads))
    for label, *values in rows:
        print(f"{label:{width}}  " + "  ".join(f"{v:>24}" for v in values))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
