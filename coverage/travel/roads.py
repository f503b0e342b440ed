"""Read road networks into one canonical layer of LineStrings.

Two sources:

* an OpenStreetMap extract (``.osm.pbf``), read with pyosmium (PyPI ``osmium``,
  the optional ``travel`` extra): every way with a ``highway=*`` value listed in
  :data:`OSM_HIGHWAY_CLASS` becomes a LineString;
* any line layer pyogrio reads (GeoPackage, GeoJSON, Shapefile, ...) with a
  road-class column and/or a speed column, found under common names
  (:data:`CLASS_COLUMNS`, :data:`SPEED_COLUMNS`) or named by the caller.

The result always has the columns ``road_class`` (one of :data:`ROAD_CLASSES`),
``speed_kmh`` (float, NaN where the source gives none), ``oneway`` (int8: 1 the
line's direction only, -1 against it, 0 both ways) and ``geometry`` (LineString, in
the source CRS).

Decisions
---------
* Class values are compared after lower-casing, stripping Vietnamese diacritics and
  turning spaces and hyphens into ``_``, so ``Quốc lộ``, ``quoc-lo`` and ``QUOC_LO``
  are one value. OSM ``*_link`` values take the class of their road.
* A layer with a speed column and no class column is read as ``unclassified``
  roads whose speed comes from the column (:mod:`coverage.travel.graph` caps it at
  the mode's top speed).
* MultiLineStrings are split into their parts; non-line features are dropped and
  counted in ``attrs["notes"]``; a layer with no line at all is an error.
* One-way streets: OSM ``oneway=yes|true|1`` (drawn direction only), ``-1`` or
  ``reverse`` (against it), and ``junction=roundabout|circular`` unless
  ``oneway=no``; a line layer's ``oneway`` column (any case) is read the same
  way. The canonical ``oneway`` column holds 1, -1 or 0 (both ways);
  :mod:`coverage.travel.graph` follows it for every mode but ``walk``.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError

__all__ = [
    "CLASS_COLUMNS",
    "OSM_HIGHWAY_CLASS",
    "ROAD_CLASSES",
    "SPEED_COLUMNS",
    "VALUE_CLASS",
    "normalise_value",
    "oneway_direction",
    "read_osm_pbf",
    "read_roads",
    "roads_from_frame",
]

#: Canonical road classes, fastest first (the OSM highway hierarchy).
ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "track",
    "path",
)

#: OSM ``highway=*`` values kept, and their class; other values are not roads.
OSM_HIGHWAY_CLASS: dict[str, str] = {
    "motorway": "motorway",
    "motorway_link": "motorway",
    "trunk": "trunk",
    "trunk_link": "trunk",
    "primary": "primary",
    "primary_link": "primary",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "tertiary",
    "tertiary_link": "tertiary",
    "unclassified": "unclassified",
    "road": "unclassified",
    "residential": "residential",
    "living_street": "residential",
    "service": "service",
    "track": "track",
    "path": "path",
    "footway": "path",
    "bridleway": "path",
    "cycleway": "path",
    "pedestrian": "path",
    "steps": "path",
}

#: Class values recognised in line layers (after :func:`normalise_value`): the OSM
#: values, Geofabrik shapefile ``fclass`` values and Vietnamese road categories
#: (national, provincial, district, commune, village roads).
VALUE_CLASS: dict[str, str] = {
    **{c: c for c in ROAD_CLASSES},
    **OSM_HIGHWAY_CLASS,
    **{f"track_grade{i}": "track" for i in range(1, 6)},
    "unknown": "unclassified",
    "expressway": "motorway",
    "cao_toc": "motorway",
    "duong_cao_toc": "motorway",
    "national": "trunk",
    "quoc_lo": "trunk",
    "ql": "trunk",
    "provincial": "secondary",
    "tinh_lo": "secondary",
    "duong_tinh": "secondary",
    "dt": "secondary",
    "district": "tertiary",
    "huyen_lo": "tertiary",
    "duong_huyen": "tertiary",
    "dh": "tertiary",
    "commune": "unclassified",
    "duong_xa": "unclassified",
    "village": "residential",
    "duong_thon": "residential",
    "duong_dan_sinh": "track",
    "duong_mon": "path",
}

#: Column names searched, in order, for the road class.
CLASS_COLUMNS = ("road_class", "highway", "fclass", "class", "type", "loai_duong")
#: Column names searched, in order, for a speed in km/h.
SPEED_COLUMNS = ("speed_kmh", "speed", "maxspeed", "toc_do")

_MPH_KMH = 1.609344


def normalise_value(value: object) -> str:
    """Normalise a class value: lower case, no diacritics, ``_`` for spaces.

    Examples
    --------
    >>> normalise_value("Quốc lộ")
    'quoc_lo'
    """
    text = unicodedata.normalize("NFD", str(value).strip().lower().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s\-]+", "_", text)


def _speeds_kmh(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower()
    number = pd.to_numeric(text.str.extract(r"^(\d+(?:\.\d+)?)")[0], errors="coerce")
    mph = text.str.contains("mph", na=False).to_numpy()
    out = number.to_numpy(dtype=float, na_value=np.nan)
    out[mph] *= _MPH_KMH
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_ROUNDABOUT = frozenset({"roundabout", "circular"})


def oneway_direction(
    oneway: pd.Series, junction: pd.Series | None = None
) -> np.ndarray:
    """Return 1 (drawn direction only), -1 (against it) or 0 (both ways).

    Parameters
    ----------
    oneway
        OSM ``oneway`` values (``yes``, ``true``, ``1``, ``-1``, ``reverse``,
        ``no``, missing ...), any case.
    junction
        OSM ``junction`` values: a roundabout is one-way in its drawn direction
        unless ``oneway=no``.

    Returns
    -------
    numpy.ndarray
        ``int8`` direction per value.
    """
    text = oneway.astype("string").str.strip().str.lower()
    out = np.zeros(len(text), dtype=np.int8)
    out[text.isin(_ONEWAY_FORWARD).to_numpy(dtype=bool)] = 1
    out[text.isin(_ONEWAY_REVERSE).to_numpy(dtype=bool)] = -1
    if junction is not None:
        ring = junction.astype("string").str.strip().str.lower().isin(_ROUNDABOUT)
        ring = ring.to_numpy(dtype=bool) & text.isna().to_numpy(dtype=bool)
        out[ring] = 1
    return out


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _lines(gdf: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    geom = gdf.geometry.to_numpy()
    kind = shapely.get_type_id(geom)
    is_line = np.isin(kind, (1, 5)) & ~shapely.is_empty(geom)
    if not is_line.any():
        found = sorted(
            {str(t) for t in gdf.geometry.geom_type.dropna().unique()} or {"none"}
        )
        msg = (
            f"{what}: no line features (geometry types found: {', '.join(found)}); "
            "pass a layer of roads as LineStrings or MultiLineStrings"
        )
        raise InputError(msg)
    notes = []
    if not is_line.all():
        notes.append(f"{what}: {int((~is_line).sum())} non-line feature(s) ignored")
    lines = gdf.loc[is_line].explode(index_parts=False, ignore_index=True)
    lines = lines[shapely.get_num_coordinates(lines.geometry.to_numpy()) >= 2]
    lines = lines.reset_index(drop=True)
    lines.attrs["notes"] = notes
    return lines


def roads_from_frame(
    gdf: gpd.GeoDataFrame,
    *,
    what: str = "roads",
    class_column: str | None = None,
    speed_column: str | None = None,
    class_map: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Turn a line layer into the canonical road layer.

    Parameters
    ----------
    gdf
        Line features with a CRS.
    what
        Name of the layer (usually its file) in messages.
    class_column, speed_column
        Column holding the road class / the speed in km/h; by default the first
        of :data:`CLASS_COLUMNS` / :data:`SPEED_COLUMNS` present (any case).
    class_map
        Extra or overriding class values: source value -> canonical class, e.g.
        ``{"DH": "tertiary", "duong bo": "track"}``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``road_class``, ``speed_kmh``, ``oneway``, ``geometry``
        (LineString), in the CRS of ``gdf``.

    Raises
    ------
    InputError
        No CRS; no line features; a named column missing; neither a class nor a
        speed column; a class value that is not known (the message lists the
        unknown values, the first feature with one, the known classes and how to
        map them).
    """
    if gdf.crs is None:
        msg = (
            f"{what}: the road layer has no CRS; set one in the file (e.g. with "
            "QGIS 'Assign projection' or ogr2ogr -a_srs EPSG:4326)"
        )
        raise InputError(msg)
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    for given, label in ((class_column, "class"), (speed_column, "speed")):
        if given is not None and given not in columns:
            msg = (
                f"{what}: no {label} column {given!r}; columns are "
                f"{', '.join(columns) or '(none)'}"
            )
            raise InputError(msg)
    class_column = class_column or _find(columns, CLASS_COLUMNS)
    speed_column = speed_column or _find(columns, SPEED_COLUMNS)
    if class_column is None and speed_column is None:
        msg = (
            f"{what}: no road-class or speed column; looked for "
            f"{', '.join(CLASS_COLUMNS + SPEED_COLUMNS)}; columns are "
            f"{', '.join(columns) or '(none)'}; name one with --roads-column "
            "class=COLUMN or --roads-column speed=COLUMN (class_column= or "
            "speed_column= in Python)"
        )
        raise InputError(msg)
    lines = _lines(gdf, what=what)
    speed = (
        _speeds_kmh(lines[speed_column])
        if speed_column is not None
        else np.full(len(lines), np.nan)
    )
    if class_column is None:
        road_class = np.full(len(lines), "unclassified", dtype=object)
    else:
        mapping = dict(VALUE_CLASS)
        for key, value in (class_map or {}).items():
            if value not in ROAD_CLASSES:
                msg = (
                    f"--roads-class {key}={value}: {value!r} is not a road class; "
                    f"use one of {', '.join(ROAD_CLASSES)}"
                )
                raise InputError(msg)
            mapping[normalise_value(key)] = value
        raw = lines[class_column]
        keys = raw.astype("string").fillna("").map(normalise_value)
        road_class = keys.map(mapping).to_numpy(dtype=object)
        unknown = pd.isna(road_class)
        if unknown.any():
            values = pd.unique(raw[unknown].astype("string").fillna("<empty>"))
            first = int(np.flatnonzero(unknown)[0])
            shown = ", ".join(repr(str(v)) for v in values[:10])
            hint = shlex.quote(f"{values[0]!s}=track")
            more = f" and {len(values) - 10} more" if len(values) > 10 else ""
            msg = (
                f"{what}: {int(unknown.sum())} feature(s) have an unknown road class "
                f"in column {class_column!r}: {shown}{more} (first: feature "
                f"{first}); known classes are {', '.join(ROAD_CLASSES)}; map the "
                f"values with --roads-class {hint} (class_map= in Python), or fix "
                "the column"
            )
            raise InputError(msg)
    oneway_column = _find(columns, ("oneway",))
    junction_column = _find(columns, ("junction",))
    oneway = np.zeros(len(lines), dtype=np.int8)
    if oneway_column is not None or junction_column is not None:
        oneway = oneway_direction(
            pd.Series(pd.NA, index=lines.index, dtype="string")
            if oneway_column is None
            else lines[oneway_column],
            None if junction_column is None else lines[junction_column],
        )
    out = gpd.GeoDataFrame(
        {"road_class": road_class.astype(str), "speed_kmh": speed, "oneway": oneway},
        geometry=lines.geometry.to_numpy(),
        crs=gdf.crs,
    )
    out.attrs["notes"] = lines.attrs["notes"]
    return out


