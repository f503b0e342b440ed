"""Reading service points and settlements, and assigning points to communes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import CRSError, InputError, ValidationError
from ..geo import WGS84, metric_crs
from ..i18n import Note
from ..model import KINDS
from .columns import (
    COMMUNE_ALIASES,
    POINT_ALIASES,
    _code_text,
    _map_columns,
    normalise_key,
    parse_bool,
    parse_number,
)
from .files import _apply_crs, _check_path, _read_spatial, read_table
from .problems import Loaded, Problem, _shown, _warning_notes, _warnings_caught

__all__ = [
    "KINDS",
    "assign_points",
    "load_points",
    "read_points",
    "read_settlements",
]


# Ordered: the first pattern that matches the folded text decides the kind.
_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bculture\b|\bvhx\b|\bbd ?vhx\b|van hoa", "culture_post"),
    (r"letter|\bbox\b|thung thu|hop thu", "letter_box"),
    (r"agent|dai ly", "agent"),
    (r"deliver|phat", "delivery"),
    (r"post|buu cuc|buu dien|\bbc\b|\bbd\b", "post_office"),
    (r"other|khac", "other"),
)


def _kind_of(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    folded = (
        values.astype("string").fillna("").map(normalise_key).astype("string")
    ).str.replace("_", " ")
    kinds = pd.Series(pd.NA, index=values.index, dtype="string")
    for pattern, kind in _KIND_PATTERNS:
        hit = folded.str.contains(pattern, regex=True).fillna(False) & kinds.isna()
        kinds[hit] = kind
    bad = (kinds.isna() & (folded != "")).to_numpy()
    return kinds.fillna("other").astype(str), bad


def read_points(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> Loaded:
    """Read a service-point layer (CSV with lat/lon, or any spatial file).

    Parameters
    ----------
    path
        CSV (UTF-8, UTF-8 with BOM, UTF-16, Windows-1258/1252; comma, semicolon or
        tab), GeoJSON, GeoPackage or Shapefile.
    columns
        Explicit source column names keyed by canonical name (``point_id``,
        ``name``, ``kind``, ``staffed``, ``admin_services``, ``operator``,
        ``declared_commune_code``, ``lat``, ``lon``).
    crs
        CRS of the coordinates; CSV coordinates default to EPSG:4326.
    layer
        Layer name in a multi-layer file.

    Returns
    -------
    Loaded
        The canonical frame and notes (defaults applied for missing columns).

    Raises
    ------
    InputError, CRSError, ValidationError
        With every problem found, each naming the row or feature and the fix.
    """
    loaded, problems = load_points(path, columns=columns, crs=crs, layer=layer)
    if problems:
        raise ValidationError(problems)
    return loaded


def read_settlements(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read settlement points (villages, hamlets) with their population.

    Parameters
    ----------
    path
        CSV with lat/lon and a population column (``population``, ``dan_so``,
        ``pop``...), or a point layer.
    columns
        Explicit column names (``lat``, ``lon``, ``population``...).
    crs
        CRS of the coordinates; CSV coordinates default to EPSG:4326.
    layer
        Layer name in a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``population`` and point geometry, one row per settlement.

    Raises
    ------
    InputError, ValidationError
        Unreadable file, no population column, bad coordinates or populations.
    """
    loaded, problems = load_points(path, columns=columns, crs=crs, layer=layer)
    source = str(path)
    src = Path(path)
    if src.suffix.lower() in {".csv", ".txt", ".tsv"}:
        table, _ = read_table(src)
    else:
        gdf = _read_spatial(src, layer=layer)
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    mapping = _map_columns(
        list(table.columns),
        {"population": COMMUNE_ALIASES["population"]},
        columns,
        source=source,
    )
    if "population" not in mapping:
        msg = (
            f"{source}: no population column found in the settlements; name it with "
            "--column population=YOUR_COLUMN"
        )
        raise InputError(msg)
    pop, bad = parse_number(
        table[mapping["population"]].reset_index(drop=True), integer=True
    )
    frame = loaded.frame.reset_index(drop=True)
    for i in np.flatnonzero(bad | pop.isna().to_numpy() | (pop < 0).to_numpy())[:20]:
        problems.append(
            Problem(
                source,
                f"row {i + 2}",
                f"settlement population {_shown(table[mapping['population']].iloc[i])}"
                " is not a number of 0 or more",
                "write a whole number such as 350",
            )
        )
    if problems:
        raise ValidationError(problems)
    return gpd.GeoDataFrame(
        {"name": frame["name"], "population": pop.to_numpy(float)},
        geometry=frame.geometry.values,
        crs=frame.crs,
    )


