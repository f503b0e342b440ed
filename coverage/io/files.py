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
from ..i18n import Note

__all__ = [
    "LayerChoiceError",
    "read_table",
]


class LayerChoiceError(InputError):
    """A file holds several layers and none (or an unknown one) was chosen.

    Attributes
    ----------
    param : str
        The option that chooses the layer (``"layer"``), for the CLI to name.
    path : pathlib.Path
        The file.
    layers : list of str
        The names of the layers in the file, in file order.
    """

    param = "layer"

    def __init__(
        self, message: str, *, path: Path, layers: list[str], param: str = "layer"
    ) -> None:
        super().__init__(message)
        self.path = path
        self.layers = list(layers)
        self.param = param


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


def _read_spatial(
    path: Path, *, layer: str | None = None, param: str = "layer"
) -> gpd.GeoDataFrame:
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: the file is empty; export the layer again"
        raise InputError(msg)
    import pyogrio

    _check_layer(path, layer, param=param)
    try:
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


def _check_layer(path: Path, layer: str | None, *, param: str = "layer") -> None:
    """Refuse to guess the layer of a multi-layer file; refuse an unknown name.

    ``param`` is the keyword that chooses the layer (``layer``, ``points_layer``),
    named in the message as the option of the same name.
    """
    import pyogrio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # unreadable: reading it reports why, as before
        return
    shown = ", ".join(repr(name) for name in names[:20])
    if len(names) > 20:
        shown += f" and {len(names) - 20} more"
    if layer is None and len(names) > 1:
        msg = (
            f"{path}: the file holds {len(names)} layers ({shown}); choose one "
            f"with --{param.replace('_', '-')} NAME"
        )
        raise LayerChoiceError(msg, path=path, layers=names, param=param)
    if layer is not None and layer not in names:
        msg = f"{path}: no layer {layer!r} in the file; its layers are {shown}"
        raise LayerChoiceError(msg, path=path, layers=names, param=param)


def _apply_crs(
    gdf: gpd.GeoDataFrame, crs: str | None, *, source: str, option: str = "--crs"
) -> None:
    if crs is not None:
        try:
            target = CRS.from_user_input(crs)
        except Exception:
            msg = f"{option} {crs!r} is not a CRS; use e.g. EPSG:4326 or EPSG:32648"
            raise CRSError(msg) from None
        if gdf.crs is None:
            gdf.set_crs(target, inplace=True)
        elif CRS.from_user_input(gdf.crs) != target:
            msg = (
                f"{source}: the file declares CRS {gdf.crs.to_string()[:50]} but "
                f"{option} says {crs}; drop {option} (it is only for files without one)"
            )
            raise CRSError(msg)
    if gdf.crs is None:
        msg = (
            f"{source}: the layer has no coordinate reference system; set one with "
            f"{option} (e.g. {option} EPSG:4326 for lon/lat degrees, EPSG:32648 for "
            "UTM 48N)"
        )
        raise CRSError(msg)


def _utf16_without_bom(raw: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the bytes look like UTF-16 text, else None.

    Latin letters, digits and separators have a NUL high byte, so UTF-16 text has
    NULs on one side of each byte pair only; Vietnamese letters (U+1Exx) do not, so
    only a share of the pairs is asked for.
    """
    sample = raw[:4096]
    if len(raw) % 2 or len(sample) < 4:
        return None
    low, high = sample[0::2].count(0), sample[1::2].count(0)
    if high >= len(sample) // 8 and low == 0:
        encoding = "utf-16-le"
    elif low >= len(sample) // 8 and high == 0:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = {c for c in text if unicodedata.category(c) == "Cc"} - set("\t\r\n")
    return None if controls else encoding


def _decode(raw: bytes, *, source: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    bomless = _utf16_without_bom(raw) if b"\x00" in raw[:4096] else None
    if bomless is not None:
        return raw.decode(bomless), Note("encoding.no_bom", name=bomless.upper())
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), Note(
            "encoding.bom", name="UTF-8"
        )
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


def _refuse_duplicate_header(text: str, delimiter: str, *, source: str) -> None:
    """Refuse a header naming a column twice (pandas would rename one ``lat.1``)."""
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        return
    names = [name.strip() for name in header]
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if name:
            seen.setdefault(name, []).append(position)
    repeated = {name: at for name, at in seen.items() if len(at) > 1}
    if repeated:
        listed = "; ".join(
            f"{name!r} in columns {', '.join(map(str, at))}"
            for name, at in repeated.items()
        )
        msg = (
            f"{source}: the header names a column more than once ({listed}); "
            "rename or delete the extra columns so that each name is used once"
        )
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
    if (
        b"\x00" in raw[:4096]
        and not raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        and _utf16_without_bom(raw) is None
    ):
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
    _refuse_duplicate_header(text, delimiter, source=str(path))
    table.columns = [str(c).strip() for c in table.columns]
    notes: list[str] = [
        Note("read_as", file=path.name, encoding=encoding, delimiter=delimiter)
    ]
    return table, notes
