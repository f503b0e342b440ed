"""Helpers for the map tests: a synthetic metric layer and a routed headless Chromium.

Not a conftest: the fixtures are imported explicitly by the map test modules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from coverage.benchmarks import Benchmark
from coverage.metrics import derive_metrics

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "tests" / "browser" / "node_modules"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
XSS_NAME = '<img src=x onerror="window.__xss=1">'
BENCH = Benchmark(name="test-bench", title="test", radius_km=1.5, people_per_point=3000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NAMES = [
    "Tân Lạc",
    "Mường Khến",
    "Phong Phú",
    "Đồng Lai",
    "Quyết Chiến",
    "Ngọc Mỹ",
    "Gia Mô",
    "Lỗ Sơn",
    "Ngổ Luông",
    "Nhân Mỹ",
]


def grid_layers(
    nx: int = 6, ny: int = 5, size_deg: float = 0.03
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A ``nx`` x ``ny`` grid of square communes near Hòa Bình with metrics.

    Commune ``C00`` is named with an XSS payload, ``C01`` has no point, ``C02`` has
    population 0 (one point), ``C03`` is "Tân Lạc"; the others get 0-4 points.
    """
    rng = np.random.default_rng(7)
    x0, y0 = 105.3, 20.8
    rows, geoms = [], []
    for j in range(ny):
        for i in range(nx):
            k = j * nx + i
            name = (
                XSS_NAME
                if k == 0
                else "Tân Lạc"
                if k == 3
                else f"Xã {NAMES[k % len(NAMES)]} {k}"
            )
            rows.append(
                {
                    "commune_code": f"C{k:02d}",
                    "commune_name": name,
                    "district_name": "Huyện Tây" if i < nx // 2 else "Huyện Đông",
                    "province_name": "Tỉnh Mẫu",
                    "population": 0 if k == 2 else int(rng.integers(2000, 15000)),
                }
            )
            geoms.append(
                box(
                    x0 + i * size_deg,
                    y0 + j * size_deg,
                    x0 + (i + 1) * size_deg,
                    y0 + (j + 1) * size_deg,
                )
            )
    communes = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    kinds = ["post_office", "culture_post", "agent", "letter_box", "delivery", "other"]
    pts = []
    for k, geom in enumerate(geoms):
        n = 0 if k == 1 else 1 if k in (0, 2) else int(rng.integers(1, 5))
        for m in range(n):
            minx, miny, maxx, maxy = geom.bounds
            pts.append(
                {
                    "point_id": f"P{k:02d}{m}",
                    "name": f"Điểm {m} {rows[k]['commune_name']}",
                    "kind": kinds[(k + m) % len(kinds)],
                    "staffed": bool((k + m) % 2),
                    "admin_services": bool((k + m) % 3 == 0),
                    "operator": "VNPost",
                    "commune_code": rows[k]["commune_code"],
                    "geometry": Point(
                        rng.uniform(minx + 0.002, maxx - 0.002),
                        rng.uniform(miny + 0.002, maxy - 0.002),
                    ),
                }
            )
    points = gpd.GeoDataFrame(pts, geometry="geometry", crs="EPSG:4326")
    communes = with_metrics(communes, points)
    return communes, points


