"""Generate a SYNTHETIC national dataset (Vietnam-like) for the national benchmarks.

Two shapes of the same made-up country:

* ``pre2025``: about 10,600 communes in 63 provinces and about 700 districts
  (columns ``ma_xa, ten_xa, ten_huyen, ten_tinh, dan_so``);
* ``post2025``: about 3,321 communes in 34 provinces, no district column.

Nothing is real: a rough outline of Vietnam (about 331,000 km²) is tiled by the
Voronoi cells of seeds drawn from a population-density field (dense cities at the
provincial capitals, deltas, thin uplands), so urban wards are small and dense.
Provinces grow from their capitals over the commune adjacency graph (multi-source
shortest paths), so each is a contiguous group of communes; districts grow the same
way inside their province. Edges are segmentized (about 150 m) in a canonical
direction and bent by a smooth displacement field, so neighbouring communes share
every vertex exactly. Populations (about 100 million) come from the density field
times area with noise, rounded to integers that sum exactly to the target. Service
points (13,000 by default) are placed inside their commune, in the format of
``data/points/service_points.csv``.

Usage::

    python bench/make_national.py --shape pre2025 --out bench/national/pre2025
    python bench/make_national.py --shape post2025 --points 27000 --out DIR
    python bench/make_national.py --shape post2025 --islands --out DIR

``--islands`` adds far offshore island communes (:func:`add_islands`): two
archipelago communes of many islets spread over hundreds of km (like Hoàng Sa and
Trường Sa, out to 117.4°E) and a few single-island communes, so the layer's extent
is like Vietnam's real one while its land area barely changes.

Writes ``DIR/communes.gpkg`` (EPSG:4326, layer ``communes``) and
``DIR/service_points.csv`` (UTF-8 with BOM). The output is the same on every run
with the same seed and library versions.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay, cKDTree

__all__ = ["SHAPES", "NationalData", "add_islands", "generate", "main", "write"]

SEED = 20250701
TARGET_AREA_KM2 = 331_000.0
TARGET_POPULATION = 100_000_000
SEGMENT_M = 150.0
LON0, LAT0 = 106.0, 16.0

# Rough outline of Vietnam (lon, lat), clockwise from the north-west corner.
_OUTLINE = (
    (102.14, 22.40), (102.70, 22.70), (103.50, 22.70), (104.10, 22.80),
    (104.80, 22.90), (105.35, 23.35), (106.00, 22.95), (106.70, 22.85),
    (106.65, 22.35), (107.35, 21.70), (108.00, 21.50), (107.40, 21.00),
    (106.70, 20.60), (106.20, 19.95), (105.90, 19.30), (105.70, 18.80),
    (106.40, 18.10), (106.70, 17.40), (107.20, 16.80), (108.20, 16.10),
    (108.80, 15.30), (109.10, 14.50), (109.30, 13.50), (109.35, 12.50),
    (109.20, 11.70), (108.80, 11.20), (108.00, 10.70), (107.00, 10.40),
    (106.70, 10.20), (106.40, 9.60), (105.80, 8.90), (105.00, 8.55),
    (104.75, 8.70), (104.85, 9.60), (104.50, 10.40), (105.10, 10.95),
    (105.80, 11.00), (106.20, 11.60), (106.50, 11.90), (107.50, 12.30),
    (107.55, 13.00), (107.45, 14.00), (107.55, 14.70), (107.30, 15.40),
    (106.70, 16.30), (106.50, 16.60), (105.70, 17.30), (105.10, 18.10),
    (104.50, 18.70), (103.90, 19.25), (104.00, 19.80), (104.50, 19.95),
    (104.10, 20.40), (103.60, 20.70), (103.20, 20.85), (102.80, 21.40),
    (102.65, 21.70), (102.20, 21.50),
)  # fmt: skip

# Provinces before July 2025: name, capital (lon, lat), city kernel class.
_PROVINCES_PRE = (
    ("Thành phố Hà Nội", 105.85, 21.03, 2), ("Tỉnh Hà Giang", 104.98, 22.82, 0),
    ("Tỉnh Cao Bằng", 106.25, 22.67, 0), ("Tỉnh Bắc Kạn", 105.83, 22.15, 0),
    ("Tỉnh Tuyên Quang", 105.22, 21.82, 0), ("Tỉnh Lào Cai", 103.97, 22.48, 0),
    ("Tỉnh Điện Biên", 103.02, 21.39, 0), ("Tỉnh Lai Châu", 103.46, 22.40, 0),
    ("Tỉnh Sơn La", 103.91, 21.33, 0), ("Tỉnh Yên Bái", 104.87, 21.72, 0),
    ("Tỉnh Hòa Bình", 105.34, 20.82, 0), ("Tỉnh Thái Nguyên", 105.84, 21.59, 0),
    ("Tỉnh Lạng Sơn", 106.76, 21.85, 0), ("Tỉnh Quảng Ninh", 107.08, 20.95, 0),
    ("Tỉnh Bắc Giang", 106.19, 21.27, 0), ("Tỉnh Phú Thọ", 105.40, 21.32, 0),
    ("Tỉnh Vĩnh Phúc", 105.60, 21.31, 0), ("Tỉnh Bắc Ninh", 106.07, 21.18, 0),
    ("Tỉnh Hải Dương", 106.33, 20.94, 0), ("Thành phố Hải Phòng", 106.68, 20.86, 1),
    ("Tỉnh Hưng Yên", 106.05, 20.65, 0), ("Tỉnh Thái Bình", 106.34, 20.45, 0),
    ("Tỉnh Hà Nam", 105.92, 20.54, 0), ("Tỉnh Nam Định", 106.17, 20.42, 0),
    ("Tỉnh Ninh Bình", 105.97, 20.25, 0), ("Tỉnh Thanh Hóa", 105.78, 19.81, 0),
    ("Tỉnh Nghệ An", 105.68, 18.67, 0), ("Tỉnh Hà Tĩnh", 105.89, 18.34, 0),
    ("Tỉnh Quảng Bình", 106.60, 17.47, 0), ("Tỉnh Quảng Trị", 107.10, 16.75, 0),
    ("Tỉnh Thừa Thiên Huế", 107.59, 16.46, 0), ("Thành phố Đà Nẵng", 108.21, 16.05, 1),
    ("Tỉnh Quảng Nam", 108.47, 15.57, 0), ("Tỉnh Quảng Ngãi", 108.80, 15.12, 0),
    ("Tỉnh Bình Định", 109.20, 13.77, 0), ("Tỉnh Phú Yên", 109.28, 13.09, 0),
    ("Tỉnh Khánh Hòa", 109.17, 12.24, 0), ("Tỉnh Ninh Thuận", 108.99, 11.57, 0),
    ("Tỉnh Bình Thuận", 108.10, 10.93, 0), ("Tỉnh Kon Tum", 108.00, 14.35, 0),
    ("Tỉnh Gia Lai", 108.00, 13.98, 0), ("Tỉnh Đắk Lắk", 108.04, 12.67, 0),
    ("Tỉnh Đắk Nông", 107.69, 12.00, 0), ("Tỉnh Lâm Đồng", 108.44, 11.94, 0),
    ("Tỉnh Bình Phước", 106.89, 11.53, 0), ("Tỉnh Tây Ninh", 106.10, 11.31, 0),
    ("Tỉnh Bình Dương", 106.65, 10.98, 0), ("Tỉnh Đồng Nai", 106.82, 10.95, 0),
    ("Tỉnh Bà Rịa - Vũng Tàu", 107.17, 10.50, 0),
    ("Thành phố Hồ Chí Minh", 106.70, 10.78, 2), ("Tỉnh Long An", 106.41, 10.54, 0),
    ("Tỉnh Tiền Giang", 106.36, 10.36, 0), ("Tỉnh Bến Tre", 106.38, 10.24, 0),
    ("Tỉnh Trà Vinh", 106.34, 9.93, 0), ("Tỉnh Vĩnh Long", 105.97, 10.25, 0),
    ("Tỉnh Đồng Tháp", 105.63, 10.46, 0), ("Tỉnh An Giang", 105.44, 10.39, 0),
    ("Tỉnh Kiên Giang", 105.08, 10.01, 0), ("Thành phố Cần Thơ", 105.78, 10.03, 1),
    ("Tỉnh Hậu Giang", 105.47, 9.78, 0), ("Tỉnh Sóc Trăng", 105.97, 9.60, 0),
    ("Tỉnh Bạc Liêu", 105.72, 9.29, 0), ("Tỉnh Cà Mau", 105.15, 9.18, 0),
)  # fmt: skip

# Provinces from July 2025: name and the seat of its government (lon, lat).
_PROVINCES_POST = (
    ("Thành phố Hà Nội", 105.85, 21.03), ("Thành phố Huế", 107.59, 16.46),
    ("Tỉnh Lai Châu", 103.46, 22.40), ("Tỉnh Điện Biên", 103.02, 21.39),
    ("Tỉnh Sơn La", 103.91, 21.33), ("Tỉnh Lạng Sơn", 106.76, 21.85),
    ("Tỉnh Quảng Ninh", 107.08, 20.95), ("Tỉnh Thanh Hóa", 105.78, 19.81),
    ("Tỉnh Nghệ An", 105.68, 18.67), ("Tỉnh Hà Tĩnh", 105.89, 18.34),
    ("Tỉnh Cao Bằng", 106.25, 22.67), ("Tỉnh Tuyên Quang", 105.22, 21.82),
    ("Tỉnh Lào Cai", 104.87, 21.72), ("Tỉnh Thái Nguyên", 105.84, 21.59),
    ("Tỉnh Phú Thọ", 105.40, 21.32), ("Tỉnh Bắc Ninh", 106.19, 21.27),
    ("Tỉnh Hưng Yên", 106.05, 20.65), ("Thành phố Hải Phòng", 106.68, 20.86),
    ("Tỉnh Ninh Bình", 105.97, 20.25), ("Tỉnh Quảng Trị", 106.60, 17.47),
    ("Thành phố Đà Nẵng", 108.21, 16.05), ("Tỉnh Quảng Ngãi", 108.80, 15.12),
    ("Tỉnh Gia Lai", 109.20, 13.77), ("Tỉnh Khánh Hòa", 109.17, 12.24),
    ("Tỉnh Lâm Đồng", 108.44, 11.94), ("Tỉnh Đắk Lắk", 108.04, 12.67),
    ("Thành phố Hồ Chí Minh", 106.70, 10.78), ("Tỉnh Đồng Nai", 106.82, 10.95),
    ("Tỉnh Tây Ninh", 106.41, 10.54), ("Thành phố Cần Thơ", 105.78, 10.03),
    ("Tỉnh Vĩnh Long", 105.97, 10.25), ("Tỉnh Đồng Tháp", 106.36, 10.36),
    ("Tỉnh Cà Mau", 105.15, 9.18), ("Tỉnh An Giang", 105.08, 10.01),
)  # fmt: skip

_FIRST_SYLLABLES = (
    "Tân Hòa Phú Yên Thanh Đông Tây Nam Bắc An Bình Long Phước Mỹ Vĩnh Hưng Trung "
    "Quang Xuân Hải Sơn Lạc Kim Ngọc Đức Minh Thạnh Thuận Hiệp Lộc Hồng Cẩm Đại "
    "Phong Hợp Tiến Nghĩa Thái Định Quỳnh Mường Chiềng Nà Bản Gia Cao Hoàng Lê"
)
_SECOND_SYLLABLES = (
    "Lập Hòa Thành Sơn Lợi Phú Hưng Thịnh Lộc An Bình Tiến Mỹ Thủy Lâm Hải Long "
    "Phong Trung Điền Khánh Xuân Hiệp Thuận Đông Tân Vinh Yên Nguyên Quang Cường "
    "Lương Phúc Đức Châu Giang Thượng Hạ Đồng Tâm Chánh Nhơn Mai Lĩnh Vân"
)
_SYLLABLES_A = _FIRST_SYLLABLES.split()
_SYLLABLES_B = _SECOND_SYLLABLES.split()

SHAPES = {
    "pre2025": {"n_communes": 10_600, "districts": True},
    "post2025": {"n_communes": 3_321, "districts": False},
}

_LAEA = CRS.from_proj4(
    f"+proj=laea +lat_0={LAT0} +lon_0={LON0} +x_0=0 +y_0=0 "
    "+ellps=WGS84 +units=m +no_defs"
)
_TO_METRIC = Transformer.from_crs("EPSG:4326", _LAEA, always_xy=True)
_TO_LONLAT = Transformer.from_crs(_LAEA, "EPSG:4326", always_xy=True)


@dataclass
class NationalData:
    """A generated national dataset.

    Attributes
    ----------
    communes : geopandas.GeoDataFrame
        EPSG:4326 polygons with ``ma_xa, ten_xa, [ten_huyen], ten_tinh, dan_so``.
    points : pandas.DataFrame
        Service points in the columns of ``data/points/service_points.csv``.
    """

    communes: gpd.GeoDataFrame
    points: pd.DataFrame


def _metric(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.column_stack(_TO_METRIC.transform(lon, lat))


def _density(xy: np.ndarray, cities: np.ndarray, city_class: np.ndarray) -> np.ndarray:
    """People per km² at metric points: uplands, deltas and city kernels."""
    lon, lat = _TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    lon, lat = np.asarray(lon), np.asarray(lat)
    dens = np.full(len(xy), 140.0)
    dens[(lon < 105.0) & (lat > 20.3)] *= 0.35  # north-western uplands
    dens[(lon > 105.3) & (lon < 106.6) & (lat > 21.6)] *= 0.5  # north-east
    dens[(lon > 107.4) & (lon < 108.7) & (lat > 11.4) & (lat < 15.0)] *= 0.55
    deltas = _metric(np.array([106.1, 105.8]), np.array([20.7, 10.1]))
    for (cx, cy), peak, sigma in zip(
        deltas, (900.0, 380.0), (60e3, 110e3), strict=True
    ):
        dens += peak * np.exp(
            -0.5 * ((xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2) / sigma**2
        )
    kernels = {0: ((4_000.0, 2_500.0),), 1: ((10_000.0, 4_000.0), (1_500.0, 12e3))}
    kernels[2] = ((28_000.0, 5_000.0), (4_000.0, 15e3), (800.0, 40e3))
    tree = cKDTree(xy)
    for (cx, cy), cls in zip(cities, city_class, strict=True):
        for peak, sigma in kernels[int(cls)]:
            near = tree.query_ball_point((cx, cy), 5.0 * sigma)
            if near:
                near = np.asarray(near)
                d2 = (xy[near, 0] - cx) ** 2 + (xy[near, 1] - cy) ** 2
                dens[near] += peak * np.exp(-0.5 * d2 / sigma**2)
    return dens


def _outline() -> shapely.Polygon:
    lon, lat = np.array(_OUTLINE).T
    return shapely.Polygon(_metric(lon, lat))


def _spread_subset(xy: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` well-spread rows of ``xy`` (farthest-point order from row 0)."""
    chosen = [0]
    dist = np.linalg.norm(xy - xy[0], axis=1)
    for _ in range(k - 1):
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(xy - xy[i], axis=1))
    return np.sort(np.array(chosen))


