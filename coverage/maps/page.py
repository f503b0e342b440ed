"""Page of the gap map: the folium map, its elements, rendering and writing.

The map is a single HTML file (Leaflet through folium). Its style and script are
the files ``assets/coverage.css`` and ``assets/coverage.js`` of this package.

Safety: data reach the page only as JSON inside one script block, with ``<``,
``>`` and ``&`` escaped as ``\\uXXXX`` so no name can close the block; the page
shows data with ``textContent`` (never ``innerHTML``), so a commune named
``<img src=x onerror=alert(1)>`` is displayed as text.

Offline: the page needs Leaflet (and Leaflet.markercluster when points are
clustered) and nothing else (no jQuery, Bootstrap or icon fonts). With
``offline=True`` :func:`write_map` inlines those files from an npm ``node_modules``
folder, so the map works without internet except for the OpenStreetMap tiles,
which are optional: without them the page draws a light basemap from its own
province (or commune) shapes, and ``tiles=`` points it at a tile server of the
intranet or an MBTiles file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import cast
from urllib.parse import quote

import folium
import geopandas as gpd
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from ..benchmarks import Benchmark
from ..errors import OutputError
from .data import WhatIfData, map_data
from .tiles import TileSource, extract_mbtiles, tile_source

__all__ = [
    "ASSETS",
    "BUNDLED_ASSETS",
    "CoverageMap",
    "build_map",
    "find_assets",
    "render_html",
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


def _script_json(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@cache
def _asset_text(name: str) -> str:
    """Return a file of ``assets/`` in this package (the page's style or script)."""
    folder = files(__name__.rpartition(".")[0]).joinpath("assets")
    return folder.joinpath(name).read_text(encoding="utf-8")


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
<style>
{{ this.css }}</style>
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
        self.data = data
        self.data_json = ""  # encoded when the page renders (the data may change)
        self.js = _asset_text("coverage.js")
        if data.get("whatif") is not None:
            self.js += "\n" + _asset_text("whatif.js")
        self.css = _asset_text("coverage.css")

    def render(self, **kwargs) -> str:
        """Add the style and the script to the page, never re-templated.

        Returns
        -------
        str
            Nothing to place where the element sits (an empty string).
        """
        figure = cast(Figure, self.get_root())
        self.data_json = _script_json(self.data)
        module = self._template.module
        name = self.get_name()
        figure.header.add_child(_RawElement(module.header(self, kwargs)), name=name)
        figure.script.add_child(_RawElement(module.script(self, kwargs)), name=name)
        return ""


class CoverageMap(folium.Map):
    """A folium map that loads only Leaflet (no jQuery, Bootstrap or icon fonts)."""

    # folium declares these lists as instance attributes: ClassVar would clash
    default_js: list[tuple[str, str]] = [("leaflet", _cdn("leaflet_js"))]  # noqa: RUF012
    default_css: list[tuple[str, str]] = [("leaflet_css", _cdn("leaflet_css"))]  # noqa: RUF012


class _MarkerClusterAssets(JSCSSMixin, MacroElement):
    """Adds Leaflet.markercluster's files to the page header."""

    default_js: list[tuple[str, str]] = [  # noqa: RUF012
        ("markercluster", _cdn("markercluster_js"))
    ]
    default_css: list[tuple[str, str]] = [  # noqa: RUF012
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
    outline_zooms: tuple[int, int] = (8, 10),
    tiles: str | Path | None = None,
    whatif: WhatIfData | None = None,
    travel: bool = False,
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
    outline_zooms
        Zoom levels at which outlines thicken: below the first, communes have no
        outline, districts are hidden and provinces are thin grey lines (the
        national view, where the choropleth must show); below the second, thin
        lines; from the second on, full outlines.
    tiles
        Background tiles: None for OpenStreetMap, a URL template
        (``http://intranet/tiles/{z}/{x}/{y}.png``) or a raster ``.mbtiles``
        file, whose tiles :func:`write_map` writes into the folder
        ``<map name>_tiles`` next to the map. Whatever the tiles, when they fail
        to load (no internet) the page draws a light grey basemap from its own
        province or commune shapes.
    whatif
        Let the planner add, drag and remove points in the page and see the
        figures change (:func:`whatif_data` / :func:`whatif_from_access`); the
        proposals are pre-loaded as toggles and the edited points export as a
        CSV that ``coverage analyze --points`` reads.
    travel
        Add the travel-time layer and popup fields (units with
        ``mean_time_min``, from ``coverage analyze --roads``).

    Returns
    -------
    folium.Map
        The map; write it with :func:`write_map`.

    Raises
    ------
    InputError
        When metric columns are missing, the access threshold has no column or
        the tiles are neither a URL template nor a raster MBTiles file.
    """
    del offline
    source = tile_source(tiles)
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
        outline_zooms=outline_zooms,
        whatif=whatif,
    )
    if travel:
        from .travel import add_travel_layer

        add_travel_layer(data, communes, lang=lang)
    view = data["view"]
    centre = (
        [(view[0][0] + view[1][0]) / 2, (view[0][1] + view[1][1]) / 2]
        if view is not None
        else [16.0, 106.0]
    )
    fmap = CoverageMap(location=centre, zoom_start=9, tiles=None, control_scale=True)
    cast(Figure, fmap.get_root()).header.add_child(
        Element('<meta name="referrer" content="strict-origin-when-cross-origin"/>')
    )
    if data["cluster"]:
        fmap.add_child(_MarkerClusterAssets())
    data["tiles"] = source.page_data()
    layers = _CoverageLayers(data)
    fmap.add_child(layers)
    fmap.coverage_layers = layers  # type: ignore[attr-defined]
    fmap.coverage_tiles = source  # type: ignore[attr-defined]
    if travel:
        from .travel import TravelTooltips

        fmap.add_child(TravelTooltips(lang))
    return fmap


def render_html(fmap: folium.Map) -> str:
    """Return the HTML of a map."""
    return fmap.get_root().render()


#: Leaflet files shipped in the package (``coverage/assets``) for offline maps.
BUNDLED_ASSETS = Path(__file__).resolve().parent.parent / "assets"


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
                _constant(block),
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
                _constant(block),
                page,
            )
    return page


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    # a function replacement, so that re.sub reads no escapes in the text
    return lambda _match: text


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
        shipped in the package). Tiles of an MBTiles file given to
        :func:`build_map` are written to ``<name>_tiles/{z}/{x}/{y}.png`` next to
        the map in any case.
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
    source = getattr(fmap, "coverage_tiles", None)
    if isinstance(source, TileSource) and source.mbtiles is not None:
        folder = target.parent / f"{target.stem}_tiles"
        extract_mbtiles(source, folder)
        url = f"{quote(folder.name)}/{{z}}/{{x}}/{{y}}.{source.extension}"
        fmap.coverage_layers.data["tiles"] = source.page_data(url)  # type: ignore[attr-defined]
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


def _umask() -> int:
    # mkstemp creates files 0600; give the map the permissions of a normal file.
    mask = os.umask(0)
    os.umask(mask)
    return mask
