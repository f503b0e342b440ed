"""Canonical geometries and layer builders shared by the tests (shapely style)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Polygon, box

# Lambert azimuthal equal-area centred on northern Vietnam: squares drawn here have
# exactly the area they are drawn with, so radii are hand-computable.
LAEA_VN = "+proj=laea +lat_0=20.8 +lon_0=105.3 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
UTM48N = "EPSG:32648"

empty_polygon = Polygon()
bow_tie = Polygon([(0, 0), (10_000, 10_000), (10_000, 0), (0, 10_000), (0, 0)])
square_10km = box(0, 0, 10_000, 10_000)


def square_communes(
    spec: list[dict],
    *,
    crs: str = LAEA_VN,
    size_m: float = 10_000.0,
) -> gpd.GeoDataFrame:
    """Build a row of square communes of ``size_m`` side from dicts of attributes.

    Each dict may carry ``geometry`` to override the square.
    """
    rows, geoms = [], []
    for i, item in enumerate(spec):
        item = dict(item)
        geoms.append(item.pop("geometry", box(i * size_m, 0, (i + 1) * size_m, size_m)))
        rows.append(item)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs)


def points_in(
    commune_index: list[int], *, size_m: float = 10_000.0, crs: str = LAEA_VN, **cols
) -> gpd.GeoDataFrame:
    """Points spread inside the square communes of :func:`square_communes`."""
    counts: dict[int, int] = {}
    geoms = []
    for c in commune_index:
        k = counts.get(c, 0)
        counts[c] = k + 1
        geoms.append(
            shapely.Point(c * size_m + 1000 + 700 * (k % 10), 1000 + 700 * (k // 10))
        )
    n = len(commune_index)
    data = {
        "point_id": [f"p{i}" for i in range(n)],
        "kind": ["culture_post"] * n,
        "staffed": [True] * n,
        "admin_services": [False] * n,
    }
    data.update(cols)
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=crs)


def write_points_csv(points: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    """Write points as a lat/lon CSV (EPSG:4326) the way a spreadsheet would."""
    ll = points.to_crs(4326)
    table = pd.DataFrame(ll.drop(columns="geometry"))
    table["lat"] = ll.geometry.y.round(7)
    table["lon"] = ll.geometry.x.round(7)
    kwargs.setdefault("encoding", "utf-8-sig")
    table.to_csv(path, index=False, **kwargs)
    return path
