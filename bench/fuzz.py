"""Fuzz the readers, ``analyze``, profiles and ``map --from`` with hypothesis.

Reuses the strategies and checks of ``tests/test_fuzz.py`` (where a quick profile
runs in CI) with a larger budget, and prints how many examples ran per target and
every failure found (a failure is any exception other than a CoverageError with a
message, or a broken invariant).

    python bench/fuzz.py                  # 7,000 examples in total
    python bench/fuzz.py --scale 0.1      # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_fuzz as fuzz

TARGETS = (
    ("points CSV reader", fuzz.csv_files, fuzz.check_points_csv, 2500),
    ("GeoJSON readers", fuzz.geojson_files, fuzz.check_geojson, 2000),
    ("analyze + validate on small layers", fuzz.small_layers, fuzz.check_analyze, 600),
    ("benchmark TOML profiles", fuzz.benchmark_tomls, fuzz.check_benchmark, 1500),
    ("map --from a damaged run folder", fuzz.run_folders, fuzz.check_run_folder, 400),
)


def run_target(strategy, check, examples: int) -> tuple[int, list[str]]:
    count = 0
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )
    @given(strategy())
    def run(value) -> None:
        nonlocal count
        count += 1
        check(value)

    try:
        run()
    except BaseException as exc:  # report every failure, then go on
        if isinstance(exc, KeyboardInterrupt):
            raise
        errors = getattr(exc, "exceptions", [exc])
        for err in errors:
            text = "".join(traceback.format_exception(err)).strip()
            failures.append("\n".join(text.splitlines()[-25:]))
    return count, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="budget multiplier")
    args = parser.parse_args()
    total, found = 0, 0
    for name, strategy, check, budget in TARGETS:
        examples = max(1, int(budget * args.scale))
        t0 = time.perf_counter()
        count, failures = run_target(strategy, check, examples)
        elapsed = time.perf_counter() - t0
        total += count
        found += len(failures)
        print(
            f"{name:<38} {count:>6,} examples  {elapsed:7.1f} s  "
            f"{len(failures)} failure(s)"
        )
        for failure in failures:
            print("    " + failure.replace("\n", "\n    "))
    print(f"{'total':<38} {total:>6,} examples            {found} failure(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