def load_points(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> tuple[Loaded, list[Problem]]:
    """Read a service-point layer and return it with the problems found.

    Same parameters as :func:`read_points`; rows with problems stay in the frame
    (with their coordinates as read) so that cross-layer checks can look at them.

    Returns
    -------
    (Loaded, list of Problem)
        The canonical frame with notes, and every problem.

    Raises
    ------
    InputError, CRSError
        When the layer cannot be read at all (missing file, no coordinate columns).
    """
    with _warnings_caught() as caught:
        loaded, problems = _load_points(path, columns=columns, crs=crs, layer=layer)
    loaded.notes.extend(_warning_notes(caught, source=str(path)))
    return loaded, problems


def _load_points(
    path: str | Path,
    *,
    columns: dict[str, str] | None,
    crs: str | None,
    layer: str | None,
) -> tuple[Loaded, list[Problem]]:
    path = _check_path(path)
    source = str(path)
    notes: list[str] = []
    is_csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
    if is_csv:
        table, read_notes = read_table(path)
        notes.extend(read_notes)
        mapping = _map_columns(
            list(table.columns), POINT_ALIASES, columns, source=source
        )
        if "lat" not in mapping or "lon" not in mapping:
            msg = (
                f"{source}: no latitude/longitude columns found (columns: "
                f"{', '.join(table.columns[:12])}); name them with --column lat=COL "
                "--column lon=COL"
            )
            raise InputError(msg)
        frame, problems = _points_from_table(table, mapping, source=source, crs=crs)
    else:
        gdf = _read_spatial(path, layer=layer, param="points_layer")
        _apply_crs(gdf, crs, source=source, option="--points-crs")
        mapping = _map_columns(
            [c for c in gdf.columns if c != gdf.geometry.name],
            {k: v for k, v in POINT_ALIASES.items() if k not in ("lat", "lon")},
            columns,
            source=source,
        )
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        frame, problems = _points_from_table(
            table, mapping, source=source, geometry=gdf.geometry, crs=None
        )
    if len(frame) == 0 and not problems:
        msg = f"{source}: the layer has no service points"
        raise InputError(msg)
    for key in ("kind", "staffed", "admin_services"):
        if key not in mapping:
            notes.append(Note(f"no_column.{key}"))
    return Loaded(frame, notes, mapping), problems


def _points_from_table(
    table: pd.DataFrame,
    mapping: dict[str, str],
    *,
    source: str,
    geometry: gpd.GeoSeries | None = None,
    crs: str | None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    problems: list[Problem] = []
    n = len(table)
    row_label = (
        (lambda i: f"row {i + 2}")
        if geometry is None
        else (lambda i: f"feature {i + 1}")
    )
    out = pd.DataFrame(index=pd.RangeIndex(n))

    def text(key: str, default: str) -> pd.Series:
        if key in mapping:
            return (
                table[mapping[key]].astype("string").fillna("").str.strip().astype(str)
            ).reset_index(drop=True)
        return pd.Series([default] * n, dtype=str)

    ids = text("point_id", "")
    if "point_id" not in mapping:
        ids = pd.Series([f"P{i + 1:05d}" for i in range(n)], dtype=str)
    blank_id = (ids == "").to_numpy()
    if blank_id.any():
        # a point without an id is still a point: name it after its row or feature
        rows = np.flatnonzero(blank_id)
        ids = ids.copy()
        ids.iloc[rows] = [row_label(i).replace(" ", "-") for i in rows]
    out["point_id"] = ids
    out["name"] = text("name", "")
    if "kind" in mapping:
        kinds, bad = _kind_of(table[mapping["kind"]].reset_index(drop=True))
        for i in np.flatnonzero(bad)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    f"kind {_shown(table[mapping['kind']].iloc[i])} not recognised",
                    f"use one of {', '.join(KINDS)}",
                )
            )
        out["kind"] = kinds.to_numpy()
    else:
        out["kind"] = "other"
    for key in ("staffed", "admin_services"):
        if key in mapping:
            values, bad = parse_bool(table[mapping[key]].reset_index(drop=True))
            for i in np.flatnonzero(bad)[:20]:
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"{key} value {_shown(table[mapping[key]].iloc[i])} "
                        "is not yes/no",
                        "write yes or no (1/0, true/false, có/không also work)",
                    )
                )
            out[key] = values.to_numpy()
        elif key == "staffed":
            out[key] = (out["kind"] != "letter_box").to_numpy()
        else:
            out[key] = False
    out["operator"] = text("operator", "")
    if "capacity" in mapping:
        cap, bad_cap = parse_number(table[mapping["capacity"]].reset_index(drop=True))
        bad_cap |= (cap < 0).to_numpy() | np.isinf(cap.to_numpy())
        for i in np.flatnonzero(bad_cap)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    f"capacity {_shown(table[mapping['capacity']].iloc[i])} is not a "
                    "number >= 0",
                    "write the counters, staff or dossiers per day, or leave it blank",
                )
            )
        out["capacity"] = cap.where(~bad_cap).to_numpy(float)
    if "declared_commune_code" in mapping:
        out["declared_commune_code"] = _code_text(
            text("declared_commune_code", "")
        ).astype(str)
    dup = out["point_id"].duplicated(keep=False) & (out["point_id"] != "")
    for pid, grp in out.loc[dup, "point_id"].groupby(out.loc[dup, "point_id"]):
        labels = ", ".join(row_label(i) for i in grp.index[:5])
        problems.append(
            Problem(
                source,
                labels,
                f"point id {_shown(pid)} appears {len(grp)} times",
                "ids must be unique; fix or remove the duplicates",
            )
        )
    if geometry is None:
        lat, bad_lat = parse_number(table[mapping["lat"]].reset_index(drop=True))
        lon, bad_lon = parse_number(table[mapping["lon"]].reset_index(drop=True))
        bad_lat |= np.isinf(lat.to_numpy())
        bad_lon |= np.isinf(lon.to_numpy())
        lat, lon = lat.where(~bad_lat), lon.where(~bad_lon)
        blank = (lat.isna() & ~bad_lat) | (lon.isna() & ~bad_lon)
        for i in np.flatnonzero(bad_lat | bad_lon)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    f"coordinates ({_shown(table[mapping['lat']].iloc[i])}, "
                    f"{_shown(table[mapping['lon']].iloc[i])}) are not numbers",
                    "write decimal degrees such as 20.8133, 105.3383",
                )
            )
        for i in np.flatnonzero(blank.to_numpy())[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "latitude or longitude is blank",
                    "fill in both coordinates or remove the row",
                )
            )
        try:
            target_crs = CRS.from_user_input(crs) if crs else WGS84
        except Exception:
            msg = f"--points-crs {crs!r} is not a CRS; use e.g. EPSG:4326 or EPSG:32648"
            raise CRSError(msg) from None
        if target_crs.is_geographic:
            out_of_range = ((lat.abs() > 90) | (lon.abs() > 180)) & ~blank
            metres = ((lat.abs() > 1000) & (lon.abs() > 1000)).to_numpy()
            if out_of_range.any() and metres[out_of_range.to_numpy()].all():
                problems.append(
                    Problem(
                        source,
                        "",
                        f"{int(out_of_range.sum())} row(s) have coordinates in the "
                        "thousands: they look like metres of a projected CRS, not "
                        "degrees",
                        "give their CRS with --points-crs (e.g. EPSG:32648 for UTM "
                        "zone 48N, EPSG:9210 for VN-2000)",
                    )
                )
            for i in np.flatnonzero(out_of_range.to_numpy())[:20]:
                swapped = abs(lon.iloc[i]) <= 90 < abs(lat.iloc[i]) <= 180
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"coordinates lat={lat.iloc[i]:g}, lon={lon.iloc[i]:g} are out "
                        "of range"
                        + (" (latitude and longitude swapped?)" if swapped else ""),
                        "latitude must be within ±90 and longitude within ±180"
                        + ("; swap the two columns" if swapped else ""),
                    )
                )
        geoms = shapely.points(lon.to_numpy(), lat.to_numpy())
        frame = gpd.GeoDataFrame(out, geometry=geoms, crs=target_crs)
    else:
        geoms = geometry.reset_index(drop=True).to_numpy()
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        for i in np.flatnonzero(missing)[:20]:
            problems.append(
                Problem(source, row_label(i), "has no geometry", "give it a location")
            )
        types = shapely.get_type_id(geoms)
        multi = types == 4
        if multi.any():
            geoms = geoms.copy()
            geoms[multi] = shapely.centroid(geoms[multi])
        wrong = ~np.isin(shapely.get_type_id(geoms), (0,)) & ~missing
        xy = np.full((len(geoms), 2), np.nan)
        is_point = ~wrong & ~missing
        xy[is_point] = shapely.get_coordinates(geoms[is_point])[:, :2]
        unusable = is_point & ~np.isfinite(xy).all(axis=1)
        for i in np.flatnonzero(unusable)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "point has no usable coordinates (NaN or infinite)",
                    "give it a location or remove it",
                )
            )
        if geometry.crs is not None and CRS.from_user_input(geometry.crs).is_geographic:
            outside = is_point & ~unusable
            outside[outside] = (np.abs(xy[outside, 0]) > 180) | (
                np.abs(xy[outside, 1]) > 90
            )
            for i in np.flatnonzero(outside)[:20]:
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"coordinates x={xy[i, 0]:g}, y={xy[i, 1]:g} are not degrees "
                        f"although the layer declares {geometry.crs.to_string()[:40]}",
                        "export the layer again with its real CRS",
                    )
                )
        for i in np.flatnonzero(wrong)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "geometry is not a point",
                    "service points must be points",
                )
            )
        frame = gpd.GeoDataFrame(out, geometry=geoms, crs=geometry.crs)
    return frame, problems


