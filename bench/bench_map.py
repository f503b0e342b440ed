"""Size and write time of the gap map: the bundled sample and a national-scale layer.

Usage: /work/venv/bin/python bench/bench_map.py [--communes 10600] [--points 13000]
       [--out bench/national]

The national layer is synthetic: Voronoi cells of random seeds over a
330,000 km2 rectangle placed on Vietnam, with fabricated populations and metric
columns computed by coverage.metrics.derive_metrics. Targets: sample < 2 MB,
national < 15 MB written in < 10 s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.benchmarks import load_benchmark
from coverage.maps import build_map, write_map
from coverage.metrics import derive_metrics

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["post_office", "culture_post", "agent", "letter_box", "delivery", "other"]


def national_layers(
    n_communes: int, n_points: int, seed: int = 1
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    width, height = 330_000.0, 1_000_000.0  # metres, 330,000 km2
    seeds = shapely.points(
        np.column_stack(
            [rng.uniform(0, width, n_communes), rng.uniform(0, height, n_communes)]
        )
    )
    frame = shapely.box(0, 0, width, height)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    )
    cells = shapely.intersection(cells, frame)
    # real boundaries have many vertices: densify to about 100 m spacing
    cells = shapely.segmentize(cells, 100.0)
    # UTM 48N: x from 300 km, y from 1,000 km (about 9°N-18°N)
    cells = shapely.transform(cells, lambda c: c + np.array([300_000.0, 1_000_000.0]))
    communes = gpd.GeoDataFrame(geometry=cells, crs=32648)
    n = len(communes)
    communes["commune_code"] = [f"{i:05d}" for i in range(n)]
    communes["commune_name"] = [f"Xã Thử Nghiệm {i}" for i in range(n)]
    communes["district_name"] = [f"Huyện {i // 12}" for i in range(n)]
    communes["province_name"] = [f"Tỉnh {i // 170}" for i in range(n)]
    communes["population"] = rng.lognormal(8.9, 0.6, n).astype(np.int64)
    # points: mostly inside communes near their seed, some communes get none
    owner = rng.integers(0, n, n_points)
    centres = shapely.get_coordinates(shapely.point_on_surface(cells))
    xy = centres[owner] + rng.normal(0, 800, (n_points, 2))
    points = gpd.GeoDataFrame(
        {
            "point_id": [f"P{i}" for i in range(n_points)],
            "name": [f"Điểm {i}" for i in range(n_points)],
            "kind": rng.choice(KINDS, n_points, p=[0.15, 0.5, 0.2, 0.05, 0.05, 0.05]),
            "staffed": rng.random(n_points) < 0.8,
            "admin_services": rng.random(n_points) < 0.4,
            "commune_code": communes["commune_code"].to_numpy()[owner],
        },
        geometry=shapely.points(xy),
        crs=32648,
    )
    communes = gpd.GeoDataFrame(
        _metrics(communes, points), geometry=communes.geometry, crs=communes.crs
    )
    return communes, points


def _metrics(communes: gpd.GeoDataFrame, points: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(communes.drop(columns="geometry"))
    table["area_km2"] = communes.geometry.area.to_numpy() / 1e6
    grouped = points.groupby("commune_code").agg(
        n_points=("point_id", "size"),
        n_staffed=("staffed", "sum"),
        n_admin_services=("admin_services", "sum"),
    )
    for col in grouped.columns:
        table[col] = table["commune_code"].map(grouped[col]).fillna(0).astype(np.int64)
    return derive_metrics(table, load_benchmark("vn-national-2024"))


def sample_layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None:
    boundaries = ROOT / "data" / "boundaries" / "communes.geojson"
    points_csv = ROOT / "data" / "points" / "service_points.csv"
    if not boundaries.is_file():
        return None
    from coverage import io
    from coverage.metrics import compute_commune_metrics

    communes = io.read_communes(boundaries).frame
    points = io.read_points(points_csv).frame
    assigned, _notes = io.assign_points(points, communes)
    metrics = compute_commune_metrics(
        communes, assigned, load_benchmark("vn-national-2024")
    )
    return metrics, assigned


def measure(name: str, communes, points, out: Path, *, offline: bool = False) -> None:
    bench = load_benchmark("vn-national-2024")
    t0 = time.perf_counter()
    fmap = build_map(communes, points, benchmark=bench, title=name)
    t1 = time.perf_counter()
    assets = ROOT / "tests" / "browser" / "node_modules"
    path = write_map(fmap, out / f"{name}.html", offline=offline, assets_dir=assets)
    t2 = time.perf_counter()
    size = path.stat().st_size / 1e6
    print(
        f"{name:<22} communes {len(communes):>6}  points {len(points):>6}  "
        f"size {size:7.2f} MB  build {t1 - t0:5.2f} s  write {t2 - t1:5.2f} s  "
        f"total {t2 - t0:5.2f} s  -> {path}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=10_600)
    parser.add_argument("--points", type=int, default=13_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "national")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sample = sample_layers()
    if sample is None:
        print("sample: data/ missing, skipped")
    else:
        measure("sample", *sample, args.out)
        if (ROOT / "tests" / "browser" / "node_modules" / "leaflet").is_dir():
            measure("sample_offline", *sample, args.out, offline=True)
    t0 = time.perf_counter()
    communes, points = national_layers(args.communes, args.points)
    print(f"(national layer generated in {time.perf_counter() - t0:.1f} s)")
    measure("national", communes, points, args.out)


if __name__ == "__main__":
    main()
