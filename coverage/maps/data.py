"""Data of the gap map: everything the page draws, as JSON-ready structures.

:func:`map_data` turns communes, points, outlines, uncovered zones and proposals
into one dict (GeoJSON features with the figures and bin indexes, point columns,
legend HTML, labels); :func:`simplify_coverage` keeps the commune polygons light
without opening gaps between neighbours. The legend, built here from our own
labels and benchmark figures, is HTML-escaped.
"""

from __future__ import annotations

import html
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..benchmarks import Benchmark
from ..errors import InputError
from ..geo import dissolve_tiling, to_metric, to_wgs84
from ..i18n import LABELS, label
from ..reasons import render_reasons
from .classify import KIND_COLOURS, MISSING, NO_POINT, LayerSpec, _fmt, _layer_specs
from .values import _round, _text

# the what-if names stay importable from here; those outside __all__ are
# re-exported "as" themselves
from .whatif import WhatIfData as WhatIfData
from .whatif import _whatif_page
from .whatif import whatif_data as whatif_data
from .whatif import whatif_from_access as whatif_from_access

__all__ = [
    "initial_view",
    "map_data",
    "simplification_tolerance_m",
    "simplify_coverage",
    "simplify_rings",
]


def simplification_tolerance_m(area_m2: float) -> float:
    """Default simplification tolerance of a map covering ``area_m2``, metres.

    ``sqrt(area) / 2000``, clipped to 10-100 m: a province gets about 50 m, a
    country 100 m (a pixel at zoom 10 is about 150 m).
    """
    return float(np.clip(math.sqrt(max(area_m2, 0.0)) / 2000.0, 10.0, 100.0))


def _simplify_coverage(
    gdf: gpd.GeoDataFrame, tolerance_m: float | None
) -> tuple[gpd.GeoSeries, float]:
    metric = to_metric(gdf)
    geoms = metric.geometry.to_numpy()
    if tolerance_m is None:
        tolerance_m = simplification_tolerance_m(float(np.nansum(shapely.area(geoms))))
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
    return gpd.GeoSeries(rounded, index=gdf.index, crs=out.crs), tolerance_m


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
        (:func:`simplification_tolerance_m` of the total area).

    Returns
    -------
    geopandas.GeoSeries
        The simplified geometries in EPSG:4326, same index as ``gdf``.
    """
    return _simplify_coverage(gdf, tolerance_m)[0]


def simplify_rings(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify every ring of (multi)polygons on its own, for drawing.

    Each shell and hole is simplified as a line (Douglas-Peucker, ends kept), so
    a zone of a million vertices with thousands of holes takes a fraction of a
    second, where a topology-preserving simplification takes tens of seconds. A
    ring that would collapse (fewer than four vertices) stays as it was, so no
    zone and no hole disappears. The result may touch or cross itself within the
    tolerance: it is meant for the page, which fills rings even-odd, not for
    measuring.

    Parameters
    ----------
    geoms
        Polygons or MultiPolygons in a metric CRS; other geometries and None
        give None.
    tolerance_m
        Largest distance a vertex may move, in the units of the CRS (metres).

    Returns
    -------
    numpy.ndarray
        One geometry per input: a Polygon when one part is left, else a
        MultiPolygon.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygon = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~(
        shapely.is_empty(parts)
    )
    parts, owner = parts[polygon], owner[polygon]
    if not len(parts):
        return out
    rings, part = shapely.get_rings(parts, return_index=True)
    counts = shapely.get_num_coordinates(rings)
    lines = shapely.linestrings(
        shapely.get_coordinates(rings), indices=np.repeat(np.arange(len(rings)), counts)
    )
    simple = shapely.simplify(lines, tolerance_m, preserve_topology=False)
    kept = shapely.get_num_coordinates(simple) >= 4
    chosen = rings.copy()
    if kept.any():
        n_kept = shapely.get_num_coordinates(simple[kept])
        chosen[kept] = shapely.linearrings(
            shapely.get_coordinates(simple[kept]),
            indices=np.repeat(np.arange(int(kept.sum())), n_kept),
        )
    polygons = shapely.polygons(chosen, indices=part)
    shapely.multipolygons(polygons, indices=owner, out=out)
    single = np.bincount(owner, minlength=len(geoms)) == 1
    out[single] = shapely.get_geometry(out[single], 0)
    return out


def _simplify_zones(zones: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Zones with their rings simplified (:func:`simplify_rings`), in a metric CRS.

    Zones are unions of grid cells: without this, a staircase vertex at every cell
    corner makes up most of a national map's bytes.
    """
    metric = to_metric(zones)
    geoms = metric.geometry.to_numpy()
    simple = simplify_rings(geoms, tolerance_m)
    simple = np.where(pd.isna(simple), geoms, simple)
    return metric.set_geometry(
        gpd.GeoSeries(simple, index=metric.index, crs=metric.crs)
    )