def _osmium() -> Any:
    try:
        import osmium
    except ImportError:
        msg = (
            "reading .osm.pbf roads needs pyosmium: "
            "pip install 'coverage-planner[travel]'"
        )
        raise InputError(msg) from None
    return osmium


def read_osm_pbf(path: str | Path) -> gpd.GeoDataFrame:
    """Read the roads of an OpenStreetMap ``.osm.pbf`` extract with pyosmium.

    Parameters
    ----------
    path
        The extract (e.g. a Geofabrik country file).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``road_class``, ``speed_kmh`` (from ``maxspeed``), ``oneway``
        (from ``oneway`` and ``junction``), ``osm_id``, ``highway``, ``geometry``
        in EPSG:4326. Ways whose ``highway`` value is
        not in :data:`OSM_HIGHWAY_CLASS`, areas (``area=yes``) and ways with
        missing nodes are skipped.

    Raises
    ------
    InputError
        pyosmium missing, an unreadable file, or no road in it.
    """
    osmium = _osmium()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: road file not found")
    factory = osmium.geom.WKBFactory()
    wkb: list[str] = []
    ids: list[int] = []
    highway: list[str] = []
    maxspeed: list[str | None] = []
    oneway: list[str | None] = []
    junction: list[str | None] = []
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not way.is_way():
                continue
            value = way.tags.get("highway")
            if value not in OSM_HIGHWAY_CLASS or way.tags.get("area") == "yes":
                continue
            try:
                wkb.append(factory.create_linestring(way))
            except (osmium.InvalidLocationError, RuntimeError):
                continue
            ids.append(way.id)
            highway.append(value)
            maxspeed.append(way.tags.get("maxspeed"))
            oneway.append(way.tags.get("oneway"))
            junction.append(way.tags.get("junction"))
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read the OSM extract ({exc})") from None
    if not wkb:
        msg = f"{path}: no roads (ways tagged highway=*) in the OSM extract"
        raise InputError(msg)
    geometry = shapely.from_wkb(np.array([bytes.fromhex(w) for w in wkb]))
    frame = gpd.GeoDataFrame(
        {
            "road_class": [OSM_HIGHWAY_CLASS[h] for h in highway],
            "speed_kmh": _speeds_kmh(pd.Series(maxspeed, dtype="string")),
            "oneway": oneway_direction(
                pd.Series(oneway, dtype="string"), pd.Series(junction, dtype="string")
            ),
            "osm_id": np.array(ids, dtype=np.int64),
            "highway": highway,
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    frame.attrs["notes"] = []
    return frame


def read_roads(
    path: str | Path,
    *,
    layer: str | None = None,
    class_column: str | None = None,
    speed_column: str | None = None,
    class_map: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a road network from an ``.osm.pbf`` extract or a line layer.

    Parameters
    ----------
    path
        ``.osm.pbf`` file, or any vector file pyogrio reads.
    layer
        Layer name in a multi-layer file (GeoPackage).
    class_column, speed_column, class_map
        See :func:`roads_from_frame` (ignored for ``.osm.pbf``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``road_class``, ``speed_kmh`` and LineString ``geometry``, in the file's CRS.

    Raises
    ------
    InputError
        A missing or unreadable file, and every case of :func:`roads_from_frame`.

    Examples
    --------
    >>> roads = read_roads("data/roads/roads.gpkg")  # doctest: +SKIP
    >>> sorted(roads.road_class.unique())  # doctest: +SKIP
    ['primary', 'secondary', 'track', 'trunk']
    """
    path = Path(path)
    if path.name.lower().endswith(".osm.pbf") or path.suffix.lower() == ".pbf":
        return read_osm_pbf(path)
    if not path.exists():
        raise InputError(f"{path}: road file not found")
    import pyogrio

    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{path}: cannot read the road layer ({exc})") from None
    return roads_from_frame(
        gdf,
        what=str(path),
        class_column=class_column,
        speed_column=speed_column,
        class_map=class_map,
    )
