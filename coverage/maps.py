"""Interactive gap map: commune choropleths, outlines, service points, plan proposals.

The map is a single HTML file (Leaflet through folium). All classification and
styling is computed here in Python: every commune carries, per choropleth layer,
the index of its bin in the same list from which the legend is drawn, so colours
and legend cannot disagree.

Safety: data reach the page only as JSON inside one script block, with ``<``,
``>`` and ``&`` escaped as ``\\uXXXX`` so no name can close the block; the page
shows data with ``textContent`` (never ``innerHTML``), so a commune named
``<img src=x onerror=alert(1)>`` is displayed as text. The legend, built here from
our own labels and benchmark figures, is HTML-escaped.

Offline: the page needs Leaflet (and Leaflet.markercluster when points are
clustered) and nothing else (no jQuery, Bootstrap or icon fonts). With
``offline=True`` :func:`write_map` inlines those files from an npm ``node_modules``
folder, so the map works without internet except for the OpenStreetMap tiles,
which are optional: the choropleths draw on a blank background without them.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from .benchmarks import Benchmark
from .errors import InputError, OutputError
from .geo import dissolve_tiling, to_metric, to_wgs84
from .i18n import label, translate_reasons

__all__ = [
    "ASSETS",
    "BUNDLED_ASSETS",
    "KIND_COLOURS",
    "NEEDED_BINS",
    "RATIO_BINS",
    "Bin",
    "LayerSpec",
    "build_map",
    "classify_needed",
    "classify_ratio",
    "classify_share",
    "find_assets",
    "map_data",
    "share_bins",
    "simplify_coverage",
    "write_map",
]

#: CDN files the page loads: (npm package, version, path inside the package).
ASSETS: dict[str, tuple[str, str, str]] = {
    "leaflet_js": ("leaflet", "1.9.3", "dist/leaflet.js"),
    "leaflet_css": ("leaflet", "1.9.3", "dist/leaflet.css"),
    "markercluster_js": (
        "leaflet.markercluster",
        "1.5.3",
        "dist/leaflet.markercluster.js",
    ),
    "markercluster_css": ("leaflet.markercluster", "1.5.3", "dist/MarkerCluster.css"),
    "markercluster_default_css": (
        "leaflet.markercluster",
        "1.5.3",
        "dist/MarkerCluster.Default.css",
    ),
}


def _cdn(key: str) -> str:
    package, version, path = ASSETS[key]
    return f"https://cdn.jsdelivr.net/npm/{package}@{version}/{path}"


@dataclass(frozen=True)
class Bin:
    """One class of a choropleth: the legend row and the fill colour.

    Attributes
    ----------
    key : str
        Stable identifier (``meets_strong``, ``far``, ``no_point``...).
    colour : str
        Fill colour (``#rrggbb``).
    lower, upper : float
        The bin holds values ``lower < v <= upper`` (ratio bins) or
        ``lower <= v < upper`` (share and count bins); NaN for the special bins.
    """

    key: str
    colour: str
    lower: float = math.nan
    upper: float = math.nan


#: Ratio of a value to its benchmark (lower is better): greens meet it, amber is
#: slightly above, reds far above. Diverging around 1, the benchmark itself.
RATIO_BINS: tuple[Bin, ...] = (
    Bin("meets_strong", "#1a9850", -math.inf, 0.75),
    Bin("meets", "#91cf60", 0.75, 1.0),
    Bin("slightly", "#fee08b", 1.0, 1.25),
    Bin("above", "#fc8d59", 1.25, 1.5),
    Bin("far", "#d73027", 1.5, math.inf),
)
NO_POINT = Bin("no_point", "#542788")
MISSING = Bin("missing", "#bdbdbd")

#: Points needed to meet the benchmark: 0 meets, then more and more red.
NEEDED_BINS: tuple[Bin, ...] = (
    Bin("needed_zero", "#1a9850", 0, 1),
    Bin("needed_one", "#fee08b", 1, 2),
    Bin("needed_range", "#fc8d59", 2, 4),
    Bin("needed_range", "#d73027", 4, 10),
    Bin("needed_more", "#7f0000", 10, math.inf),
)

KIND_COLOURS: dict[str, str] = {
    "post_office": "#08519c",
    "delivery": "#4eb3d3",
    "culture_post": "#e7298a",
    "agent": "#8c510a",
    "letter_box": "#252525",
    "other": "#969696",
}

_SPECIAL = 100  # index offset: bins >= _SPECIAL are NO_POINT / MISSING


def share_bins(min_share: float | None) -> tuple[Bin, ...]:
    """Bins of the share of population within a distance, centred on the target.

    Parameters
    ----------
    min_share
        The benchmark's required share (0-1) or None (then 0.95).

    Returns
    -------
    tuple of Bin
        From best to worst: at or above the target (green), up to 10 points below
        (amber), up to 25 points below (orange), further below (red).
    """
    target = 0.95 if min_share is None else float(min_share)
    a, b = max(target - 0.10, 0.0), max(target - 0.25, 0.0)
    return (
        Bin("share_high", "#1a9850", target, math.inf),
        Bin("share_mid", "#fee08b", a, target),
        Bin("share_mid", "#fc8d59", b, a),
        Bin("share_low", "#d73027", -math.inf, b),
    )


def classify_ratio(
    ratio: np.ndarray, n_points: np.ndarray, *, missing: np.ndarray | None = None
) -> np.ndarray:
    """Return the index in :data:`RATIO_BINS` of each ratio (value / benchmark).

    Communes without any point get ``_SPECIAL`` (no point) and those with a point
    but no value (NaN, or flagged in ``missing``) ``_SPECIAL + 1`` (no data).
    """
    ratio = np.asarray(ratio, dtype=float)
    uppers = np.array([b.upper for b in RATIO_BINS[:-1]])
    idx = np.searchsorted(uppers, ratio, side="left")
    bad = ~np.isfinite(ratio)
    if missing is not None:
        bad |= np.asarray(missing, bool)
    idx = np.where(bad, _SPECIAL + 1, idx)
    return np.where(np.asarray(n_points) == 0, _SPECIAL, idx).astype(np.int64)


def classify_share(share: np.ndarray, bins: tuple[Bin, ...]) -> np.ndarray:
    """Return the index in ``bins`` (from :func:`share_bins`) of each share."""
    share = np.asarray(share, dtype=float)
    lowers = np.array([b.lower for b in bins])
    idx = np.argmax(share[:, None] >= lowers[None, :], axis=1)
    return np.where(np.isfinite(share), idx, _SPECIAL + 1).astype(np.int64)


def classify_needed(needed: np.ndarray) -> np.ndarray:
    """Return the index in :data:`NEEDED_BINS` of each number of points needed."""
    needed = np.asarray(needed, dtype=float)
    uppers = np.array([b.upper for b in NEEDED_BINS[:-1]])
    idx = np.searchsorted(uppers, needed, side="right")
    return np.where(np.isfinite(needed), idx, _SPECIAL + 1).astype(np.int64)


@dataclass(frozen=True)
class LayerSpec:
    """A choropleth layer: its key, title, bins and the class of each commune."""

    key: str
    title: str
    bins: tuple[Bin, ...]
    classes: np.ndarray
    legend_labels: tuple[str, ...]
    fill_special: bool


def _fmt(value: float, unit: str = "") -> str:
    text = f"{value:,.3f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"
    return f"{text}{unit}"


def _ratio_labels(reference: float, unit: str, lang: str) -> tuple[str, ...]:
    edges = [b.upper * reference for b in RATIO_BINS[:-1]]
    e = [_fmt(v, unit) for v in edges]
    return (
        label("map.bin.meets_strong", lang).format(a=e[0]),
        label("map.bin.meets", lang).format(a=e[0], b=e[1]),
        label("map.bin.slightly", lang).format(a=e[1], b=e[2]),
        label("map.bin.above", lang).format(a=e[2], b=e[3]),
        label("map.bin.far", lang).format(a=e[3]),
    )


def _share_labels(bins: tuple[Bin, ...], lang: str) -> tuple[str, ...]:
    pct = [_fmt(100 * b.lower) for b in bins[:-1]]
    return (
        label("map.bin.share_high", lang).format(a=pct[0]),
        label("map.bin.share_mid", lang).format(a=pct[1], b=pct[0]),
        label("map.bin.share_mid", lang).format(a=pct[2], b=pct[1]),
        label("map.bin.share_low", lang).format(a=pct[2]),
    )


def _needed_labels(lang: str) -> tuple[str, ...]:
    out = []
    for b in NEEDED_BINS:
        lo, hi = int(b.lower), b.upper
        if lo == 0:
            out.append(label("map.bin.needed_zero", lang))
        elif math.isinf(hi):
            out.append(label("map.bin.needed_more", lang).format(a=lo))
        elif hi - lo == 1:
            out.append(label("map.bin.needed_one", lang).format(a=lo))
        else:
            out.append(label("map.bin.needed_range", lang).format(a=lo, b=int(hi) - 1))
    return tuple(out)


def _share_column(
    communes: pd.DataFrame, threshold_km: float | None
) -> tuple[str | None, float | None]:
    cols = [c for c in communes.columns if re.fullmatch(r"share_within_[0-9.]+km", c)]
    if threshold_km is not None:
        text = f"{float(threshold_km):.6f}".rstrip("0").rstrip(".")
        col = f"share_within_{text}km"
        if col not in communes.columns:
            msg = (
                f"the map asks for the share within {text} km but the communes have "
                f"no column {col} (available: {', '.join(cols) or 'none'})"
            )
            raise InputError(msg)
        return col, float(text)
    if not cols:
        return None, None
    col = cols[0]
    return col, float(col[len("share_within_") : -2])


def _layer_specs(
    communes: pd.DataFrame,
    benchmark: Benchmark,
    *,
    lang: str,
    access_threshold_km: float | None,
) -> tuple[list[LayerSpec], str | None]:
    n_points = communes["n_points"].to_numpy(np.int64)
    pop = communes["population"].to_numpy(float)
    specs: list[LayerSpec] = []
    if benchmark.radius_km is not None:
        specs.append(
            LayerSpec(
                "radius",
                label("map.layer.radius", lang) + f" ({_fmt(benchmark.radius_km)} km)",
                RATIO_BINS,
                classify_ratio(communes["radius_ratio"].to_numpy(float), n_points),
                _ratio_labels(benchmark.radius_km, " km", lang),
                True,
            )
        )
    if benchmark.people_per_point is not None:
        specs.append(
            LayerSpec(
                "people",
                label("map.layer.people", lang)
                + f" ({_fmt(benchmark.people_per_point)})",
                RATIO_BINS,
                classify_ratio(
                    communes["people_ratio"].to_numpy(float),
                    n_points,
                    missing=pop <= 0,
                ),
                _ratio_labels(benchmark.people_per_point, "", lang),
                True,
            )
        )
    share_col, t_km = _share_column(communes, access_threshold_km)
    if share_col is not None and t_km is not None:
        rules = [r for r in benchmark.distance_rules if r.distance_km == t_km]
        bins = share_bins(rules[0].min_share if rules else None)
        share = communes[share_col].to_numpy(float)
        share = np.where(pop > 0, share, np.nan)
        specs.append(
            LayerSpec(
                "share",
                label("map.layer.share", lang).format(t=_fmt(t_km)),
                bins,
                classify_share(share, bins),
                _share_labels(bins, lang),
                False,
            )
        )
    specs.append(
        LayerSpec(
            "needed",
            label("map.layer.needed", lang),
            NEEDED_BINS,
            classify_needed(communes["points_needed"].to_numpy(float)),
            _needed_labels(lang),
            False,
        )
    )
    return specs, share_col


def simplify_coverage(
    gdf: gpd.GeoDataFrame, *, tolerance_m: float | None = None
) -> gpd.GeoSeries:
    """Simplify polygons that tile the plane without opening gaps or overlaps.

    Shared edges are simplified once (``shapely.coverage_simplify``) in the metric
    CRS of the data, then returned in WGS84 with coordinates rounded to 5
    decimals (about 1 m; shared vertices round identically, so neighbours still
    meet).

    Parameters
    ----------
    gdf
        Polygons (any CRS).
    tolerance_m
        Simplification tolerance in metres; default scales with the extent
        (``sqrt(total area) / 2000``, clipped to 10-100 m).

    Returns
    -------
    geopandas.GeoSeries
        The simplified geometries in EPSG:4326, same index as ``gdf``.
    """
    metric = to_metric(gdf)
    geoms = metric.geometry.to_numpy()
    if tolerance_m is None:
        total = float(np.nansum(shapely.area(geoms)))
        tolerance_m = float(np.clip(math.sqrt(max(total, 0.0)) / 2000.0, 10.0, 100.0))
    valid = shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    simplified = geoms.copy()
    if valid.any():
        try:
            simplified[valid] = shapely.coverage_simplify(geoms[valid], tolerance_m)
        except shapely.errors.GEOSException:
            simplified[valid] = shapely.simplify(geoms[valid], tolerance_m)
    collapsed = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
    simplified = np.where(collapsed, geoms, simplified)
    out = to_wgs84(gpd.GeoDataFrame(geometry=simplified, crs=metric.crs))
    rounded = shapely.transform(out.geometry.to_numpy(), lambda c: np.round(c, 5))
    return gpd.GeoSeries(rounded, index=gdf.index, crs=out.crs)


def _round(values: pd.Series, decimals: int) -> list[float | None]:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(float)
    arr = np.round(arr, decimals)
    if decimals == 0:
        return [None if not math.isfinite(v) else int(v) for v in arr]
    return [None if not math.isfinite(v) else float(v) for v in arr]


def _text(values: pd.Series | None, n: int) -> list[str]:
    if values is None:
        return [""] * n
    return values.astype("string").fillna("").tolist()


def _geometry_json(geoms: np.ndarray) -> list[dict]:
    return [shapely.geometry.mapping(g) if g is not None else None for g in geoms]


def _outlines(
    communes: gpd.GeoDataFrame, simplified: gpd.GeoSeries, column: str
) -> gpd.GeoDataFrame | None:
    if column not in communes.columns:
        return None
    names = communes[column].astype("string").fillna("")
    if not (names != "").any():
        return None
    frame = gpd.GeoDataFrame({"name": names.to_numpy()}, geometry=simplified.values)
    frame = frame[frame["name"] != ""]
    # coordinates are rounded to 1e-5 degrees: a fallback union snaps to that grid
    merged = dissolve_tiling(frame, "name", grid_size=1e-5).reset_index()
    return merged.set_crs(simplified.crs, allow_override=True)


def _outline_features(gdf: gpd.GeoDataFrame | None, *, simplify: bool) -> list[dict]:
    if gdf is None or len(gdf) == 0:
        return []
    geoms = (
        simplify_coverage(gdf).to_numpy()
        if simplify
        else to_wgs84(gdf).geometry.to_numpy()
    )
    geoms = shapely.transform(geoms, lambda c: np.round(c, 5))
    if "name" in gdf.columns:
        names = _text(gdf["name"], len(gdf))
    else:
        name_col = next(
            (c for c in ("district_name", "province_name") if c in gdf.columns), None
        )
        names = _text(gdf[name_col] if name_col else None, len(gdf))
    return [
        {"type": "Feature", "properties": {"n": n}, "geometry": g}
        for n, g in zip(names, _geometry_json(geoms), strict=True)
    ]


def _points_data(points: gpd.GeoDataFrame | None, lang: str) -> dict:
    if points is None or len(points) == 0:
        return {"lat": [], "lon": [], "k": [], "s": [], "t": [], "n": [], "c": []}
    pts = to_wgs84(points)
    pts = pts[~pts.geometry.is_empty & pts.geometry.notna()]
    kinds = list(KIND_COLOURS)
    kind = pts["kind"] if "kind" in pts.columns else pd.Series("other", pts.index)
    kind_idx = pd.Categorical(kind.astype("string"), categories=kinds).codes
    kind_idx = np.where(kind_idx < 0, kinds.index("other"), kind_idx)

    def flag(col: str) -> list[int]:
        if col not in pts.columns:
            return [0] * len(pts)
        return pts[col].fillna(False).astype(bool).astype(int).tolist()

    return {
        "lat": np.round(pts.geometry.y.to_numpy(), 5).tolist(),
        "lon": np.round(pts.geometry.x.to_numpy(), 5).tolist(),
        "k": kind_idx.astype(int).tolist(),
        "s": flag("staffed"),
        "t": flag("admin_services"),
        "n": _text(pts["name"] if "name" in pts.columns else None, len(pts)),
        "c": _text(
            pts["commune_name"] if "commune_name" in pts.columns else None, len(pts)
        ),
    }


def _legend_html(spec: LayerSpec, lang: str, note: str, level: str = "commune") -> str:
    e = html.escape
    rows = [f'<div class="cv-legend-title">{e(spec.title)}</div>']
    if level != "commune":
        unit = label(f"map.legend.unit.{level}", lang)
        rows.append(f'<div class="cv-legend-unit">{e(unit)}</div>')
    if note:
        rows.append(f'<div class="cv-legend-note">{e(note)}</div>')
    labels = [*spec.legend_labels, label("map.bin.no_point", lang)]
    colours = [b.colour for b in spec.bins] + [NO_POINT.colour]
    for i, (text, colour) in enumerate(zip(labels, colours, strict=True)):
        special = i == len(spec.bins)
        style = (
            f"background:{colour}"
            if not special or spec.fill_special
            else f"background:#fff;border:3px solid {colour}"
        )
        rows.append(
            f'<div class="cv-bin" data-bin="{i}"><span class="cv-swatch" '
            f'style="{style}"></span>{e(text)}</div>'
        )
    rows.append(
        f'<div class="cv-bin" data-bin="missing"><span class="cv-swatch" '
        f'style="background:{MISSING.colour}"></span>'
        f"{e(label('map.bin.missing', lang))}</div>"
    )
    return "".join(rows)


def _points_legend_html(
    kinds_present: list[str],
    *,
    lang: str,
    clustered: bool,
    proposed: bool,
    uncovered: bool,
) -> str:
    e = html.escape
    rows = [f'<div class="cv-legend-title">{e(label("map.legend.points", lang))}</div>']
    for kind in kinds_present:
        colour = KIND_COLOURS[kind]
        rows.append(
            f'<div class="cv-bin"><span class="cv-dot" style="background:{colour};'
            f'border-color:#fff"></span>{e(label(kind, lang))}</div>'
        )
    rows.append(
        '<div class="cv-bin"><span class="cv-dot" style="background:#777"></span>'
        '<span class="cv-dot" style="background:rgba(119,119,119,0.25);'
        'border-color:#777"></span>'
        f"{e(label('map.legend.staffed', lang))}</div>"
    )
    rows.append(
        '<div class="cv-bin"><span class="cv-dot" style="background:#777;'
        'border:2.5px solid #000"></span>'
        f"{e(label('map.legend.tthc', lang))}</div>"
    )
    if clustered:
        rows.append(
            '<div class="cv-bin"><span class="cv-dot cv-cluster">3</span>'
            f"{e(label('map.legend.clustered', lang))}</div>"
        )
    if proposed:
        rows.append(
            '<div class="cv-bin"><span class="cv-dot" style="background:#ffff33;'
            'border:2px dashed #000"></span>'
            f"{e(label('map.layer.proposed', lang))}</div>"
        )
    if uncovered:
        rows.append(
            '<div class="cv-bin"><span class="cv-swatch" style="background:'
            'repeating-linear-gradient(45deg,#000 0 2px,#fff 2px 5px)"></span>'
            f"{e(label('map.layer.uncovered', lang))}</div>"
        )
    return "".join(rows)


#: Code and name columns of the map units at each level.
_LEVEL_COLUMNS: dict[str, tuple[str, str]] = {
    "commune": ("commune_code", "commune_name"),
    "province": ("province_name", "province_name"),
}

_POPUP_FIELDS = (
    ("c", "commune_code", "text"),
    ("d", "district_name", "text"),
    ("p", "province_name", "text"),
    ("pop", "population", "int"),
    ("a", "area_km2", "num3"),
    ("np", "n_points", "int"),
    ("ns", "n_staffed", "int"),
    ("na", "n_admin_services", "int"),
    ("r", "radius_km", "num3"),
    ("rr", "radius_ratio", "num3"),
    ("pp", "people_per_point", "int"),
    ("pr", "people_ratio", "num3"),
    ("sh", "share", "pct"),
    ("nd", "points_needed", "int"),
    ("g", "gap_reasons", "text"),
)


def map_data(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame | None,
    *,
    benchmark: Benchmark,
    lang: str = "en",
    title: str = "",
    synthetic: bool = False,
    districts: gpd.GeoDataFrame | None = None,
    provinces: gpd.GeoDataFrame | None = None,
    uncovered: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    access_threshold_km: float | None = None,
    show_rings: bool = False,
    cluster_above: int = 300,
    level: str = "commune",
) -> dict:
    """Return everything the page draws, as JSON-ready data (see :func:`build_map`).

    Returns
    -------
    dict
        ``communes`` (a GeoJSON FeatureCollection whose features carry the figures
        and ``k``, the bin index per layer), ``layers`` (key, title, colours and
        legend HTML per choropleth layer), ``points`` (column arrays), outlines,
        uncovered zones, proposals, labels and options.
    """
    if level not in _LEVEL_COLUMNS:
        msg = f"map level must be one of {', '.join(_LEVEL_COLUMNS)}, got {level!r}"
        raise InputError(msg)
    code_col, name_col = _LEVEL_COLUMNS[level]
    required = list(dict.fromkeys([code_col, name_col, "population", "n_points"]))
    missing = [c for c in required if c not in communes.columns]
    if missing:
        msg = (
            f"the map needs {level} units with postal metrics; missing columns: "
            + ", ".join(missing)
            + " (run the metrics first, e.g. coverage analyze)"
        )
        raise InputError(msg)
    communes = communes.copy()
    for col, default in (
        ("radius_ratio", np.nan),
        ("people_ratio", np.nan),
        ("points_needed", np.nan),
    ):
        if col not in communes.columns:
            communes[col] = default
    specs, share_col = _layer_specs(
        communes, benchmark, lang=lang, access_threshold_km=access_threshold_km
    )
    geoms = simplify_coverage(communes)
    n = len(communes)
    text_cols = {"c": code_col, "d": "district_name", "p": "province_name"}
    if level == "province":
        # the unit is the province: no district, and its name is already shown
        text_cols |= {"d": "", "p": ""}
    props: dict[str, list] = {"n": _text(communes[name_col], n)}
    for key, col in text_cols.items():
        props[key] = _text(communes[col] if col in communes.columns else None, n)
    props["g"] = _text(
        translate_reasons(communes["gap_reasons"], lang)
        if "gap_reasons" in communes.columns
        else None,
        n,
    )
    decimals = {"pop": 0, "a": 3, "np": 0, "ns": 0, "na": 0, "r": 3, "rr": 3}
    decimals |= {"pp": 0, "pr": 3, "nd": 0}
    by_key = {k: col for k, col, _ in _POPUP_FIELDS}
    for key, dec in decimals.items():
        col = by_key[key]
        props[key] = (
            _round(communes[col], dec) if col in communes.columns else [None] * n
        )
    props["sh"] = _round(communes[share_col], 4) if share_col else [None] * n
    classes = np.column_stack([s.classes for s in specs]).tolist()
    keys = list(props)
    columns = [props[k] for k in keys]
    features = []
    for i, geom in enumerate(_geometry_json(geoms.to_numpy())):
        p = {k: col[i] for k, col in zip(keys, columns, strict=True)}
        p["k"] = classes[i]
        features.append({"type": "Feature", "properties": p, "geometry": geom})

    if districts is None:
        districts = (
            _outlines(communes, geoms, "district_name") if level == "commune" else None
        )
        district_features = _outline_features(districts, simplify=False)
    else:
        district_features = _outline_features(districts, simplify=True)
    if provinces is None:
        provinces = (
            _outlines(communes, geoms, "province_name") if level == "commune" else None
        )
        province_features = _outline_features(provinces, simplify=False)
    else:
        province_features = _outline_features(provinces, simplify=True)

    pts = _points_data(points, lang)
    kinds = list(KIND_COLOURS)
    kinds_present = [kinds[i] for i in sorted(set(pts["k"]))]
    uncovered_features = []
    if uncovered is not None and len(uncovered):
        ug = to_wgs84(uncovered)
        geoms_u = shapely.transform(ug.geometry.to_numpy(), lambda c: np.round(c, 5))
        pop_u = _round(ug["population"], 0) if "population" in ug else [None] * len(ug)
        uncovered_features = [
            {"type": "Feature", "properties": {"pop": p}, "geometry": g}
            for p, g in zip(pop_u, _geometry_json(geoms_u), strict=True)
        ]
    proposed_data = _points_data(proposed, lang) if proposed is not None else None

    note = ""
    if specs and specs[0].key in ("radius", "people"):
        note = label("map.legend.ratio_note", lang).format(v=benchmark.name)
    layers = []
    for spec in specs:
        colours = [b.colour for b in spec.bins]
        layers.append(
            {
                "key": spec.key,
                "title": spec.title,
                "colours": colours,
                "fillSpecial": spec.fill_special,
                "legend": _legend_html(
                    spec, lang, note if spec.key in ("radius", "people") else "", level
                ),
            }
        )
    bench_bits = [f"{label('map.title.benchmark', lang)}: {benchmark.name}"]
    if level != "commune":
        bench_bits.insert(0, label(f"map.title.level.{level}", lang))
    if benchmark.radius_km is not None:
        bench_bits.append(f"R ≤ {_fmt(benchmark.radius_km)} km")
    if benchmark.people_per_point is not None:
        bench_bits.append(
            f"≤ {_fmt(benchmark.people_per_point)} "
            + ("người/điểm" if lang == "vi" else "people/point")
        )
    synthetic = synthetic or (
        "synthetic" in communes.columns
        and bool(communes["synthetic"].fillna(False).astype(bool).any())
    )
    labels = {
        key: label(col, lang) for key, col, _ in _POPUP_FIELDS if key not in ("sh",)
    }
    labels["sh"] = label(share_col, lang) if share_col else ""
    labels["n"] = label(name_col, lang)
    labels["c"] = label(code_col, lang)
    for key in (
        "map.layer.points",
        "map.layer.districts",
        "map.layer.provinces",
        "map.layer.uncovered",
        "map.layer.proposed",
        "map.yes",
        "map.no",
        "map.proposed",
        "map.uncovered",
        "kind",
        "staffed",
        "admin_services",
        "population",
    ):
        labels[key] = label(key, lang)
    labels["rings"] = (
        label("map.layer.rings", lang).format(r=_fmt(benchmark.radius_km))
        if benchmark.radius_km is not None
        else ""
    )
    labels["kinds"] = [label(k, lang) for k in kinds]
    suffix = "" if level == "commune" else f".{level}"
    for key in ("map.search.placeholder", "map.search.none"):
        labels[key] = label(key + suffix, lang)
    return {
        "lang": lang,
        "level": level,
        "title": title,
        "subtitle": " · ".join(bench_bits),
        "synthetic": label("map.title.synthetic", lang) if synthetic else "",
        "communes": {"type": "FeatureCollection", "features": features},
        "fields": [[k, fmt] for k, _, fmt in _POPUP_FIELDS],
        "layers": layers,
        "districts": district_features,
        "provinces": province_features,
        "points": pts,
        "kindColours": [KIND_COLOURS[k] for k in kinds],
        "pointsLegend": _points_legend_html(
            kinds_present,
            lang=lang,
            clustered=len(pts["lat"]) > cluster_above,
            proposed=proposed_data is not None,
            uncovered=bool(uncovered_features),
        ),
        "cluster": len(pts["lat"]) > cluster_above,
        "ringsKm": benchmark.radius_km,
        "showRings": bool(show_rings),
        "uncovered": uncovered_features,
        "proposed": proposed_data,
        "noPointColour": NO_POINT.colour,
        "missingColour": MISSING.colour,
        "labels": labels,
    }


def _script_json(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class _RawElement(Element):
    """Text placed in the page as it is.

    branca turns the output of a macro into a new ``Element`` whose text is compiled
    as a Jinja template when the page renders; text that holds data (commune names)
    must never be compiled, or ``{{ ... }}`` in a name would run in Python.
    """

    def __init__(self, text: str) -> None:
        super().__init__("")
        self._text = text

    def render(self, **kwargs) -> str:
        """Return the text unchanged."""
        return self._text


class _CoverageLayers(MacroElement):
    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
var map = {{ this._parent.get_name() }};
var D = {{ this.data_json }};
{{ this.js }}
})();
{% endmacro %}
"""
    )

    def __init__(self, data: dict) -> None:
        super().__init__()
        self._name = "CoverageLayers"
        self.data_json = _script_json(data)
        self.js = _MAP_JS
        self.css = _MAP_CSS

    def render(self, **kwargs) -> None:
        """Add the style and the script to the page, never re-templated."""
        figure = self.get_root()
        module = self._template.module
        name = self.get_name()
        figure.header.add_child(_RawElement(module.header(self, kwargs)), name=name)
        figure.script.add_child(_RawElement(module.script(self, kwargs)), name=name)


