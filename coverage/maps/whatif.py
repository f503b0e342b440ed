"""Data of the map's what-if: the arrays the page recomputes access from.

:func:`whatif_data` (or :func:`whatif_from_access`, from an analysis) gathers the
population locations, their nearest point and the service points into a
:class:`WhatIfData`; the map's data carry it in a compact form (base64 arrays).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..benchmarks import Benchmark
from ..errors import InputError
from .classify import KIND_COLOURS
from .values import _round, _text

__all__ = ["WhatIfData", "whatif_data", "whatif_from_access"]


@dataclass(frozen=True)
class WhatIfData:
    """What the page needs to recompute access when a planner edits the points.

    Built by :func:`whatif_data`; see there for the meaning of the arrays. Cells
    on the population grid are kept as grid indices from ``origin_m``; other
    locations (tiny communes, settlements) as coordinates (``extra_*``).
    """

    cell_m: float
    origin_m: tuple[float, float]
    ix: np.ndarray
    iy: np.ndarray
    extra_x_m: np.ndarray
    extra_y_m: np.ndarray
    pop: np.ndarray
    commune: np.ndarray
    dist_m: np.ndarray
    nearest: np.ndarray
    commune_codes: np.ndarray
    thresholds_km: tuple[float, ...]
    point_x_m: np.ndarray
    point_y_m: np.ndarray
    point_commune: np.ndarray
    points: pd.DataFrame
    projection: dict[str, float]

    @property
    def n_cells(self) -> int:
        """Number of population locations."""
        return len(self.pop)


def _tm_projection(crs: Any) -> dict[str, float]:
    """Parameters of a transverse Mercator CRS on WGS84 (UTM), for the page."""
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    op = crs.coordinate_operation
    datum = crs.datum.name if crs.datum is not None else ""
    wgs84 = "WGS 84" in datum or "World Geodetic System 1984" in datum
    if op is None or "Transverse Mercator" not in op.method_name or not wgs84:
        msg = (
            "the what-if map computes distances in the page and supports only a "
            f"UTM or transverse Mercator CRS on WGS 84; the data are in {crs.name}"
        )
        raise InputError(msg)
    values = {p.name: float(p.value) for p in op.params}
    if values.get("Latitude of natural origin", 0.0) != 0.0:
        msg = (
            "the what-if map needs a transverse Mercator CRS with latitude of origin 0"
        )
        raise InputError(msg)
    return {
        "a": float(crs.ellipsoid.semi_major_metre),
        "f": 1.0 / float(crs.ellipsoid.inverse_flattening),
        "lon0": values.get("Longitude of natural origin", 0.0),
        "k0": values.get("Scale factor at natural origin", 1.0),
        "x0": values.get("False easting", 0.0),
        "y0": values.get("False northing", 0.0),
    }


def _flag(frame: pd.DataFrame, col: str, default: bool) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), default)
    values = frame[col]
    if values.dtype == bool:
        return values.to_numpy(bool)
    text = values.astype("string").str.strip().str.lower().fillna("")
    return text.isin(["true", "yes", "1", "y", "có", "co"]).to_numpy(bool)


def whatif_data(
    *,
    cell_x_m: np.ndarray,
    cell_y_m: np.ndarray,
    cell_m: float,
    population: np.ndarray,
    commune: np.ndarray,
    commune_codes: np.ndarray,
    thresholds_km: tuple[float, ...] | list[float],
    points: gpd.GeoDataFrame,
    crs: Any,
    origin_m: tuple[float, float] | None = None,
) -> WhatIfData:
    """Gather the arrays of the map's what-if from those of an analysis.

    Parameters
    ----------
    cell_x_m, cell_y_m
        Population locations in the metric CRS ``crs`` (``PopulationSurface.x_m``,
        ``y_m``), metres.
    cell_m
        Grid cell size, metres.
    population
        Population of each location.
    commune
        Row of each location's commune in ``commune_codes`` (the map's communes,
        in order).
    commune_codes
        Code of every commune row.
    thresholds_km
        Distance thresholds whose shares the page recomputes.
    points
        The counted service points (any CRS; ``point_id``, ``name``, ``kind``,
        ``staffed``, ``admin_services``, ``commune_code``); points without a
        location are dropped, as the analysis does.
    crs
        The metric CRS (a UTM zone; the page projects clicks itself).
    origin_m
        Lower-left corner of the grid (``PopulationSurface.origin_m``); default
        half a cell below the smallest coordinates.

    Returns
    -------
    WhatIfData
        Grid indices of the locations on the grid (others as coordinates), their
        population, commune, distance to and index of the nearest point, and
        the points with their metric and lon/lat coordinates.

    Raises
    ------
    InputError
        Arrays of different lengths, a bad cell size or a CRS the page cannot
        project to.
    """
    from ..access import nearest_distance_m

    x = np.asarray(cell_x_m, dtype=float)
    y = np.asarray(cell_y_m, dtype=float)
    pop = np.asarray(population, dtype=float)
    com = np.asarray(commune, dtype=np.int64)
    if not (len(x) == len(y) == len(pop) == len(com)):
        msg = "what-if cells: x, y, population and commune must have one value per cell"
        raise InputError(msg)
    if not (np.isfinite(cell_m) and cell_m > 0):
        msg = f"what-if cells: cell size must be positive metres, got {cell_m}"
        raise InputError(msg)
    projection = _tm_projection(crs)
    if origin_m is None:
        origin_m = (
            (float(x.min()) - cell_m / 2, float(y.min()) - cell_m / 2)
            if len(x)
            else (0.0, 0.0)
        )
    ox, oy = float(origin_m[0]), float(origin_m[1])
    ix = np.round((x - ox) / cell_m - 0.5).astype(np.int64)
    iy = np.round((y - oy) / cell_m - 0.5).astype(np.int64)
    # the page rebuilds grid centres with the same formula: keep only exact ones
    on_grid = (ox + (ix + 0.5) * cell_m == x) & (oy + (iy + 0.5) * cell_m == y)
    on_grid &= (ix >= 0) & (iy >= 0)
    order = np.concatenate([np.flatnonzero(on_grid), np.flatnonzero(~on_grid)])
    pts = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
    metric = pts.geometry.to_crs(crs)
    px = metric.x.to_numpy(float)
    py = metric.y.to_numpy(float)
    lonlat = pts.geometry.to_crs("EPSG:4326")
    codes = pd.Index(pd.Series(commune_codes).astype(str))
    point_codes = (
        pts["commune_code"].astype("string").fillna("")
        if "commune_code" in pts.columns
        else pd.Series("", index=pts.index)
    )
    point_commune = codes.get_indexer(point_codes.astype(str))
    dist, near = nearest_distance_m(
        np.column_stack([x[order], y[order]]), np.column_stack([px, py])
    )
    n_grid = int(on_grid.sum())
    table = pd.DataFrame(
        {
            "point_id": (
                pts["point_id"].astype(str).to_numpy()
                if "point_id" in pts.columns
                else [str(i) for i in pts.index]
            ),
            "name": _text(pts["name"] if "name" in pts.columns else None, len(pts)),
            "kind": (
                pts["kind"].astype("string").fillna("other").to_numpy()
                if "kind" in pts.columns
                else ["other"] * len(pts)
            ),
            "staffed": _flag(pts, "staffed", True),
            "admin_services": _flag(pts, "admin_services", False),
            "lat": lonlat.y.to_numpy(float),
            "lon": lonlat.x.to_numpy(float),
        }
    )
    return WhatIfData(
        cell_m=float(cell_m),
        origin_m=(ox, oy),
        ix=ix[order][:n_grid],
        iy=iy[order][:n_grid],
        extra_x_m=x[order][n_grid:],
        extra_y_m=y[order][n_grid:],
        pop=pop[order],
        commune=com[order],
        dist_m=dist,
        nearest=near,
        commune_codes=np.asarray(codes, dtype=object),
        thresholds_km=tuple(float(t) for t in thresholds_km),
        point_x_m=px,
        point_y_m=py,
        point_commune=np.asarray(point_commune, dtype=np.int64),
        points=table,
        projection=projection,
    )


def whatif_from_access(result: Any, points: gpd.GeoDataFrame) -> WhatIfData:
    """:func:`whatif_data` from a :class:`coverage.access.AccessResult`.

    Parameters
    ----------
    result
        The access result of the analysis (``analysis.access``).
    points
        The service points of the analysis; only those the distances were
        measured to (``result.point_ids``, e.g. the kinds counted with
        ``--kinds``) are kept.

    Raises
    ------
    InputError
        When the points are not those the distances were measured to.
    """
    surface = result.surface
    if "point_id" in points.columns:
        ids = set(np.asarray(result.point_ids).astype(str).tolist())
        points = points.loc[points["point_id"].astype(str).isin(ids)]
    located = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
    if len(located) != len(result.point_xy):
        msg = (
            f"the what-if needs the {len(result.point_xy)} points the distances were "
            f"measured to; got {len(located)}"
        )
        raise InputError(msg)
    return whatif_data(
        cell_x_m=surface.x_m,
        cell_y_m=surface.y_m,
        cell_m=surface.cell_m,
        population=surface.pop,
        commune=surface.commune,
        commune_codes=surface.codes,
        thresholds_km=result.thresholds_km,
        points=points,
        crs=surface.crs,
        origin_m=surface.origin_m,
    )


def _b64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode(
        "ascii"
    )


def _int_dtype(values: np.ndarray, *, signed: bool = False) -> str:
    top = int(values.max()) if len(values) else 0
    low = int(values.min()) if len(values) else 0
    if signed or low < 0:
        return "<i2" if low >= -32768 and top < 32768 else "<i4"
    return "<u2" if top < 65536 else "<u4"


def _whatif_page(
    whatif: WhatIfData, communes: pd.DataFrame, benchmark: Benchmark, code_col: str
) -> dict:
    codes = communes[code_col].astype(str).to_numpy()
    if (
        len(codes) != len(whatif.commune_codes)
        or (codes != whatif.commune_codes.astype(str)).any()
    ):
        msg = "the what-if data were built for other communes than the map's"
        raise InputError(msg)
    kinds = list(KIND_COLOURS)
    rules = [
        [float(r.distance_km), float(r.min_share)]
        for r in benchmark.distance_rules
        if r.scope == "all"
    ]
    thresholds = sorted({*whatif.thresholds_km, *(r[0] for r in rules)})
    if set(thresholds) - set(whatif.thresholds_km):
        msg = "the what-if thresholds must include the benchmark's rule distances"
        raise InputError(msg)
    near = whatif.nearest
    pts = whatif.points
    return {
        "cellM": whatif.cell_m,
        "ox": whatif.origin_m[0],
        "oy": whatif.origin_m[1],
        "nGrid": len(whatif.ix),
        "ix": _b64(whatif.ix, _int_dtype(whatif.ix, signed=True)),
        "iy": _b64(whatif.iy, _int_dtype(whatif.iy, signed=True)),
        "ixType": _int_dtype(whatif.ix, signed=True),
        "ex": whatif.extra_x_m.tolist(),
        "ey": whatif.extra_y_m.tolist(),
        "pop": _b64(whatif.pop, "<f4"),
        "com": _b64(whatif.commune, _int_dtype(whatif.commune)),
        "comType": _int_dtype(whatif.commune),
        "dist": _b64(np.where(np.isfinite(whatif.dist_m), whatif.dist_m, 1e12), "<f4"),
        "near": _b64(near, _int_dtype(near, signed=True)),
        "nearType": _int_dtype(near, signed=True),
        "thresholdsKm": whatif.thresholds_km,
        "rules": rules,
        "proj": whatif.projection,
        "radiusKm": benchmark.radius_km,
        "peoplePerPoint": benchmark.people_per_point,
        "requireStaffed": bool(benchmark.require_staffed),
        "area": _round(communes["area_km2"], 6),
        "popC": _round(communes["population"], 0),
        "points": {
            "x": whatif.point_x_m.tolist(),
            "y": whatif.point_y_m.tolist(),
            "com": whatif.point_commune.tolist(),
            "id": pts["point_id"].tolist(),
            "n": pts["name"].tolist(),
            "k": [
                kinds.index(k) if k in kinds else kinds.index("other")
                for k in pts["kind"]
            ],
            "kind": pts["kind"].tolist(),
            "s": pts["staffed"].astype(int).tolist(),
            "t": pts["admin_services"].astype(int).tolist(),
            "lat": pts["lat"].tolist(),
            "lon": pts["lon"].tolist(),
        },
    }