def initial_view(
    geoms: gpd.GeoSeries | np.ndarray,
    population: np.ndarray,
    *,
    gap_km: float = 25.0,
    min_share: float = 0.1,
) -> list[list[float]] | None:
    """Bounds the map opens on: the populated main landmass, not far islands.

    Communes whose extents lie within ``gap_km`` of each other form groups (a
    single-linkage chain, so a coast with its near islands is one group); the view
    fits the most populous group and every group holding at least ``min_share`` of
    its population. Small far groups (offshore archipelagos) stay on the map but
    do not pull the view.

    Parameters
    ----------
    geoms
        Commune geometries in EPSG:4326.
    population
        Population of each commune.
    gap_km
        Largest gap between two communes of one group, km.
    min_share
        Least population of another group, as a share of the main group's, for
        the view to include it.

    Returns
    -------
    list or None
        ``[[south, west], [north, east]]``, or None when no geometry has bounds.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    arr = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(arr)
    ok = np.isfinite(bounds).all(axis=1)
    if not ok.any():
        return None
    b = bounds[ok]
    pop = np.nan_to_num(np.asarray(population, dtype=float)[ok], nan=0.0)
    lat0 = float(np.mean((b[:, 1] + b[:, 3]) / 2))
    kx, ky = 111.32 * math.cos(math.radians(lat0)), 110.57
    boxes = shapely.box(b[:, 0] * kx, b[:, 1] * ky, b[:, 2] * kx, b[:, 3] * ky)
    n = len(boxes)
    tree = shapely.STRtree(boxes)
    # touching boxes first (few pairs; communes tile the land): a pair within the
    # gap that joins two of these groups has an end outside the largest one, so
    # only those boxes need the (many-pair) distance query; the groups are the same
    left, right = tree.query(boxes, predicate="intersects")
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, touching = connected_components(graph, directed=False)
    others = np.flatnonzero(touching != np.argmax(np.bincount(touching)))
    near_l, near_r = tree.query(boxes[others], predicate="dwithin", distance=gap_km)
    left = np.concatenate([left, others[near_l]])
    right = np.concatenate([right, near_r])
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _n_groups, group = connected_components(graph, directed=False)
    weight = np.bincount(group, weights=pop + 1e-9)
    keep = weight >= min_share * weight.max()
    chosen = b[keep[group]]
    return [
        [float(chosen[:, 1].min()), float(chosen[:, 0].min())],
        [float(chosen[:, 3].max()), float(chosen[:, 2].max())],
    ]


def _geometry_json(geoms: np.ndarray) -> list[dict | None]:
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
        return {
            "lat": [],
            "lon": [],
            "k": [],
            "s": [],
            "t": [],
            "n": [],
            "c": [],
            "id": [],
        }
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
        "id": _text(pts["point_id"] if "point_id" in pts.columns else None, len(pts)),
    }


def _layer_edges(spec: LayerSpec) -> list[float]:
    """Edges the page classifies recomputed values with (what-if)."""
    if spec.key not in ("radius", "people", "share", "needed"):
        return []  # not recomputed in the page (access score, travel time)
    if spec.key == "share":
        return [max(b.lower, -1.0) for b in spec.bins]
    return [b.upper for b in spec.bins[:-1]]


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
    outline_zooms: tuple[int, int] = (8, 10),
    whatif: WhatIfData | None = None,
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
    geoms, tolerance_m = _simplify_coverage(communes, None)
    n = len(communes)
    text_cols = {"c": code_col, "d": "district_name", "p": "province_name"}
    if level == "province":
        # the unit is the province: no district, and its name is already shown
        text_cols |= {"d": "", "p": ""}
    props: dict[str, list] = {"n": _text(communes[name_col], n)}
    for key, col in text_cols.items():
        props[key] = _text(communes[col] if col in communes.columns else None, n)
    # a finished run's GeoPackage keeps the codes beside the words
    reasons = communes.get("gap_reason_codes", communes.get("gap_reasons"))
    props["g"] = _text(None if reasons is None else render_reasons(reasons, lang), n)
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
        if "zone_id" in uncovered.columns and "population_zone" in uncovered.columns:
            # rows are a zone's parts per commune: draw each connected zone once
            parts = uncovered[["zone_id", "population_zone", "geometry"]]
            zones = dissolve_tiling(parts, "zone_id")
            uncovered = zones.rename(columns={"population_zone": "population"})
        ug = to_wgs84(_simplify_zones(uncovered, tolerance_m))
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
                "edges": _layer_edges(spec),
                "legend": _legend_html(
                    spec, lang, note if spec.key in ("radius", "people") else "", level
                ),
            }
        )
    bench_bits = [f"{label('map.title.benchmark', lang)}: {benchmark.name}"]
    if level != "commune":
        bench_bits.insert(0, label(f"map.title.level.{level}", lang))
    if benchmark.radius_km is not None:
        bench_bits.append(f"R ≤ {_fmt(benchmark.radius_km, lang=lang)} km")
    if benchmark.people_per_point is not None:
        bench_bits.append(
            f"≤ {_fmt(benchmark.people_per_point, lang=lang)} "
            + ("người/điểm" if lang == "vi" else "people/point")
        )
    synthetic = synthetic or (
        "synthetic" in communes.columns
        and bool(communes["synthetic"].fillna(False).astype(bool).any())
    )
    labels: dict[str, str | list[str]] = {
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
        label("map.layer.rings", lang).format(r=_fmt(benchmark.radius_km, lang=lang))
        if benchmark.radius_km is not None
        else ""
    )
    labels["kinds"] = [label(k, lang) for k in kinds]
    for key in ("map.layer.basemap", "map.layer.tiles"):
        labels[key] = label(key, lang)
    if whatif is not None:
        for key in LABELS:
            if key.startswith("wi."):
                labels[key] = label(key, lang)
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
        "view": initial_view(geoms.to_numpy(), communes["population"].to_numpy(float)),
        "outlineZooms": [int(outline_zooms[0]), int(outline_zooms[1])],
        "shareKm": None if share_col is None else float(share_col[13:-2]),
        "whatif": (
            None
            if whatif is None
            else _whatif_page(whatif, communes, benchmark, code_col)
        ),
        "uncovered": uncovered_features,
        "proposed": proposed_data,
        "noPointColour": NO_POINT.colour,
        "missingColour": MISSING.colour,
        "labels": labels,
    }