def with_metrics(
    communes: gpd.GeoDataFrame, points: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Add the postal metric columns (through coverage.metrics) to ``communes``."""
    table = pd.DataFrame(communes.drop(columns="geometry"))
    metric = communes.to_crs(communes.estimate_utm_crs())
    table["area_km2"] = metric.geometry.area.to_numpy() / 1e6
    counts = points.groupby("commune_code").agg(
        n_points=("point_id", "size"),
        n_staffed=("staffed", "sum"),
        n_admin_services=("admin_services", "sum"),
    )
    codes = table["commune_code"]
    for col in counts.columns:
        table[col] = codes.map(counts[col]).fillna(0).astype(np.int64).to_numpy()
    table = derive_metrics(table, BENCH)
    rng = np.random.default_rng(3)
    table["share_within_2km"] = np.round(rng.uniform(0.5, 1.0, len(table)), 4)
    return gpd.GeoDataFrame(table, geometry=communes.geometry.values, crs=communes.crs)


#: Rough outline of Vietnam (lon, lat), as in bench/make_national.py.
VN_OUTLINE = (
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


def national_layers(
    cell_deg: float = 0.12, *, islands: bool = False
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A synthetic country of national extent: square communes clipped to a rough
    outline of Vietnam, grouped in provinces of 1.2 degrees, with metrics.

    About 1,500 communes and 4,000 points (clustered on the map). With
    ``islands``, 12 tiny populated communes far east in the sea (archipelagos).
    """
    import shapely

    rng = np.random.default_rng(11)
    outline = shapely.Polygon(VN_OUTLINE)
    minx, miny, maxx, maxy = outline.bounds
    xs = np.arange(minx, maxx, cell_deg)
    ys = np.arange(miny, maxy, cell_deg)
    gx, gy = np.meshgrid(xs, ys)
    squares = shapely.box(
        gx.ravel(), gy.ravel(), gx.ravel() + cell_deg, gy.ravel() + cell_deg
    )
    clipped = shapely.intersection(squares, outline)
    keep = shapely.area(clipped) > 0.15 * cell_deg**2
    geoms = list(clipped[keep])
    lon0 = gx.ravel()[keep]
    lat0 = gy.ravel()[keep]
    province = [
        f"Tỉnh {int((la - miny) // 1.2)}-{int((lo - minx) // 1.2)}"
        for lo, la in zip(lon0, lat0, strict=True)
    ]
    if islands:
        for k in range(12):
            lo, la = 111.2 + 0.5 * (k % 6), 9.0 + 0.6 * (k // 6) + 0.1 * (k % 3)
            geoms.append(shapely.box(lo, la, lo + 0.01, la + 0.01))
            province.append("Tỉnh Đảo")
    n = len(geoms)
    rows = [
        {
            "commune_code": f"N{k:04d}",
            "commune_name": f"Xã {NAMES[k % len(NAMES)]} {k}",
            "province_name": province[k],
            "population": int(rng.integers(3000, 60000)),
        }
        for k in range(n)
    ]
    communes = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    pts = []
    for k, geom in enumerate(geoms):
        rep = shapely.point_on_surface(geom)
        for m in range(int(rng.integers(1, 6)) if k % 17 else 0):
            pts.append(
                {
                    "point_id": f"Q{k:04d}{m}",
                    "name": f"Điểm {k}-{m}",
                    "kind": "post_office" if m == 0 else "agent",
                    "staffed": m == 0,
                    "admin_services": m == 0,
                    "commune_code": rows[k]["commune_code"],
                    "geometry": Point(rep.x + 1e-4 * m, rep.y),
                }
            )
    points = gpd.GeoDataFrame(pts, geometry="geometry", crs="EPSG:4326")
    return with_metrics(communes, points), points


PROVINCES = ("Tỉnh Hòa Bình", "Tỉnh Sơn La", "Thành phố Hà Nội")


def province_layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Three provinces (pairs of grid columns of :func:`grid_layers`) with metrics.

    The units have ``province_name`` and the metric columns but no commune code or
    name, as the national province-level map gets them.
    """
    communes, points = grid_layers()
    nx = 6
    column = np.arange(len(communes)) % nx
    names = np.array(PROVINCES)[column // 2]
    frame = gpd.GeoDataFrame(
        {
            "province_name": names,
            "population": communes["population"].to_numpy(),
            "n_points": communes["n_points"].to_numpy(),
            "n_staffed": communes["n_staffed"].to_numpy(),
            "n_admin_services": communes["n_admin_services"].to_numpy(),
        },
        geometry=communes.geometry.values,
        crs=communes.crs,
    )
    units = frame.dissolve(by="province_name", aggfunc="sum").reset_index()
    table = pd.DataFrame(units.drop(columns="geometry"))
    metric = units.to_crs(units.estimate_utm_crs())
    table["area_km2"] = metric.geometry.area.to_numpy() / 1e6
    table = derive_metrics(table, BENCH)
    provinces = gpd.GeoDataFrame(table, geometry=units.geometry.values, crs=units.crs)
    return provinces, points


# --------------------------------------------------------------------------- browser


def require_browser() -> None:
    """Skip (locally) or fail (in CI) when Chromium or the npm assets are missing."""
    problems = []
    if not CHROMIUM.exists():
        problems.append(
            f"chromium not installed ({CHROMIUM}): apt-get install chromium"
        )
    if not (NODE_MODULES / "leaflet" / "dist" / "leaflet.js").is_file():
        problems.append("browser test assets missing: npm ci --prefix tests/browser")
    if not problems:
        return
    reason = "; ".join(problems)
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


_CDN = re.compile(
    r"^https://cdn\.jsdelivr\.net/npm/(?P<pkg>(@[^/]+/)?[^@/]+)@(?P<ver>[^/]+)/(?P<path>.+)$"
)
_TILE = re.compile(r"^https://([a-z]\.)?tile\.openstreetmap\.org/")
_TRANSPARENT_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _installed_version(pkg: str) -> str | None:
    meta = NODE_MODULES / pkg / "package.json"
    if not meta.is_file():
        return None
    return json.loads(meta.read_text(encoding="utf-8")).get("version")


class Router:
    """Serve CDN files from node_modules, tiles as a blank PNG; abort the rest."""

    def __init__(self, *, tiles: bool = True) -> None:
        self.tiles = tiles
        self.served: list[str] = []
        self.aborted: list[str] = []
        self.tile_requests = 0

    def __call__(self, route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:", "about:")):
            route.continue_()
            return
        match = _CDN.match(url)
        if match:
            pkg, ver, path = match["pkg"], match["ver"], match["path"]
            file = NODE_MODULES / pkg / path
            installed = _installed_version(pkg)
            if installed != ver or not file.is_file():
                self.aborted.append(f"{url} (installed {pkg}@{installed})")
                route.abort()
                return
            ctype = (
                "text/css"
                if path.endswith(".css")
                else "image/png"
                if path.endswith(".png")
                else "application/javascript"
            )
            self.served.append(url)
            route.fulfill(status=200, body=file.read_bytes(), content_type=ctype)
            return
        if _TILE.match(url):
            self.tile_requests += 1
            if self.tiles:
                route.fulfill(
                    status=200, body=_TRANSPARENT_PNG, content_type="image/png"
                )
            else:
                route.abort()
            return
        self.aborted.append(url)
        route.abort()


class Browser:
    """One headless Chromium for a test module."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )

    def open(
        self,
        html_path: Path,
        *,
        tiles: bool = True,
        width: int = 1280,
        height: int = 860,
    ):
        """Open ``html_path``; return (page, router, console errors list)."""
        page = self.browser.new_page(viewport={"width": width, "height": height})
        router = Router(tiles=tiles)
        page.route("**/*", router)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" and (tiles or "tile" not in msg.text)
                else None
            ),
        )
        page.goto(html_path.resolve().as_uri())
        page.wait_for_function("window.coverageMap !== undefined", timeout=20000)
        return page, router, errors

    def close(self) -> None:
        self.browser.close()
        self._pw.stop()