class CoverageMap(folium.Map):
    """A folium map that loads only Leaflet (no jQuery, Bootstrap or icon fonts)."""

    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet", _cdn("leaflet_js"))]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_css", _cdn("leaflet_css"))
    ]


class _MarkerClusterAssets(JSCSSMixin, MacroElement):
    """Adds Leaflet.markercluster's files to the page header."""

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("markercluster", _cdn("markercluster_js"))
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("markercluster_css", _cdn("markercluster_css")),
        ("markercluster_default_css", _cdn("markercluster_default_css")),
    ]


def build_map(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame | None,
    *,
    benchmark: Benchmark,
    lang: str = "en",
    title: str = "",
    synthetic: bool = False,
    districts: gpd.GeoDataFrame | None = None,
    provinces: gpd.GeoDataFrame | None = None,
    uncovered: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    access_threshold_km: float | None = None,
    show_rings: bool = False,
    offline: bool = False,
    cluster_above: int = 300,
    level: str = "commune",
) -> folium.Map:
    """Build the interactive gap map.

    Parameters
    ----------
    communes
        Communes with the postal metric columns (``commune_code, commune_name,
        population, n_points, radius_km, radius_ratio, people_per_point,
        people_ratio, points_needed``...; optional ``district_name``,
        ``province_name``, ``share_within_{t}km``), any CRS.
    points
        Service points (``kind``, ``staffed``, ``admin_services``, ``name``), any
        CRS, or None.
    benchmark
        The benchmark the ratios refer to.
    lang
        ``"en"`` or ``"vi"``: labels, tooltips and popups.
    title
        Title shown on the map (the data); the benchmark is added below it.
    synthetic
        Say prominently that the data are synthetic (also when the communes have
        a true ``synthetic`` column).
    districts, provinces
        Outline layers; by default dissolved from the communes'
        ``district_name`` / ``province_name`` when present.
    uncovered
        Polygons of uncovered zones (optional ``population`` column).
    proposed
        Proposed new points from ``coverage plan`` (optional ``name``,
        ``commune_name``).
    access_threshold_km
        Which ``share_within_{t}km`` column to map (default: the first present).
    show_rings
        Show the rings at the benchmark radius around each point at start.
    offline
        Accepted for symmetry with :func:`write_map`, which does the inlining.
    cluster_above
        Cluster the points when there are more than this many.
    level
        ``"commune"`` (default) or ``"province"``: the units drawn. Province
        units carry the metric columns plus ``province_name``, used as their name
        and code (no ``commune_code``/``commune_name`` needed); tooltips, popups,
        search, legend and subtitle then speak of provinces, and no outlines are
        dissolved from them.

    Returns
    -------
    folium.Map
        The map; write it with :func:`write_map`.

    Raises
    ------
    InputError
        When metric columns are missing or the access threshold has no column.
    """
    del offline
    data = map_data(
        communes,
        points,
        benchmark=benchmark,
        lang=lang,
        title=title,
        synthetic=synthetic,
        districts=districts,
        provinces=provinces,
        uncovered=uncovered,
        proposed=proposed,
        access_threshold_km=access_threshold_km,
        show_rings=show_rings,
        cluster_above=cluster_above,
        level=level,
    )
    bounds = to_wgs84(communes).total_bounds
    centre = (
        [float((bounds[1] + bounds[3]) / 2), float((bounds[0] + bounds[2]) / 2)]
        if np.all(np.isfinite(bounds))
        else [16.0, 106.0]
    )
    fmap = CoverageMap(location=centre, zoom_start=9, tiles=None, control_scale=True)
    fmap.get_root().header.add_child(
        Element('<meta name="referrer" content="strict-origin-when-cross-origin"/>')
    )
    if data["cluster"]:
        fmap.add_child(_MarkerClusterAssets())
    fmap.add_child(_CoverageLayers(data))
    return fmap


