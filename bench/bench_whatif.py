"""Time per click of the map's what-if, measured in Chromium, and the map's size.

Usage: python bench/bench_whatif.py [--boundaries B --points P] [--clicks 200]
       [--benchmark vn-national-2024] [--cell-m 250]

Runs ``coverage.pipeline.analyze`` (default: the bundled sample, 151 communes,
about 73,000 cells at 250 m), writes the gap map with and without the what-if
data, opens the what-if map in headless Chromium (``$CHROMIUM``, default
/usr/bin/chromium) and adds points at random places inside random communes,
then removes them, timing each edit in the page (``performance.now()`` around
the recomputation and the redraw of the figures). Target: under 100 ms per
click for a province-sized map.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from coverage.benchmarks import load_benchmark
from coverage.maps import build_map, whatif_from_access, write_map
from coverage.pipeline import AccessOptions, analyze, find_sample

__all__ = ["main"]


def _spots(communes, n: int, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    geoms = communes.to_crs(4326).geometry.to_numpy()
    picks = rng.integers(0, len(geoms), n)
    reps = shapely.point_on_surface(geoms[picks])
    jitter = rng.uniform(-0.002, 0.002, (n, 2))
    return [
        (float(p.y + j[1]), float(p.x + j[0]))
        for p, j in zip(reps, jitter, strict=True)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries")
    parser.add_argument("--points")
    parser.add_argument("--benchmark", default="vn-national-2024")
    parser.add_argument("--cell-m", type=float, default=250.0)
    parser.add_argument("--clicks", type=int, default=200)
    args = parser.parse_args(argv)
    if args.boundaries and args.points:
        boundaries, points = Path(args.boundaries), Path(args.points)
    else:
        found = find_sample()
        if found is None:
            print("sample data not found", file=sys.stderr)
            return 1
        boundaries, points = found
    bench = load_benchmark(args.benchmark)
    t0 = time.perf_counter()
    analysis = analyze(
        boundaries, points, benchmark=bench, access=AccessOptions(cell_m=args.cell_m)
    )
    print(
        f"analyze: {time.perf_counter() - t0:.1f} s, {len(analysis.communes):,} "
        f"communes, {len(analysis.access.surface):,} cells, "
        f"{len(analysis.points):,} points"
    )
    out = Path(tempfile.mkdtemp(prefix="bench_whatif_"))
    sizes = {}
    for name, whatif in (
        ("plain", None),
        ("whatif", whatif_from_access(analysis.access, analysis.points)),
    ):
        fmap = build_map(
            analysis.communes,
            analysis.points,
            benchmark=bench,
            uncovered=analysis.zones,
            access_threshold_km=analysis.zone_threshold_km,
            whatif=whatif,
        )
        sizes[name] = write_map(fmap, out / f"{name}.html").stat().st_size
        # the browser has no network here: Leaflet inlined
        write_map(fmap, out / f"{name}_offline.html", offline=True)
    print(
        f"map size: {sizes['plain'] / 1e6:.2f} MB without what-if, "
        f"{sizes['whatif'] / 1e6:.2f} MB with (Leaflet from the CDN)"
    )
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    spots = _spots(analysis.communes, args.clicks, seed=5)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route("http*://**", lambda route: route.abort())
        page.goto((out / "whatif_offline.html").as_uri())
        page.wait_for_function("window.coverageWhatIf !== undefined", timeout=60000)
        timings = page.evaluate(
            """spots => { const w = window.coverageWhatIf, add = [], rem = [];
            const ids = spots.map(s => { const i = w.add(s[0], s[1]);
              add.push(w.lastMs()); return i; });
            ids.reverse().forEach(i => { w.remove(i); rem.push(w.lastMs()); });
            return [add, rem]; }""",
            spots,
        )
        browser.close()
    for label, values in zip(("add", "remove"), timings, strict=True):
        ms = np.asarray(values, dtype=float)
        print(
            f"{label} a point: median {np.median(ms):.1f} ms, "
            f"p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms "
            f"over {len(ms)} edits"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
