"""Texts of the map added with the national view, the basemap and the what-if.

Kept here, next to the map, so that the map's own wording can grow without
touching the shared catalogue; :func:`map_label` falls back to
:func:`coverage.i18n.label` for every other key.
"""

from __future__ import annotations

from ..i18n import label

__all__ = ["MAP_TEXT", "map_label"]

MAP_TEXT: dict[str, dict[str, str]] = {
    "map.legend.clustered": {
        "en": "white ring with a number: a cluster of that many points, not a "
        "coverage class (zoom in)",
        "vi": "vòng trắng có số: cụm gồm chừng ấy điểm, không phải mức đánh giá "
        "(phóng to để xem)",
    },
    "map.layer.basemap": {
        "en": "Light basemap (offline)",
        "vi": "Nền bản đồ nhẹ (ngoại tuyến)",
    },
    "map.layer.tiles": {"en": "Background tiles", "vi": "Nền bản đồ (ô ảnh)"},
}


def map_label(key: str, lang: str) -> str:
    """Return the map text ``key`` in ``lang`` (``"en"`` or ``"vi"``)."""
    entry = MAP_TEXT.get(key)
    if entry is None:
        return label(key, lang)
    return entry.get(lang, entry["en"])