_M_PER_DEGREE = 111_320.0


def _snap_outside(
    pts: gpd.GeoSeries,
    communes: gpd.GeoDataFrame,
    tree: shapely.STRtree,
    *,
    snap_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (point, commune, distance m) of the points within ``snap_m`` of a commune.

    ``pts`` are in the communes' CRS; distances are measured in the communes' UTM
    zone, the nearest commune wins (the first one on a tie).
    """
    none = np.empty(0, np.int64)
    geoms = pts.to_numpy()
    if not len(geoms):
        return none, none, np.empty(0)
    reach = snap_m
    if communes.crs.is_geographic:
        lat = np.abs(shapely.get_y(geoms))
        lat = float(np.nanmax(lat)) if np.isfinite(lat).any() else 0.0
        # a generous search box in degrees; the exact distance is measured below
        reach = 1.5 * snap_m / (_M_PER_DEGREE * np.cos(np.radians(min(lat + 1, 89))))
    p, c = tree.query(geoms, predicate="dwithin", distance=reach)
    if not len(p):
        return none, none, np.empty(0)
    metric = metric_crs(communes)
    used, c_pos = np.unique(c, return_inverse=True)
    com_m = communes.geometry.iloc[used].to_crs(metric).to_numpy()
    pt_m = pts.iloc[p].to_crs(metric).to_numpy()
    d = shapely.distance(pt_m, com_m[c_pos.ravel()])
    order = np.lexsort((c, d, p))
    p, c, d = p[order], c[order], d[order]
    first = np.r_[True, p[1:] != p[:-1]] & (d <= snap_m)
    return p[first].astype(np.int64), c[first].astype(np.int64), d[first]


def assign_points(
    points: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    snap_m: float = 50.0,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Assign each point to the commune that contains it.

    Points on a shared boundary go to the first commune that touches them. A point
    outside every commune but at most ``snap_m`` from one (a boundary sliver, a
    point digitised a few metres off the coast) is snapped to the nearest commune,
    and the notes say how many were. Points farther out get an empty
    ``commune_code`` and are listed in the notes. When the points carry a
    ``declared_commune_code`` column, disagreements with the spatial assignment are
    reported (the spatial assignment is kept).

    Parameters
    ----------
    points
        The service points, any CRS.
    communes
        The communes with ``commune_code``, any CRS.
    snap_m
        Snapping tolerance, metres (measured in the communes' UTM zone); ``0``
        snaps nothing.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        The points with ``commune_code`` and ``inside`` columns, and notes.
    """
    notes: list[str] = []
    if points.crs is None or communes.crs is None:
        msg = "points and communes need a CRS before points can be assigned"
        raise CRSError(msg)
    pts = points.to_crs(communes.crs) if points.crs != communes.crs else points
    tree = shapely.STRtree(communes.geometry.to_numpy())
    point_idx, commune_idx = tree.query(pts.geometry.to_numpy(), predicate="intersects")
    first = np.full(len(pts), -1, dtype=np.int64)
    order = np.argsort(point_idx, kind="stable")
    point_idx, commune_idx = point_idx[order], commune_idx[order]
    uniq, start = np.unique(point_idx, return_index=True)
    first[uniq] = commune_idx[start]
    if not (np.isfinite(snap_m) and snap_m >= 0):
        msg = f"the snapping tolerance must be a number of metres >= 0, got {snap_m}"
        raise InputError(msg)
    lost = np.flatnonzero(first < 0)
    if snap_m > 0 and len(lost):
        # blank or non-finite coordinates (reported elsewhere) are never snapped
        bounds = shapely.bounds(pts.geometry.iloc[lost].to_numpy())
        lost = lost[np.isfinite(bounds).all(axis=1)]
        near, com, dist = _snap_outside(
            pts.geometry.iloc[lost], communes, tree, snap_m=float(snap_m)
        )
        if len(near):
            first[lost[near]] = com
            ids = ", ".join(points["point_id"].astype(str).to_numpy()[lost[near]][:5])
            more = "" if len(near) <= 5 else f" and {len(near) - 5} more"
            notes.append(
                f"{len(near)} point(s) up to {snap_m:g} m outside every commune "
                f"({ids}{more}; at most {dist.max():.1f} m) were snapped to the "
                "nearest commune"
            )
    codes = communes["commune_code"].to_numpy()
    assigned = np.where(first >= 0, codes[np.clip(first, 0, None)], "")
    result = points.copy()
    result["commune_code"] = assigned.astype(str)
    result["inside"] = first >= 0
    outside = int((first < 0).sum())
    if outside:
        ids = ", ".join(result.loc[first < 0, "point_id"].astype(str).head(5))
        more = "" if outside <= 5 else Note("and_more", n=outside - 5)
        notes.append(Note("points_outside", n=outside, ids=ids, more=more))
    if "declared_commune_code" in result.columns:
        declared = result["declared_commune_code"].astype(str)
        disagree = (
            (declared != "") & (declared != result["commune_code"]) & (first >= 0)
        )
        n = int(disagree.sum())
        if n:
            ids = ", ".join(result.loc[disagree, "point_id"].astype(str).head(5))
            more = "" if n <= 5 else ", ..."
            notes.append(Note("declared_mismatch", n=n, ids=ids, more=more))
        result["declared_mismatch"] = disagree.to_numpy()
    return result, notes