def _canonical_segmentize(cells: np.ndarray, step_m: float) -> np.ndarray:
    """Densify polygon rings so that shared edges get identical vertices on both sides.

    Each segment is split from its lexicographically smaller end, so the two cells
    of a shared edge compute the same points whatever their ring direction.
    """
    rings = shapely.get_exterior_ring(cells)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b, r = coords[:-1][same], coords[1:][same], ring[:-1][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    n = np.maximum(1, np.ceil(np.hypot(*(hi - lo).T) / step_m)).astype(np.int64)
    seg = np.repeat(np.arange(len(n)), n)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n)
    m = np.where(swap[seg], n[seg] - j, j)
    pts = lo[seg] + (hi[seg] - lo[seg]) * (m / n[seg])[:, None]
    return shapely.polygons(shapely.linearrings(pts, indices=r[seg]))


def _displacement(rng: np.random.Generator):
    """Return a smooth random displacement (metres) small enough not to fold over."""
    n_waves = 10
    wavenumber = 2.0 * np.pi / rng.uniform(4_000.0, 40_000.0, n_waves)
    direction = rng.uniform(0.0, 2.0 * np.pi, n_waves)
    wave = wavenumber[:, None] * np.column_stack([np.cos(direction), np.sin(direction)])
    amplitude = 0.06 / wavenumber
    phase = rng.uniform(0.0, 2.0 * np.pi, n_waves)
    axis = rng.uniform(0.0, 2.0 * np.pi, n_waves)
    unit = np.column_stack([np.cos(axis), np.sin(axis)])

    def displace(xy: np.ndarray) -> np.ndarray:
        shift = np.sin(xy @ wave.T + phase) * amplitude
        return xy + shift @ unit

    return displace


