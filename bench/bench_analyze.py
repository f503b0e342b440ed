"""Time `coverage analyze` stage by stage and report peak memory.

Usage:
    python bench/bench_analyze.py                      # the bundled sample
    python bench/bench_analyze.py -b COMMUNES -p POINTS [--no-map] [--repeat 3]

Prints wall time per stage (best of --repeat runs) and the peak resident memory of
the process. Runs the same functions as the CLI (coverage.pipeline).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from coverage.benchmarks import load_benchmark
from coverage.output.files import OutputSet
from coverage.pipeline import analyze, find_sample, output_targets, write_outputs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-b", "--boundaries")
    ap.add_argument("-p", "--points")
    ap.add_argument("--benchmark", default="vn-national-2024")
    ap.add_argument("--no-map", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.boundaries and args.points:
        boundaries, points = Path(args.boundaries), Path(args.points)
    else:
        sample = find_sample()
        if sample is None:
            print("bundled sample not found; pass -b and -p", file=sys.stderr)
            return 2
        boundaries, points = sample
    bench = load_benchmark(args.benchmark)
    best: dict[str, float] = {}
    totals = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            map_path = None if args.no_map else Path(tmp) / "map.html"
            t0 = time.perf_counter()
            result = analyze(boundaries, points, benchmark=bench)
            outputs = OutputSet(output_targets(out, map_path), overwrite=True)
            with outputs:
                write_outputs(
                    result, outputs, out, map_path=map_path, map_title="bench"
                )
            totals.append(time.perf_counter() - t0)
            for stage, seconds in result.timings.items():
                best[stage] = min(best.get(stage, float("inf")), seconds)
            map_mb = map_path.stat().st_size / 1e6 if map_path else None
    print(
        f"input: {boundaries} ({len(result.communes):,} communes), "
        f"{points} ({len(result.points):,} points)"
    )
    print(f"{'stage':<20}{'seconds (best of ' + str(args.repeat) + ')':>28}")
    for stage, seconds in best.items():
        print(f"{stage:<20}{seconds:>28.3f}")
    print(f"{'total':<20}{min(totals):>28.3f}")
    if map_mb is not None:
        print(f"map size: {map_mb:.2f} MB")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
