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
    "wi.title": {"en": "What if…", "vi": "Thử phương án…"},
    "wi.add": {
        "en": "Click the map to add a point (drag to move, click it to remove)",
        "vi": "Bấm vào bản đồ để thêm điểm (kéo để dời, bấm vào điểm để bỏ)",
    },
    "wi.proposals": {"en": "Proposed points", "vi": "Điểm đề xuất"},
    "wi.total": {"en": "Whole map", "vi": "Toàn bản đồ"},
    "wi.points": {"en": "points", "vi": "điểm"},
    "wi.radius": {"en": "radius", "vi": "bán kính"},
    "wi.people": {"en": "people/point", "vi": "người/điểm"},
    "wi.within": {"en": "within {t} km", "vi": "trong {t} km"},
    "wi.failing": {"en": "communes failing", "vi": "xã chưa đạt"},
    "wi.meets": {"en": "meets the benchmark", "vi": "đạt chỉ tiêu"},
    "wi.fails": {"en": "fails the benchmark", "vi": "chưa đạt chỉ tiêu"},
    "wi.export": {"en": "Export points (CSV)", "vi": "Xuất danh sách điểm (CSV)"},
    "wi.reset": {"en": "Reset", "vi": "Đặt lại"},
    "wi.new": {"en": "What-if point", "vi": "Điểm thử"},
    "wi.removed": {
        "en": "removed (click to restore)",
        "vi": "đã bỏ (bấm để khôi phục)",
    },
    "wi.outside": {"en": "outside every commune", "vi": "ngoài mọi xã"},
}


def map_label(key: str, lang: str) -> str:
    """Return the map text ``key`` in ``lang`` (``"en"`` or ``"vi"``)."""
    entry = MAP_TEXT.get(key)
    if entry is None:
        return label(key, lang)
    return entry.get(lang, entry["en"])