def render_html(fmap: folium.Map) -> str:
    """Return the HTML of a map."""
    return fmap.get_root().render()


BUNDLED_ASSETS = Path(__file__).resolve().parent / "assets"


def find_assets(assets_dir: str | Path | None = None) -> Path:
    """Return the folder holding Leaflet's files for offline maps.

    Looked up in ``assets_dir`` when given, else ``$COVERAGE_MAP_ASSETS`` when
    set, else the copies shipped in the package (``coverage/assets``). A folder
    may be an npm ``node_modules`` or the project folder above it.

    Raises
    ------
    OutputError
        When the chosen folder holds no ``leaflet/dist/leaflet.js``.
    """
    chosen = assets_dir or os.environ.get("COVERAGE_MAP_ASSETS") or BUNDLED_ASSETS
    base = Path(chosen)
    for root in (base, base / "node_modules"):
        if (root / "leaflet" / "dist" / "leaflet.js").is_file():
            return root
    msg = (
        f"an offline map needs Leaflet's files, not found in {base}: run `npm "
        "install leaflet@1.9.3 leaflet.markercluster@1.5.3` there, or unset "
        "COVERAGE_MAP_ASSETS to use the copies shipped with coverage-planner"
    )
    raise OutputError(msg)


def _inline_assets(page: str, assets: Path) -> str:
    for key in ASSETS:
        package, _version, path = ASSETS[key]
        url = _cdn(key)
        if url not in page:
            continue
        file = assets / package / path
        if not file.is_file():
            msg = f"offline map: {file} is missing (npm install {package})"
            raise OutputError(msg)
        content = file.read_text(encoding="utf-8")
        if path.endswith(".js"):
            block = "<script>" + content.replace("</script", "<\\/script") + "</script>"
            page = re.sub(
                r'<script src="' + re.escape(url) + r'"></script>',
                lambda _m, b=block: b,
                page,
            )
        else:
            folder = file.parent

            def data_uri(match: re.Match[str], folder: Path = folder) -> str:
                image = folder / match.group(1)
                if not image.is_file():
                    return match.group(0)
                encoded = base64.b64encode(image.read_bytes()).decode("ascii")
                return f"url(data:image/png;base64,{encoded})"

            content = re.sub(r"url\((images/[^)]+\.png)\)", data_uri, content)
            block = "<style>" + content + "</style>"
            page = re.sub(
                r'<link rel="stylesheet" href="' + re.escape(url) + r'"\s*/>',
                lambda _m, b=block: b,
                page,
            )
    return page


