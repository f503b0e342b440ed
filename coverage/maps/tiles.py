"""Background tiles of the gap map: OpenStreetMap, a URL template or an MBTiles file.

Government intranets often have no internet: the map then draws a light basemap
from its own layers (see ``assets/coverage.js``), or uses tiles the user supplies,
either a URL template of a local tile server or an MBTiles file, whose tiles
:func:`extract_mbtiles` writes into a folder next to the map so the page reads
them through relative ``file://`` links.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = ["OSM_TILES", "TileSource", "extract_mbtiles", "tile_source"]

#: Raster formats an MBTiles file may hold that a browser draws as images.
_RASTER_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True)
class TileSource:
    """Where the page's background tiles come from.

    Attributes
    ----------
    url : str
        Leaflet URL template (``{z}/{x}/{y}``); empty for an MBTiles file until the
        map is written and its tiles extracted.
    attribution : str
        Credit shown in the corner (plain text).
    mbtiles : pathlib.Path or None
        The MBTiles file to extract next to the map.
    extension : str
        File extension of the extracted tiles.
    min_zoom, max_zoom : int
        Native zoom range (Leaflet scales tiles beyond it).
    """

    url: str
    attribution: str = ""
    mbtiles: Path | None = None
    extension: str = "png"
    min_zoom: int = 0
    max_zoom: int = 19

    def page_data(self, url: str | None = None) -> dict:
        """Return the JSON the page reads (``url`` overrides :attr:`url`)."""
        return {
            "url": self.url if url is None else url,
            "attribution": self.attribution,
            "minNativeZoom": self.min_zoom,
            "maxNativeZoom": self.max_zoom,
            "osm": self == OSM_TILES,
        }


OSM_TILES = TileSource(
    url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution="© OpenStreetMap contributors",
)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        msg = f"cannot open the MBTiles file {path}: {exc}"
        raise InputError(msg) from exc


def tile_source(tiles: str | Path | None) -> TileSource:
    """Interpret the ``tiles`` option of the map.

    Parameters
    ----------
    tiles
        None (OpenStreetMap), a URL template holding ``{z}``, ``{x}`` and ``{y}``
        (``http://intranet/tiles/{z}/{x}/{y}.png``), or the path of an
        ``.mbtiles`` file of raster tiles.

    Returns
    -------
    TileSource

    Raises
    ------
    InputError
        Neither a template nor a readable raster MBTiles file.
    """
    if tiles is None:
        return OSM_TILES
    text = str(tiles)
    if all(key in text for key in ("{z}", "{x}", "{y}")):
        return TileSource(url=text, attribution="")
    path = Path(text)
    if path.suffix.lower() != ".mbtiles":
        msg = (
            f"tiles must be a URL template with {{z}}, {{x}} and {{y}} or an "
            f".mbtiles file, got {text!r}"
        )
        raise InputError(msg)
    if not path.is_file():
        msg = f"the MBTiles file {path} does not exist"
        raise InputError(msg)
    con = _connect(path)
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        zooms = con.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles")
        zmin, zmax = zooms.fetchone()
    except sqlite3.Error as exc:
        msg = f"{path} is not an MBTiles file (tables metadata, tiles): {exc}"
        raise InputError(msg) from exc
    finally:
        con.close()
    fmt = str(meta.get("format", "png")).lower()
    if fmt not in _RASTER_FORMATS:
        msg = (
            f"{path} holds {fmt} tiles; the map draws raster tiles only "
            "(png, jpg, webp)"
        )
        raise InputError(msg)
    if zmin is None:
        msg = f"the MBTiles file {path} holds no tile"
        raise InputError(msg)
    return TileSource(
        url="",
        attribution=str(meta.get("attribution", "")),
        mbtiles=path,
        extension=_RASTER_FORMATS[fmt],
        min_zoom=int(zmin),
        max_zoom=int(zmax),
    )


def extract_mbtiles(source: TileSource, folder: Path) -> int:
    """Write the tiles of an MBTiles file as ``folder/{z}/{x}/{y}.{ext}``.

    MBTiles rows count from the south (TMS); the files count from the north as
    Leaflet asks. The folder is written beside, then put in place at once.

    Returns
    -------
    int
        Number of tiles written.

    Raises
    ------
    InputError
        The file cannot be read.
    OutputError
        The folder cannot be written.
    """
    if source.mbtiles is None:
        msg = "extract_mbtiles needs an MBTiles tile source"
        raise InputError(msg)
    con = _connect(source.mbtiles)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        con.close()
        msg = f"cannot write the map tiles into {folder}: {exc.strerror or exc}"
        raise OutputError(msg) from exc
    n = 0
    try:
        rows = con.execute(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
        )
        for z, x, row, data in rows:
            y = (1 << int(z)) - 1 - int(row)
            target = tmp / str(int(z)) / str(int(x))
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{y}.{source.extension}").write_bytes(bytes(data))
            n += 1
        os.chmod(tmp, 0o777 & ~_umask())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except sqlite3.Error as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = f"cannot read the tiles of {source.mbtiles}: {exc}"
        raise InputError(msg) from exc
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = f"cannot write the map tiles into {folder}: {exc.strerror or exc}"
        raise OutputError(msg) from exc
    finally:
        con.close()
    return n


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
