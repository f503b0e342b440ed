"""Time and memory of distance access: the bundled sample and a 1,000,000-cell surface.

Usage: python bench/bench_access.py [--cells 1000000] [--points 13000] [--repeat 3]

Stages on the sample: population grid (250 m), distances and aggregation
(compute_access), uncovered zones, catchments. The large case measures the
distance step alone (coverage.access.nearest_distance_m, a cKDTree query) on
random cells over a 1,000 km x 330 km area with random points, then the
aggregation to 10,600 communes. Target: distances for 1,000,000 cells in < 2 s.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from coverage.access import (
    aggregate_access,
    build_population_grid,
    compute_access,
    nearest_distance_m,
    point_catchments,
    uncovered_zones,
)
from coverage.benchmarks import load_benchmark
from coverage.io import read_communes, read_points

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, func, *args, repeat: int = 1, **kwargs):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    print(f"  {label:<38} {best:8.3f} s   peak RSS {peak_mb():8.0f} MB")
    return out, best


def sample(repeat: int) -> None:
    print("sample (151 communes, 240 points, 250 m cells)")
    communes = read_communes(ROOT / "data" / "boundaries" / "communes.geojson").frame
    points = read_points(ROOT / "data" / "points" / "service_points.csv").frame
    bench = load_benchmark("vn-national-2024")
    del bench
    surface, _ = timed(
        "population grid", build_population_grid, communes, cell_m=250, repeat=repeat
    )
    print(f"    {len(surface):,} populated cells")
    result, _ = timed(
        "distances + aggregation",
        compute_access,
        communes,
        points,
        thresholds_km=(2, 3, 5),
        surface=surface,
        repeat=repeat,
    )
    zones, _ = timed(
        "uncovered zones (5 km)",
        uncovered_zones,
        surface,
        result.dist_m,
        threshold_km=5,
        repeat=repeat,
    )
    print(f"    {len(zones)} zones, {zones['population'].sum():,.0f} people")
    timed(
        "catchments",
        point_catchments,
        communes,
        points,
        surface,
        result.nearest_idx,
        repeat=repeat,
    )


def large(n_cells: int, n_points: int, repeat: int) -> None:
    print(f"synthetic: {n_cells:,} cells, {n_points:,} points")
    rng = np.random.default_rng(42)
    width, height = 330_000.0, 1_000_000.0
    cells = np.column_stack(
        [rng.uniform(0, width, n_cells), rng.uniform(0, height, n_cells)]
    )
    pts = np.column_stack(
        [rng.uniform(0, width, n_points), rng.uniform(0, height, n_points)]
    )
    (dist, _idx), best = timed(
        "distances (cKDTree build + query)",
        nearest_distance_m,
        cells,
        pts,
        repeat=repeat,
    )
    verdict = "PASS" if best < 2.0 else "FAIL"
    print(f"    target < 2 s for 1,000,000 cells: {best:.3f} s  {verdict}")
    pop = rng.uniform(0, 200, n_cells)
    groups = rng.integers(0, 10_600, n_cells)
    timed(
        "aggregation to 10,600 communes",
        aggregate_access,
        dist,
        pop,
        groups,
        thresholds_km=(2, 3, 5),
        repeat=repeat,
    )
    print(f"    mean distance {np.average(dist, weights=pop) / 1000:.2f} km")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=13_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sample(args.repeat)
    large(args.cells, args.points, args.repeat)


if __name__ == "__main__":
    main()