def write_map(
    fmap: folium.Map,
    path: str | Path,
    *,
    offline: bool = False,
    assets_dir: str | Path | None = None,
) -> Path:
    """Write the map as one HTML file, atomically.

    Parameters
    ----------
    fmap
        A map from :func:`build_map`.
    path
        Destination ``.html``; folders are created.
    offline
        Inline Leaflet (and Leaflet.markercluster) so the page works without
        internet; the files come from :func:`find_assets` (by default the copies
        shipped in the package).
    assets_dir
        Another ``node_modules`` folder for ``offline``.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputError
        When the folder cannot be written or offline assets are missing.
    """
    target = Path(path)
    page = render_html(fmap)
    if offline:
        page = _inline_assets(page, find_assets(assets_dir))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(page)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        msg = f"cannot write the map {target}: {exc.strerror or exc}"
        raise OutputError(msg) from exc
    return target


save_map = write_map


def _umask() -> int:
    # mkstemp creates files 0600; give the map the permissions of a normal file.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MAP_CSS = """
html, body {margin:0;padding:0;}
.leaflet-container {background:#f4f4f2;font:13px/1.35 system-ui,"Segoe UI",
 Roboto,Arial,sans-serif;}
.cv-title {position:absolute;top:10px;left:50%;transform:translateX(-50%);
 z-index:1000;background:rgba(255,255,255,.93);padding:6px 14px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);text-align:center;
 max-width:max(260px, calc(100% - 760px));}