def choropleth_share(png: bytes, colours: list[str], *, opacity: float = 0.72) -> float:
    """Share of the map's non-background pixels drawn in a choropleth colour.

    A pixel counts when it is within 10 (per RGB channel) of a bin colour blended
    over the page background at ``opacity``.
    """
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile(png) as mem, mem.open() as src:
            bands = src.read()
    img = np.moveaxis(bands[:3], 0, -1).astype(float)
    bg = np.array([0xF4, 0xF4, 0xF2], dtype=float)
    rgb = np.array(
        [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=float
    )
    blended = opacity * rgb + (1 - opacity) * bg
    pixels = img.reshape(-1, 3)[::3]
    land = np.abs(pixels - bg).max(axis=1) > 3
    near = np.abs(pixels[:, None, :] - blended[None, :, :]).max(axis=2) <= 10
    coloured = near.any(axis=1) & land
    return float(coloured.sum() / max(int(land.sum()), 1))


def make_mbtiles(
    path: Path, tiles: dict[tuple[int, int, int], bytes], **meta: str
) -> Path:
    """Write a tiny MBTiles file; ``tiles`` maps (z, x, y from the north) to PNG."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
        "tile_row INTEGER, tile_data BLOB)"
    )
    meta = {"name": "test", "format": "png"} | meta
    con.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    con.executemany(
        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
        [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
    )
    con.commit()
    con.close()
    return path


def tile_png() -> bytes:
    """A valid 1x1 PNG (a tile Leaflet scales up)."""
    return _TRANSPARENT_PNG


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def copy_assets(dest: Path) -> Path:
    """Copy the npm assets somewhere (for offline-mode tests)."""
    target = dest / "node_modules"
    shutil.copytree(NODE_MODULES, target)
    return target
