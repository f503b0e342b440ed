"""Opening input files: path checks, spatial layers, CSV tables and the CRS."""

from __future__ import annotations

import csv
import io
import unicodedata
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from ..errors import CRSError, InputError

__all__ = [
    "read_table",
]


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the path (or its folder) and try again"
        raise InputError(msg)
    if path.is_dir() and not any(path.glob("*.shp")):
        msg = f"{path}: is a folder, not a file; pass the .geojson/.gpkg/.shp/.csv file"
        raise InputError(msg)
    try:
        with path.open("rb") if path.is_file() else open(path / ".", "rb"):
            pass
    except IsADirectoryError:
        pass
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror}); check its permissions"
        raise InputError(msg) from None
    return path


def _read_spatial(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: the file is empty; export the layer again"
        raise InputError(msg)
    try:
        import pyogrio

        with warnings.catch_warnings():
            # GDAL notes on odd properties (lists, JSON-like text) are not for users.
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise many types for unreadable files
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = (
            f"{path}: not a readable spatial file ({reason}); use GeoJSON, "
            "GeoPackage, Shapefile (.shp or zipped) or, for points, CSV with lat/lon"
        )
        raise InputError(msg) from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{path}: the file has no geometry column; export it as a spatial layer"
        raise InputError(msg)
    return gdf


def _apply_crs(gdf: gpd.GeoDataFrame, crs: str | None, *, source: str) -> None:
    if crs is not None:
        try:
            target = CRS.from_user_input(crs)
        except Exception:
            msg = f"--crs {crs!r} is not a CRS; use e.g. EPSG:4326 or EPSG:32648"
            raise CRSError(msg) from None
        if gdf.crs is None:
            gdf.set_crs(target, inplace=True)
        elif CRS.from_user_input(gdf.crs) != target:
            msg = (
                f"{source}: the file declares CRS {gdf.crs.to_string()[:50]} but "
                f"--crs says {crs}; drop --crs (it is only for files without one)"
            )
            raise CRSError(msg)
    if gdf.crs is None:
        msg = (
            f"{source}: the layer has no coordinate reference system; set one with "
            "--crs (e.g. --crs EPSG:4326 for lon/lat degrees, EPSG:32648 for UTM 48N)"
        )
        raise CRSError(msg)


def _decode(raw: bytes, *, source: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1258", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    msg = f"{source}: text encoding not recognised; save the CSV as UTF-8"
    raise InputError(msg)


def read_table(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV as Excel and people write it: any common encoding and delimiter.

    Every cell is read as text (codes keep leading zeros); numbers are parsed later
    by the caller so that errors can name the row.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The table and notes on what was detected (encoding, delimiter).
    """
    path = _check_path(path)
    raw = path.read_bytes()
    if not raw.strip():
        msg = f"{path}: the file is empty; export the table again"
        raise InputError(msg)
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = (
            f"{path}: a binary file, not a CSV text table; export the points as CSV "
            "(or pass them as GeoJSON/GeoPackage/Shapefile)"
        )
        raise InputError(msg)
    text, encoding = _decode(raw, source=str(path))
    # Windows-1258 and some GIS exports store tone marks as combining characters.
    text = unicodedata.normalize("NFC", text)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})"
        raise InputError(msg) from None
    table.columns = [str(c).strip() for c in table.columns]
    notes = [f"{path.name}: read as {encoding}, delimiter {delimiter!r}"]
    return table, notes