.cv-title h1 {font-size:15px;margin:0;font-weight:600;}
.cv-title .cv-sub {font-size:12px;color:#444;}
.cv-title .cv-synthetic {font-size:12px;color:#b30000;font-weight:700;}
.cv-legend {background:rgba(255,255,255,.95);padding:8px 10px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);max-width:290px;max-height:70vh;
 overflow:auto;}
.cv-legend-title {font-weight:700;margin:2px 0 4px;}
.cv-legend-note, .cv-legend-unit {font-size:11px;color:#555;margin-bottom:3px;}
.cv-bin {display:flex;align-items:center;gap:6px;margin:2px 0;}
.cv-swatch {display:inline-block;width:22px;height:14px;flex:none;
 border:1px solid #666;box-sizing:border-box;}
.cv-dot {display:inline-block;width:12px;height:12px;border-radius:50%;flex:none;
 border:1.5px solid #fff;box-shadow:0 0 0 1px #888;box-sizing:border-box;}
.cv-cluster {width:20px;height:20px;background:rgba(110,204,57,.8);font-size:10px;
 text-align:center;line-height:17px;}
.cv-sep {border-top:1px solid #ccc;margin:6px 0;}
.cv-search {background:#fff;padding:4px;border-radius:4px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);}
.cv-search input {width:190px;padding:4px 6px;font-size:13px;
 border:1px solid #aaa;border-radius:3px;}
.cv-search ul {list-style:none;margin:3px 0 0;padding:0;max-height:240px;
 overflow:auto;}
.cv-search li {padding:3px 6px;cursor:pointer;}
.cv-search li:hover, .cv-search li.cv-active {background:#e6f0ff;}
.cv-search li small {color:#666;}
.cv-tip b {font-weight:700;}
.leaflet-tooltip.cv-tooltip {white-space:normal;max-width:320px;width:max-content;
 overflow-wrap:anywhere;}
.cv-title h1, .cv-popup h3, .cv-search li, .cv-popup td {overflow-wrap:anywhere;}
.leaflet-popup-content {max-width:340px;max-height:60vh;overflow:auto;}
.cv-title {max-height:30vh;overflow:auto;}
.cv-popup table {border-collapse:collapse;}
.cv-popup th {text-align:left;font-weight:600;padding:1px 8px 1px 0;
 vertical-align:top;}
.cv-popup td {padding:1px 0;}
.cv-popup h3 {margin:0 0 4px;font-size:14px;}
"""

_MAP_JS = r"""
var L_ = D.labels;
var fmtLocale = D.lang === 'vi' ? 'vi-VN' : 'en-US';
function fmt(v, kind) {
  if (v === null || v === undefined || v === '') return '–';
  if (kind === 'text') return String(v);
  if (kind === 'int') return Number(v).toLocaleString(fmtLocale,
    {maximumFractionDigits: 0});
  if (kind === 'pct') return (100 * v).toLocaleString(fmtLocale,
    {minimumFractionDigits: 1, maximumFractionDigits: 1}) + ' %';
  return Number(v).toLocaleString(fmtLocale,
    {minimumFractionDigits: 3, maximumFractionDigits: 3});
}
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
function fold(s) {
  return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().trim();
}
var container = map.getContainer();
// Title
var titleBox = el('div', 'cv-title');
titleBox.appendChild(el('h1', null, D.title));
titleBox.appendChild(el('div', 'cv-sub', D.subtitle));
if (D.synthetic) titleBox.appendChild(el('div', 'cv-synthetic', D.synthetic));
L.DomEvent.disableClickPropagation(titleBox);
container.appendChild(titleBox);

var tiles = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
  maxZoom: 19, attribution: '&copy; OpenStreetMap contributors'}).addTo(map);

function tipFor(p, layerKey) {
  var box = el('div', 'cv-tip');
  box.appendChild(el('b', 'cv-tip-name', p.n));
  if (p.d) box.appendChild(el('div', 'cv-tip-district', p.d));
  var rows = [['r', 'num3'], ['pp', 'int'], ['nd', 'int']];
  if (p.sh !== null && L_.sh) rows.splice(2, 0, ['sh', 'pct']);
  rows.forEach(function (r) {
    var line = el('div', 'cv-tip-' + r[0]);
    line.textContent = L_[r[0]] + ': ' + fmt(p[r[0]], r[1]);
    box.appendChild(line);
  });
  if (!p.np) box.appendChild(el('div', 'cv-tip-nopoint', L_.np + ': 0'));
  return box;
}
function popupFor(p) {
  var box = el('div', 'cv-popup');
  box.appendChild(el('h3', null, p.n));
  var table = el('table');
  D.fields.forEach(function (f) {
    var key = f[0];
    if (key === 'sh' && !L_.sh) return;
    if (f[1] === 'text' && !p[key]) return;
    var tr = el('tr');
    tr.appendChild(el('th', null, L_[key]));
    tr.appendChild(el('td', 'cv-f-' + key, fmt(p[key], f[1])));
    table.appendChild(tr);
  });
  box.appendChild(table);
  return box;
}

var baseLayers = {};
var communeLayers = {};
var byCode = {};
D.layers.forEach(function (spec, li) {
  var lyr = L.geoJSON(D.communes, {
    style: function (f) {
      var k = f.properties.k[li];
      var noPoint = !f.properties.np;
      var fill = k >= 100 ? (k === 100 ? D.noPointColour : D.missingColour)
        : spec.colours[k];
      if (k === 100 && !spec.fillSpecial) fill = D.missingColour;
      var st = {className: 'cv-commune cv-layer-' + spec.key, fillColor: fill,
        fillOpacity: 0.72, color: '#555', weight: 0.6, opacity: 0.9};
      if (noPoint && !spec.fillSpecial) {
        st.color = D.noPointColour; st.weight = 3; st.opacity = 1;
      }
      return st;
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () { return tipFor(f.properties, spec.key); },
        {sticky: true, className: 'cv-tooltip'});
      layer.bindPopup(function () { return popupFor(f.properties); },
        {maxWidth: 360});
      layer.on('add', function () {
        if (layer._path) layer._path.setAttribute('data-code', f.properties.c);
      });
      layer.on('mouseover', function () {
        if (!spec.fillSpecial && !f.properties.np) return;
        layer.setStyle({weight: 2.5, color: '#000'});
      });
      layer.on('mouseout', function () { lyr.resetStyle(layer); });
      (byCode[f.properties.c] = byCode[f.properties.c] || {})[spec.key] = layer;
    }
  });
  baseLayers[spec.title] = lyr;
  communeLayers[spec.key] = lyr;
});
var overlays = {};
function outlineLayer(features, cls, weight, colour) {
  return L.geoJSON({type: 'FeatureCollection', features: features}, {
    interactive: false,
    style: {className: cls, color: colour, weight: weight, fill: false,
      opacity: 0.9}
  });
}
var outlinePane = map.createPane('cv-outlines');
outlinePane.style.zIndex = 450;
outlinePane.style.pointerEvents = 'none';
if (D.districts.length) {
  var dl = L.geoJSON({type: 'FeatureCollection', features: D.districts}, {
    pane: 'cv-outlines', interactive: false,
    style: {className: 'cv-district', color: '#222', weight: 1.6, fill: false}});
  overlays[L_['map.layer.districts']] = dl.addTo(map);
}
if (D.provinces.length) {
  var pl = L.geoJSON({type: 'FeatureCollection', features: D.provinces}, {
    pane: 'cv-outlines', interactive: false,
    style: {className: 'cv-province', color: '#000', weight: 3, fill: false}});
  overlays[L_['map.layer.provinces']] = pl.addTo(map);
}
if (D.uncovered.length) {
  var ul = L.geoJSON({type: 'FeatureCollection', features: D.uncovered}, {
    style: {className: 'cv-uncovered', color: '#000', weight: 1, dashArray: '4 3',
      fillColor: '#000', fillOpacity: 0.35},
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        return el('div', null, L_['map.uncovered'] + (f.properties.pop !== null ?
          ' · ' + L_.population + ': ' + fmt(f.properties.pop, 'int') : ''));
      }, {sticky: true});
    }});
  overlays[L_['map.layer.uncovered']] = ul.addTo(map);
}
var P = D.points;
var pointPane = map.createPane('cv-points');
pointPane.style.zIndex = 620;
var pointRenderer = D.cluster ? L.canvas({padding: 0.5, pane: 'cv-points'})
  : L.svg({pane: 'cv-points'});
function pointTip(i) {
  var box = el('div', 'cv-tip');
  box.appendChild(el('b', null, P.n[i] || L_.kinds[P.k[i]]));
  box.appendChild(el('div', null, L_.kind + ': ' + L_.kinds[P.k[i]]));
  box.appendChild(el('div', null, L_.staffed + ': ' +
    (P.s[i] ? L_['map.yes'] : L_['map.no'])));
  box.appendChild(el('div', null, L_.admin_services + ': ' +
    (P.t[i] ? L_['map.yes'] : L_['map.no'])));
  if (P.c[i]) box.appendChild(el('div', null, P.c[i]));
  return box;
}
var pointsLayer = D.cluster ? L.markerClusterGroup({chunkedLoading: true,
  showCoverageOnHover: false, disableClusteringAtZoom: 14, maxClusterRadius: 50})
  : L.featureGroup();
var markers = [];
for (var i = 0; i < P.lat.length; i++) {
  var colour = D.kindColours[P.k[i]];
  var m = L.circleMarker([P.lat[i], P.lon[i]], {renderer: pointRenderer,
    pane: 'cv-points',
    className: 'cv-point', radius: P.t[i] ? 6 : 5, color: P.t[i] ? '#000' : '#fff',
    weight: P.t[i] ? 2.5 : 1.2, fillColor: colour, fillOpacity: P.s[i] ? 1 : 0.25});
  if (!P.s[i] && !P.t[i]) m.setStyle({color: colour, weight: 1.8});
  (function (idx) { m.bindTooltip(function () { return pointTip(idx); }); })(i);
  markers.push(m);
}
if (D.cluster) pointsLayer.addLayers(markers);
else markers.forEach(function (m) { pointsLayer.addLayer(m); });
if (P.lat.length) overlays[L_['map.layer.points']] = pointsLayer.addTo(map);
if (D.ringsKm && P.lat.length) {
  var rings = L.layerGroup();
  var ringRenderer = L.canvas({padding: 0.5});
  var built = false;
  rings.on('add', function () {
    if (built) return;
    built = true;
    for (var j = 0; j < P.lat.length; j++) {
      L.circle([P.lat[j], P.lon[j]], {radius: D.ringsKm * 1000, renderer: ringRenderer,
        interactive: false, color: '#08306b', weight: 1, fillColor: '#6baed6',
        fillOpacity: 0.08}).addTo(rings);
    }
  });
  overlays[L_.rings] = rings;
  if (D.showRings) rings.addTo(map);
}
if (D.proposed && D.proposed.lat.length) {
  var Q = D.proposed;
  var prop = L.featureGroup();
  for (var q = 0; q < Q.lat.length; q++) {
    var pm = L.circleMarker([Q.lat[q], Q.lon[q]], {className: 'cv-proposed',
      pane: 'cv-points', renderer: pointRenderer,
      radius: 8, color: '#000', weight: 2, dashArray: '3 2', fillColor: '#ffff33',
      fillOpacity: 1});
    (function (idx) {
      pm.bindTooltip(function () {
        var b = el('div', 'cv-tip');
        b.appendChild(el('b', null, L_['map.proposed']));
        if (Q.n[idx]) b.appendChild(el('div', null, Q.n[idx]));
        if (Q.c[idx]) b.appendChild(el('div', null, Q.c[idx]));
        return b;
      });
    })(q);
    prop.addLayer(pm);
  }
  overlays[L_['map.layer.proposed']] = prop.addTo(map);
}
overlays['OpenStreetMap'] = tiles;

// Legend: the choropleth part follows the active layer.
var legend = L.control({position: 'bottomright'});
var legendChoro, legendPoints;
legend.onAdd = function () {
  var box = L.DomUtil.create('div', 'cv-legend');
  legendChoro = L.DomUtil.create('div', 'cv-legend-choro', box);
  if (P.lat.length || D.uncovered.length || (D.proposed && D.proposed.lat.length)) {
    L.DomUtil.create('div', 'cv-sep', box);
    legendPoints = L.DomUtil.create('div', 'cv-legend-points', box);
    legendPoints.innerHTML = D.pointsLegend;
  }
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
};
legend.addTo(map);
function showLegend(key) {
  D.layers.forEach(function (s) {
    if (s.key === key) {
      legendChoro.innerHTML = s.legend;
      legendChoro.setAttribute('data-layer', key);
    }
  });
}
var first = D.layers[0];
communeLayers[first.key].addTo(map);
showLegend(first.key);
var activeKey = first.key;
map.on('baselayerchange', function (e) {
  D.layers.forEach(function (s) {
    if (communeLayers[s.key] === e.layer) { activeKey = s.key; showLegend(s.key); }
  });
});
L.control.layers(baseLayers, overlays, {collapsed: false, position: 'topright'})
  .addTo(map);

// Search, diacritics-insensitive.
var feats = D.communes.features;
var folded = feats.map(function (f) { return fold(f.properties.n); });
var search = L.control({position: 'topleft'});
search.onAdd = function () {
  var box = L.DomUtil.create('div', 'cv-search');
  var input = L.DomUtil.create('input', 'cv-search-input', box);
  input.type = 'search';
  input.placeholder = L_['map.search.placeholder'];
  input.setAttribute('aria-label', L_['map.search.placeholder']);
  var list = L.DomUtil.create('ul', 'cv-search-results', box);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  var hits = [];
  function choose(fi) {
    var code = feats[fi].properties.c;
    var layer = byCode[code][activeKey];
    map.fitBounds(layer.getBounds(), {maxZoom: 13});
    layer.openPopup(layer.getBounds().getCenter());
    list.innerHTML = '';
  }
  function update() {
    var q = fold(input.value);
    list.innerHTML = '';
    hits = [];
    if (!q) return;
    for (var i = 0; i < folded.length && hits.length < 10; i++) {
      if (folded[i].indexOf(q) !== -1) hits.push(i);
    }
    if (!hits.length) { list.appendChild(el('li', 'cv-none', L_['map.search.none'])); }
    hits.forEach(function (fi, n) {
      var cls = n === 0 ? 'cv-hit cv-active' : 'cv-hit';
      var li = el('li', cls, feats[fi].properties.n);
      if (feats[fi].properties.d) {
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('small', null, feats[fi].properties.d));
      }
      li.addEventListener('click', function () { choose(fi); });
      list.appendChild(li);
    });
  }
  input.addEventListener('input', update);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && hits.length) { choose(hits[0]); }
  });
  return box;
};
search.addTo(map);
var b = communeLayers[first.key].getBounds();
if (b.isValid()) map.fitBounds(b, {padding: [10, 10], animate: false});
window.coverageMap = {map: map, layers: communeLayers, points: pointsLayer,
  tiles: tiles, byCode: byCode};
"""