def _grow_regions(
    edges: np.ndarray, weight: np.ndarray, n: int, sources: np.ndarray
) -> np.ndarray:
    """Label every node with its nearest source along the graph (contiguous regions)."""
    graph = coo_matrix(
        (
            np.concatenate([weight, weight]),
            (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]),
        ),
        shape=(n, n),
    ).tocsr()
    _, _, nearest = dijkstra(
        graph, directed=False, indices=sources, min_only=True, return_predecessors=True
    )
    if (nearest < 0).any():
        msg = "the commune graph is not connected; choose another seed"
        raise RuntimeError(msg)
    return np.argsort(sources)[np.searchsorted(np.sort(sources), nearest)]


def _kmeans_sources(
    xy: np.ndarray, members: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Pick ``k`` member nodes near the k-means centres of ``xy[members]``."""
    pts = xy[members]
    centres = pts[rng.choice(len(pts), k, replace=False)]
    for _ in range(8):
        _, lab = cKDTree(centres).query(pts)
        counts = np.bincount(lab, minlength=k)
        sums = np.zeros((k, 2))
        np.add.at(sums, lab, pts)
        ok = counts > 0
        centres[ok] = sums[ok] / counts[ok, None]
    tree = cKDTree(pts)
    picked: list[int] = []
    for c in centres:
        _, order = tree.query(c, k=min(len(pts), k + 1))
        for i in np.atleast_1d(order):
            if int(i) not in picked:
                picked.append(int(i))
                break
    return members[np.array(picked)]


def _names(rng: np.random.Generator, n: int, *, unique: bool = False) -> np.ndarray:
    """Two-syllable place names; distinct when ``unique`` (and there are enough)."""
    combos = len(_SYLLABLES_A) * len(_SYLLABLES_B)
    pick = rng.choice(combos, n, replace=not unique or n > combos)
    a, b = np.divmod(pick, len(_SYLLABLES_B))
    return np.array(
        [f"{_SYLLABLES_A[i]} {_SYLLABLES_B[j]}" for i, j in zip(a, b, strict=True)]
    )


def _integer_total(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total``."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    out[np.argsort(out - raw, kind="stable")[:short]] += 1
    return out


def generate(
    shape: str = "pre2025",
    *,
    n_communes: int | None = None,
    n_provinces: int | None = None,
    n_points: int = 13_000,
    population: int = TARGET_POPULATION,
    area_km2: float = TARGET_AREA_KM2,
    segment_m: float = SEGMENT_M,
    seed: int = SEED,
) -> NationalData:
    """Generate the synthetic national communes and service points.

    Parameters
    ----------
    shape
        ``"pre2025"`` (with districts) or ``"post2025"`` (without).
    n_communes
        Number of communes (default 10,600 or 3,321 by shape).
    n_provinces
        Number of provinces (default 63 or 34 by shape; fewer picks a spread subset
        of the capitals).
    n_points
        Number of service points.
    population
        Total population (the sum of ``dan_so`` is exactly this).
    area_km2
        Total area; the tiling is scaled to it.
    segment_m
        Longest edge segment, metres (vertex density of the boundaries).
    seed
        Seed of the random generator.

    Returns
    -------
    NationalData
    """
    if shape not in SHAPES:
        msg = f"shape must be one of {', '.join(SHAPES)}"
        raise ValueError(msg)
    spec = SHAPES[shape]
    rng = np.random.default_rng(seed)
    n = int(n_communes or spec["n_communes"])
    table = _PROVINCES_PRE if shape == "pre2025" else _PROVINCES_POST
    n_prov = int(n_provinces or len(table))
    if not 1 <= n_prov <= len(table) or n < 4 * n_prov:
        msg = f"need 1..{len(table)} provinces and at least 4 communes per province"
        raise ValueError(msg)
    outline = _outline()
    # shrink by an inward buffer, not a scale, so that the capitals stay in place
    inset = 0.0
    for _ in range(3):
        inset += (outline.buffer(-inset, join_style="mitre").area - area_km2 * 1e6) / (
            outline.length
        )
    outline = outline.buffer(-inset, join_style="mitre")
    if outline.geom_type != "Polygon":
        outline = max(shapely.get_parts(outline), key=lambda g: g.area)
    cities = _metric(*np.array([p[1:3] for p in _PROVINCES_PRE]).T)
    city_class = np.array([p[3] for p in _PROVINCES_PRE])
    capitals = _metric(*np.array([p[1:3] for p in table]).T)
    chosen_prov = _spread_subset(capitals, n_prov)
    prov_names = [table[i][0] for i in chosen_prov]
    capitals = capitals[chosen_prov]

    # seeds: weighted sample without replacement (Efraimidis-Spirakis keys)
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds
    n_cand = max(60 * n, 200_000)
    cand = rng.uniform((minx, miny), (maxx, maxy), (int(n_cand * 2.6), 2))
    cand = cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])][:n_cand]
    weight = _density(cand, cities, city_class) ** 0.7
    keys = np.log(rng.uniform(size=len(cand))) / weight
    seeds = cand[np.argpartition(-keys, n)[:n]]
    # every capital gets the seed nearest to it
    tree = cKDTree(seeds)
    taken: set[int] = set()
    cap_seed = []
    for c in capitals:
        _, order = tree.query(c, k=min(n, 8))
        i = next(int(i) for i in np.atleast_1d(order) if int(i) not in taken)
        taken.add(i)
        cap_seed.append(i)
    cap_seed = np.array(cap_seed)

    # Voronoi cells clipped to the outline; stray parts beyond notches are dropped
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=shapely.box(*outline.buffer(1e5).bounds)
    )
    cells_raw = shapely.get_parts(diagram)
    cell_of_seed = shapely.STRtree(cells_raw).query(
        shapely.points(seeds), predicate="within"
    )
    order = np.empty(n, dtype=np.int64)
    order[cell_of_seed[0]] = cell_of_seed[1]
    cells = shapely.intersection(cells_raw[order], outline)
    parts, owner = shapely.get_parts(cells, return_index=True)
    keep = shapely.contains_xy(parts, seeds[owner, 0], seeds[owner, 1])
    cells = np.empty(n, dtype=object)
    cells[owner[keep]] = parts[keep]
    cells = shapely.set_precision(cells, 0.01)

    # adjacency: Delaunay neighbours whose clipped cells share an edge
    tri = Delaunay(seeds)
    e = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]],
                   tri.simplices[:, [2, 0]]])  # fmt: skip
    e = np.unique(np.sort(e, axis=1), axis=0)
    shared = shapely.length(shapely.intersection(cells[e[:, 0]], cells[e[:, 1]])) > 1.0
    e = e[shared]
    length = np.linalg.norm(seeds[e[:, 0]] - seeds[e[:, 1]], axis=1)
    w = length * rng.uniform(0.7, 1.6, len(e))
    province = _grow_regions(e, w, n, cap_seed)

    district = None
    if spec["districts"]:
        counts = np.bincount(province, minlength=n_prov)
        sources = [cap_seed]
        for p in range(n_prov):
            k = max(1, round(counts[p] / 15.0)) - 1
            members = np.setdiff1d(np.flatnonzero(province == p), cap_seed)
            if k > 0 and len(members) > k:
                sources.append(_kmeans_sources(seeds, members, k, rng))
        src = np.concatenate(sources)
        inside = province[e[:, 0]] == province[e[:, 1]]
        district = _grow_regions(e[inside], w[inside], n, src)

    # boundaries: densify, bend, scale to the target area, to lon/lat
    displace = _displacement(rng)
    cells = shapely.transform(_canonical_segmentize(cells, segment_m), displace)
    area = shapely.area(cells)
    fix = np.sqrt(area_km2 * 1e6 / area.sum())
    area = area * fix**2 / 1e6
    cells = shapely.transform(
        cells, lambda xy: np.column_stack(_TO_LONLAT.transform(*(xy * fix).T))
    )
    cells = shapely.set_precision(cells, 1e-7)
    seeds_m = displace(seeds) * fix

    # population: density at the seed times area, with noise; exact integer total
    dens = _density(seeds, cities, city_class)
    pop = _integer_total(dens * area * rng.lognormal(0.0, 0.3, n), population)

    # order: by province (capital first), district, then north to south
    _, lat = _TO_LONLAT.transform(*seeds_m.T)
    dkey = district if district is not None else np.zeros(n, dtype=np.int64)
    idx = np.lexsort((-np.asarray(lat), dkey, province))
    codes = np.array([f"{3 * i + 1:05d}" for i in range(n)])
    urban = dens > 2_500.0
    names = _names(rng, n)
    prefix = np.where(urban, "Phường", "Xã")
    cols: dict[str, np.ndarray] = {}
    cols["ma_xa"] = codes
    ten_xa = np.char.add(np.char.add(prefix[idx].astype(str), " "), names[idx])
    if district is not None:
        d_names = _names(rng, int(district.max()) + 1, unique=True)
        d_urban = np.bincount(district, weights=urban, minlength=len(d_names))
        d_size = np.bincount(district, minlength=len(d_names))
        seat = np.zeros(len(d_names), dtype=bool)
        seat[np.arange(n_prov)] = True  # the first sources are the capitals
        d_prefix = np.where(
            seat, "Thành phố", np.where(d_urban > 0.6 * d_size, "Quận", "Huyện")
        )
        ten_huyen = np.char.add(np.char.add(d_prefix.astype(str), " "), d_names)
        town = np.zeros(n, dtype=bool)
        town[src] = True
        is_town = town[idx] & ~urban[idx]
        ten_xa = np.where(
            is_town, np.char.replace(ten_xa, "Xã ", "Thị trấn ", 1), ten_xa
        )
        cols["ten_xa"] = ten_xa
        cols["ten_huyen"] = ten_huyen[district[idx]]
    else:
        cols["ten_xa"] = ten_xa
    cols["ten_tinh"] = np.array(prov_names)[province[idx]]
    cols["dan_so"] = pop[idx]
    communes = gpd.GeoDataFrame(cols, geometry=cells[idx], crs="EPSG:4326")
    points = _points(communes, urban[idx], rng, n_points)
    return NationalData(communes, points)


def _points(
    communes: gpd.GeoDataFrame,
    urban: np.ndarray,
    rng: np.random.Generator,
    n_points: int,
) -> pd.DataFrame:
    """Service points: most communes get one; the rest follow population."""
    n = len(communes)
    pop = communes["dan_so"].to_numpy(float)
    base = rng.uniform(size=n) < 0.93
    if base.sum() > n_points:
        base[:] = False
        base[rng.choice(n, n_points, replace=False)] = True
    extra = n_points - int(base.sum())
    share = pop**1.15
    counts = base.astype(np.int64) + rng.multinomial(extra, share / share.sum())
    where = np.repeat(np.arange(n), counts)
    first = np.r_[True, where[1:] != where[:-1]]
    u = rng.uniform(size=len(where))
    kind = np.where(
        first,
        np.where(urban[where], "post_office", "culture_post"),
        np.select(
            [u < 0.35, u < 0.75, u < 0.88, u < 0.95],
            ["post_office", "agent", "culture_post", "letter_box"],
            "delivery",
        ),
    )
    staffed = (kind != "letter_box") & ~((kind == "culture_post") & (u < 0.12))
    admin = (kind == "post_office") | ((kind == "culture_post") & staffed & (u > 0.55))
    operator = np.where(
        (kind == "agent") & (u < 0.6),
        "Viettel Post",
        np.where(kind == "agent", "J&T Express", "Tổng công ty Bưu điện Việt Nam"),
    )
    geoms = communes.geometry.to_numpy()
    rep = shapely.point_on_surface(geoms)
    cx, cy = shapely.get_x(rep)[where], shapely.get_y(rep)[where]
    bx = shapely.bounds(geoms)[where]
    sx = (bx[:, 2] - bx[:, 0]) * 0.15
    sy = (bx[:, 3] - bx[:, 1]) * 0.15
    x, y = cx.copy(), cy.copy()
    todo = ~first
    for _ in range(12):
        if not todo.any():
            break
        tx = cx[todo] + rng.normal(0.0, 1.0, todo.sum()) * sx[todo]
        ty = cy[todo] + rng.normal(0.0, 1.0, todo.sum()) * sy[todo]
        ok = shapely.contains_xy(geoms[where[todo]], tx, ty)
        sel = np.flatnonzero(todo)[ok]
        x[sel], y[sel] = tx[ok], ty[ok]
        todo[sel] = False
    label = {
        "post_office": "Bưu cục",
        "culture_post": "Điểm BĐ-VHX",
        "agent": "Đại lý",
        "letter_box": "Thùng thư",
        "delivery": "Điểm phát",
    }
    commune_names = communes["ten_xa"].to_numpy().astype(str)
    short = np.char.partition(commune_names, " ")[:, 2]
    kind_label = pd.Series(kind).map(label).to_numpy().astype(str)
    names = np.char.add(np.char.add(kind_label, " "), short[where])
    return pd.DataFrame(
        {
            "point_id": [f"VN{i + 1:06d}" for i in range(len(where))],
            "name": names,
            "kind": kind,
            "staffed": np.where(staffed, "yes", "no"),
            "admin_services": np.where(admin, "yes", "no"),
            "operator": operator,
            "commune_code": communes["ma_xa"].to_numpy()[where],
            "lat": np.round(y, 6),
            "lon": np.round(x, 6),
        }
    )


#: (name, province near (lon, lat), lon range, lat range, islets, population)
_ARCHIPELAGOS = (
    ("Hoàng Sa", (108.2, 16.05), (111.2, 112.9), (15.7, 17.1), 30, 1_200),
    ("Trường Sa", (109.2, 12.25), (111.4, 117.4), (7.5, 11.5), 120, 4_500),
)
#: (name, lon, lat, radius m, population)
_ISLANDS = (
    ("Bạch Long Vĩ", 107.73, 20.13, 1_400.0, 1_000),
    ("Cồn Cỏ", 107.34, 17.16, 700.0, 400),
    ("Lý Sơn", 109.12, 15.38, 2_300.0, 22_000),
    ("Phú Quý", 108.94, 10.52, 3_000.0, 29_000),
    ("Côn Đảo", 106.60, 8.68, 4_500.0, 10_000),
)


def _islet(x: float, y: float, r_m: float, rng: np.random.Generator) -> shapely.Polygon:
    """A small irregular island (metric), about ``r_m`` in radius."""
    t = np.linspace(0.0, 2.0 * np.pi, 25)[:-1]
    r = r_m * rng.uniform(0.6, 1.0, len(t))
    return shapely.Polygon(np.column_stack([x + r * np.cos(t), y + r * np.sin(t)]))


def add_islands(data: NationalData, *, seed: int = SEED) -> NationalData:
    """Add far offshore island communes and one service point on each.

    Parameters
    ----------
    data
        A dataset made by :func:`generate`.
    seed
        Random seed of the islet shapes.

    Returns
    -------
    NationalData
        The same communes and points followed by the island communes (each in the
        province whose commune is nearest to its mainland anchor) and their points.
    """
    rng = np.random.default_rng(seed + 1)
    communes, points = data.communes, data.points
    metric = communes.to_crs(_LAEA)
    rep = shapely.point_on_surface(metric.geometry.to_numpy())
    tree = cKDTree(shapely.get_coordinates(rep))
    shapes, names, anchors, pops = [], [], [], []
    for name, anchor, (lon0, lon1), (lat0, lat1), n, pop in _ARCHIPELAGOS:
        lon = rng.uniform(lon0, lon1, n)
        lat = rng.uniform(lat0, lat1, n)
        xy = _metric(lon, lat)
        radius = rng.uniform(80.0, 900.0, n)
        islets = [_islet(x, y, r, rng) for (x, y), r in zip(xy, radius, strict=True)]
        shapes.append(shapely.MultiPolygon(islets))
        names.append(name)
        anchors.append(anchor)
        pops.append(pop)
    for name, lon, lat, r_m, pop in _ISLANDS:
        ((x, y),) = _metric(np.array([lon]), np.array([lat]))
        shapes.append(_islet(x, y, r_m, rng))
        names.append(name)
        anchors.append((lon, lat))
        pops.append(pop)
    geoms = shapely.transform(
        np.asarray(shapes, dtype=object),
        lambda xy: np.column_stack(_TO_LONLAT.transform(*xy.T)),
    )
    geoms = shapely.set_precision(geoms, 1e-7)
    lon, lat = np.array(anchors).T
    _, near = tree.query(_metric(lon, lat))
    n0 = len(communes)
    codes = np.array([f"{3 * (n0 + i) + 1:05d}" for i in range(len(geoms))])
    extra = {
        "ma_xa": codes,
        "ten_xa": np.char.add("Đặc khu ", np.array(names)),
    }
    if "ten_huyen" in communes:
        extra["ten_huyen"] = np.char.add("Huyện ", np.array(names))
    extra["ten_tinh"] = communes["ten_tinh"].to_numpy()[near]
    extra["dan_so"] = np.array(pops, dtype=communes["dan_so"].dtype)
    islands = gpd.GeoDataFrame(extra, geometry=geoms, crs="EPSG:4326")
    out = pd.concat([communes, islands], ignore_index=True)
    on = shapely.point_on_surface(
        np.array([shapely.get_parts(g)[-1] for g in geoms], dtype=object)
    )
    n_pts = len(points)
    new_points = pd.DataFrame(
        {
            "point_id": [f"VN{n_pts + i + 1:06d}" for i in range(len(geoms))],
            "name": np.char.add("Bưu cục ", np.array(names)),
            "kind": "post_office",
            "staffed": "yes",
            "admin_services": "yes",
            "operator": "Tổng công ty Bưu điện Việt Nam",
            "commune_code": codes,
            "lat": np.round(shapely.get_y(on), 6),
            "lon": np.round(shapely.get_x(on), 6),
        }
    )
    return NationalData(
        gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326"),
        pd.concat([points, new_points], ignore_index=True),
    )


def write(data: NationalData, out: Path) -> tuple[Path, Path]:
    """Write ``communes.gpkg`` and ``service_points.csv`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "communes.gpkg"
    csv = out / "service_points.csv"
    gpkg.unlink(missing_ok=True)
    data.communes.to_file(gpkg, layer="communes", driver="GPKG", engine="pyogrio")
    data.points.to_csv(csv, index=False, encoding="utf-8-sig", float_format="%.6f")
    return gpkg, csv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="pre2025")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--points", type=int, default=13_000)
    ap.add_argument("--communes", type=int, default=None)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument(
        "--islands",
        action="store_true",
        help="add far offshore island communes (extent like Vietnam's)",
    )
    args = ap.parse_args(argv)
    if not 1 <= args.points <= 27_000:
        ap.error("--points must be between 1 and 27,000")
    t0 = time.perf_counter()
    data = generate(
        args.shape, n_communes=args.communes, n_points=args.points, seed=args.seed
    )
    if args.islands:
        data = add_islands(data, seed=args.seed)
    t1 = time.perf_counter()
    gpkg, csv = write(data, args.out)
    t2 = time.perf_counter()
    c = data.communes
    n_vertices = len(shapely.get_coordinates(c.geometry.to_numpy()))
    area = shapely.area(c.to_crs(_LAEA).geometry.to_numpy()).sum() / 1e6
    print(
        f"{args.shape}: {len(c):,} communes in {c['ten_tinh'].nunique()} provinces"
        + (f", {c['ten_huyen'].nunique():,} districts" if "ten_huyen" in c else "")
        + f"; {len(data.points):,} points; population {c['dan_so'].sum():,}; "
        f"area {area:,.0f} km²; {n_vertices:,} vertices"
    )
    print(f"generated in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s")
    for path in (gpkg, csv):
        print(f"  {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
