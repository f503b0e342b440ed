"""Interactive gap map: commune choropleths, outlines, service points, plan proposals.

The map is a single HTML file (Leaflet through folium). All classification and
styling is computed in Python: :mod:`.classify` holds the bins and the class of
each commune, :mod:`.data` the JSON the page draws, :mod:`.whatif` the arrays of
its what-if, :mod:`.page` the folium map, its rendering and writing (online or
with Leaflet inlined), and ``assets/`` the page's style and script.
"""

from __future__ import annotations

from .classify import (
    KIND_COLOURS,
    MISSING,
    NEEDED_BINS,
    NO_POINT,
    RATIO_BINS,
    Bin,
    LayerSpec,
    classify_needed,
    classify_ratio,
    classify_share,
    share_bins,
)
from .data import (
    initial_view,
    map_data,
    simplification_tolerance_m,
    simplify_coverage,
    simplify_rings,
)
from .page import (
    ASSETS,
    BUNDLED_ASSETS,
    CoverageMap,
    build_map,
    find_assets,
    render_html,
    write_map,
)
from .whatif import WhatIfData, whatif_data, whatif_from_access

__all__ = [
    "ASSETS",
    "BUNDLED_ASSETS",
    "KIND_COLOURS",
    "MISSING",
    "NEEDED_BINS",
    "NO_POINT",
    "RATIO_BINS",
    "Bin",
    "CoverageMap",
    "LayerSpec",
    "WhatIfData",
    "build_map",
    "classify_needed",
    "classify_ratio",
    "classify_share",
    "find_assets",
    "initial_view",
    "map_data",
    "render_html",
    "share_bins",
    "simplification_tolerance_m",
    "simplify_coverage",
    "simplify_rings",
    "whatif_data",
    "whatif_from_access",
    "write_map",
]
