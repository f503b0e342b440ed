"""Labels for columns and map texts, and reading notes, in English and Vietnamese.

A plain lookup table used by the CSV headers, the terminal summary and the map.
Keys are canonical column names (``radius_km``) or text keys (``map.legend``).
Access columns carry their threshold in the name (``share_within_5km``,
``pop_within_2.5km``) and are labelled from a pattern.

Reading notes (``read as UTF-8, delimiter ','``) are :class:`Note` objects: a
message code with its parameters that *is* its English text (a ``str``), so
``summary.json`` and every English output keep the words they always had, while
:func:`note_text` renders the same note in Vietnamese. Notes still made as plain
strings (rare ones: solver details, settlement and raster notes) stay English in
every language.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LABELS",
    "LANGUAGES",
    "NOTES",
    "Note",
    "format_text",
    "kind_label",
    "label",
    "note_text",
    "number",
]

LANGUAGES = ("en", "vi")

LABELS: dict[str, dict[str, str]] = {
    # identifiers and inputs
    "commune_code": {"en": "Commune code", "vi": "Mã xã"},
    "commune_name": {"en": "Commune", "vi": "Xã/phường"},
    "commune": {"en": "Commune", "vi": "Xã/phường"},
    "district_name": {"en": "District", "vi": "Huyện"},
    "district": {"en": "District", "vi": "Huyện"},
    "province_name": {"en": "Province", "vi": "Tỉnh"},
    "province": {"en": "Province", "vi": "Tỉnh"},
    "population": {"en": "Population", "vi": "Dân số"},
    "point_id": {"en": "Point ID", "vi": "Mã điểm"},
    "name": {"en": "Name", "vi": "Tên"},
    "kind": {"en": "Kind", "vi": "Loại điểm"},
    "staffed": {"en": "Staffed", "vi": "Có người phục vụ"},
    "admin_services": {
        "en": "Receives administrative (TTHC) applications",
        "vi": "Tiếp nhận hồ sơ TTHC",
    },
    "operator": {"en": "Operator", "vi": "Doanh nghiệp"},
    "inside": {"en": "Inside a commune", "vi": "Nằm trong một xã"},
    "lon": {"en": "Longitude", "vi": "Kinh độ"},
    "lat": {"en": "Latitude", "vi": "Vĩ độ"},
    # kinds
    "post_office": {"en": "Post office", "vi": "Bưu cục"},
    "culture_post": {
        "en": "Culture post office",
        "vi": "Điểm Bưu điện - Văn hóa xã",
    },
    "agent": {"en": "Postal agent", "vi": "Đại lý bưu điện"},
    "letter_box": {"en": "Public letter box", "vi": "Thùng thư công cộng"},
    "delivery": {"en": "Delivery post office", "vi": "Bưu cục phát"},
    "other": {"en": "Other", "vi": "Khác"},
    # postal metrics
    "area_km2": {"en": "Area (km²)", "vi": "Diện tích (km²)"},
    "n_points": {"en": "Service points", "vi": "Số điểm phục vụ"},
    "n_staffed": {
        "en": "Staffed points",
        "vi": "Số điểm có người phục vụ",
    },
    "n_admin_services": {
        "en": "Points receiving TTHC applications",
        "vi": "Số điểm tiếp nhận hồ sơ TTHC",
    },
    "n_post_office": {"en": "Post offices", "vi": "Số bưu cục"},
    "n_culture_post": {
        "en": "Culture post offices",
        "vi": "Số điểm Bưu điện - Văn hóa xã",
    },
    "n_agent": {"en": "Postal agents", "vi": "Số đại lý bưu điện"},
    "n_letter_box": {"en": "Public letter boxes", "vi": "Số thùng thư công cộng"},
    "n_delivery": {"en": "Delivery post offices", "vi": "Số bưu cục phát"},
    "n_other": {"en": "Other points", "vi": "Số điểm khác"},
    "radius_km": {
        "en": "Average service radius (km)",
        "vi": "Bán kính phục vụ bình quân (km)",
    },
    "people_per_point": {
        "en": "People served per point",
        "vi": "Số dân bình quân được phục vụ trên một điểm",
    },
    "radius_ratio": {
        "en": "Radius / benchmark",
        "vi": "Bán kính / chỉ tiêu",
    },
    "people_ratio": {
        "en": "People per point / benchmark",
        "vi": "Số dân trên một điểm / chỉ tiêu",
    },
    "meets_radius": {"en": "Meets radius", "vi": "Đạt bán kính"},
    "meets_people": {"en": "Meets people per point", "vi": "Đạt số dân/điểm"},
    "meets_staffed": {
        "en": "Has a staffed point",
        "vi": "Có điểm có người phục vụ",
    },
    "points_needed": {"en": "Points needed", "vi": "Số điểm cần bổ sung"},
    "fails": {"en": "Fails the benchmark", "vi": "Không đạt chỉ tiêu"},
    "gap_reasons": {"en": "Gap reasons", "vi": "Lý do chưa đạt"},
    "people_affected": {"en": "People affected", "vi": "Số dân bị ảnh hưởng"},
    "rank": {"en": "Rank", "vi": "Thứ hạng"},
    # aggregated levels
    "n_communes": {"en": "Communes", "vi": "Số xã"},
    "n_communes_with_point": {
        "en": "Communes with a point",
        "vi": "Số xã có điểm phục vụ",
    },
    "n_communes_staffed": {
        "en": "Communes with a staffed point",
        "vi": "Số xã có điểm có người phục vụ",
    },
    "share_communes_staffed": {
        "en": "Share of communes with a staffed point",
        "vi": "Tỷ lệ xã có điểm có người phục vụ",
    },
    "n_communes_failing": {"en": "Communes failing", "vi": "Số xã chưa đạt"},
    "communes_points_needed": {
        "en": "Points needed (sum over communes)",
        "vi": "Số điểm cần bổ sung (cộng các xã)",
    },
    "n_communes_without_point": {
        "en": "Communes without a point",
        "vi": "Số xã chưa có điểm phục vụ",
    },
    "n_communes_without_staffed": {
        "en": "Communes without a staffed point",
        "vi": "Số xã chưa có điểm có người phục vụ",
    },
    "share_admin_services": {
        "en": "Share of points receiving TTHC applications",
        "vi": "Tỷ lệ điểm tiếp nhận hồ sơ TTHC",
    },
    # access
    "mean_distance_km": {
        "en": "Mean distance to nearest point (km)",
        "vi": "Khoảng cách bình quân đến điểm gần nhất (km)",
    },
    "p90_distance_km": {
        "en": "90th percentile distance (km)",
        "vi": "Khoảng cách phân vị 90 (km)",
    },
    "max_distance_km": {
        "en": "Maximum distance (km)",
        "vi": "Khoảng cách lớn nhất (km)",
    },
    "pop_surface": {"en": "Population (surface)", "vi": "Dân số (bề mặt)"},
    "farthest_lon": {
        "en": "Farthest populated place: longitude",
        "vi": "Nơi có dân xa nhất: kinh độ",
    },
    "farthest_lat": {
        "en": "Farthest populated place: latitude",
        "vi": "Nơi có dân xa nhất: vĩ độ",
    },
    "meets_access": {
        "en": "Meets distance rules",
        "vi": "Đạt chỉ tiêu khoảng cách",
    },
    "mean_time_min": {
        "en": "Mean travel time to nearest point (min)",
        "vi": "Thời gian đi bình quân đến điểm gần nhất (phút)",
    },
    "p90_time_min": {
        "en": "90th percentile travel time (min)",
        "vi": "Thời gian đi phân vị 90 (phút)",
    },
    "max_time_min": {
        "en": "Maximum travel time (min)",
        "vi": "Thời gian đi lớn nhất (phút)",
    },
    "slowest_lon": {
        "en": "Slowest populated place: longitude",
        "vi": "Nơi có dân đi lâu nhất: kinh độ",
    },
    "slowest_lat": {
        "en": "Slowest populated place: latitude",
        "vi": "Nơi có dân đi lâu nhất: vĩ độ",
    },
    "meets_time": {"en": "Meets travel-time rules", "vi": "Đạt chỉ tiêu thời gian đi"},
    "pop_served": {"en": "Population served", "vi": "Dân số được phục vụ"},
    "equivalent_radius_km": {
        "en": "Equivalent radius (km)",
        "vi": "Bán kính tương đương (km)",
    },
    "n_colocated": {
        "en": "Points at the same location",
        "vi": "Số điểm cùng vị trí",
    },
    "commune_codes": {"en": "Commune codes", "vi": "Mã xã/phường"},
    "rule": {"en": "Rule", "vi": "Chỉ tiêu"},
    "level": {"en": "Level", "vi": "Cấp"},
    "distance_km": {"en": "Distance (km)", "vi": "Khoảng cách (km)"},
    "min_share": {"en": "Required share", "vi": "Tỷ lệ yêu cầu"},
    "share": {"en": "Share reached", "vi": "Tỷ lệ đạt được"},
    "margin": {"en": "Margin", "vi": "Chênh lệch"},
    "passes": {"en": "Passes", "vi": "Đạt"},
    "newly_covered_pop": {
        "en": "Population newly within reach",
        "vi": "Dân số được phục vụ thêm",
    },
    "running_total_pop": {
        "en": "Running total of population",
        "vi": "Dân số cộng dồn",
    },
    "n_points_before": {"en": "Points before", "vi": "Số điểm trước"},
    "n_points_after": {"en": "Points after", "vi": "Số điểm sau"},
    "radius_km_before": {
        "en": "Average service radius before (km)",
        "vi": "Bán kính phục vụ bình quân trước (km)",
    },
    "radius_km_after": {
        "en": "Average service radius after (km)",
        "vi": "Bán kính phục vụ bình quân sau (km)",
    },
    "people_per_point_before": {
        "en": "People per point before",
        "vi": "Số dân/điểm trước",
    },
    "people_per_point_after": {
        "en": "People per point after",
        "vi": "Số dân/điểm sau",
    },
    "share_within_before": {
        "en": "Share within the distance before",
        "vi": "Tỷ lệ dân trong phạm vi trước",
    },
    "share_within_after": {
        "en": "Share within the distance after",
        "vi": "Tỷ lệ dân trong phạm vi sau",
    },
    "n_locations": {"en": "Population locations", "vi": "Số vị trí dân cư"},
    # terminal
    "cli.outputs": {"en": "Outputs", "vi": "Các tệp kết quả"},
    "cli.per_province": {
        "en": "… and {n} per-province files under {folder}",
        "vi": "… và {n} tệp theo từng tỉnh trong {folder}",
    },
    # map texts
    "map.layer.radius": {
        "en": "Service radius vs benchmark",
        "vi": "Bán kính phục vụ so với chỉ tiêu",
    },
    "map.layer.people": {
        "en": "People per point vs benchmark",
        "vi": "Số dân/điểm so với chỉ tiêu",
    },
    "map.layer.share": {
        "en": "Population within {t} km",
        "vi": "Dân số trong phạm vi {t} km",
    },
    "map.layer.needed": {"en": "Points needed", "vi": "Số điểm cần bổ sung"},
    "map.layer.points": {"en": "Service points", "vi": "Điểm phục vụ"},
    "map.layer.rings": {
        "en": "Benchmark radius rings ({r} km)",
        "vi": "Vòng bán kính chỉ tiêu ({r} km)",
    },
    "map.layer.uncovered": {"en": "Uncovered zones", "vi": "Vùng chưa được phục vụ"},
    "map.layer.proposed": {
        "en": "Proposed new points",
        "vi": "Điểm đề xuất bổ sung",
    },
    "map.layer.districts": {"en": "District outlines", "vi": "Ranh giới huyện"},
    "map.layer.provinces": {"en": "Province outlines", "vi": "Ranh giới tỉnh"},
    "map.bin.meets_strong": {
        "en": "meets (≤ {a})",
        "vi": "đạt (≤ {a})",
    },
    "map.bin.meets": {"en": "meets ({a}–{b})", "vi": "đạt ({a}–{b})"},
    "map.bin.slightly": {
        "en": "slightly above ({a}–{b})",
        "vi": "vượt nhẹ ({a}–{b})",
    },
    "map.bin.above": {"en": "above ({a}–{b})", "vi": "vượt ({a}–{b})"},
    "map.bin.far": {"en": "far above (> {a})", "vi": "vượt xa (> {a})"},
    "map.bin.no_point": {"en": "no service point", "vi": "chưa có điểm phục vụ"},
    "map.bin.missing": {"en": "no data", "vi": "không có dữ liệu"},
    "map.bin.share_high": {"en": "≥ {a}%", "vi": "≥ {a}%"},
    "map.bin.share_mid": {"en": "{a}–{b}%", "vi": "{a}–{b}%"},
    "map.bin.share_low": {"en": "< {a}%", "vi": "< {a}%"},
    "map.bin.needed_zero": {"en": "none", "vi": "không cần"},
    "map.bin.needed_range": {"en": "{a}–{b}", "vi": "{a}–{b}"},
    "map.bin.needed_one": {"en": "{a}", "vi": "{a}"},
    "map.bin.needed_more": {"en": "{a} or more", "vi": "từ {a} trở lên"},
    "map.legend.ratio_note": {
        "en": "value / benchmark ({v})",
        "vi": "giá trị / chỉ tiêu ({v})",
    },
    "map.legend.points": {"en": "Service points", "vi": "Điểm phục vụ"},
    "map.legend.staffed": {
        "en": "solid: staffed; hollow: not staffed",
        "vi": "tô đặc: có người phục vụ; rỗng: không có người",
    },
    "map.legend.tthc": {
        "en": "dark border: receives TTHC applications",
        "vi": "viền đậm: tiếp nhận hồ sơ TTHC",
    },
    "map.search.placeholder": {
        "en": "Find a commune…",
        "vi": "Tìm xã/phường…",
    },
    "map.search.none": {"en": "No commune found", "vi": "Không tìm thấy xã"},
    "map.search.placeholder.province": {
        "en": "Find a province…",
        "vi": "Tìm tỉnh/thành phố…",
    },
    "map.search.none.province": {
        "en": "No province found",
        "vi": "Không tìm thấy tỉnh",
    },
    "map.legend.unit.province": {
        "en": "one shape per province",
        "vi": "mỗi vùng là một tỉnh/thành phố",
    },
    "map.title.level.province": {"en": "Provinces", "vi": "Theo tỉnh/thành phố"},
    "map.title.benchmark": {"en": "benchmark", "vi": "chỉ tiêu"},
    "map.title.synthetic": {
        "en": "SYNTHETIC SAMPLE DATA – not real figures",
        "vi": "DỮ LIỆU MẪU GIẢ LẬP – không phải số liệu thực",
    },
    "map.yes": {"en": "yes", "vi": "có"},
    "map.no": {"en": "no", "vi": "không"},
    "map.none": {"en": "–", "vi": "–"},
    "map.proposed": {"en": "Proposed point", "vi": "Điểm đề xuất"},
    "map.uncovered": {"en": "Uncovered zone", "vi": "Vùng chưa được phục vụ"},
    "map.benchmark_radius": {
        "en": "Benchmark radius",
        "vi": "Bán kính chỉ tiêu",
    },
    "map.benchmark_people": {
        "en": "Benchmark people per point",
        "vi": "Chỉ tiêu số dân/điểm",
    },
    # the map's national view, basemap and what-if panel
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

_PATTERNS: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (
        re.compile(r"^share_within_(?P<t>[0-9.]+)min$"),
        {
            "en": "Share of population within {t} min",
            "vi": "Tỷ lệ dân số trong vòng {t} phút",
        },
    ),
    (
        re.compile(r"^pop_within_(?P<t>[0-9.]+)min$"),
        {"en": "Population within {t} min", "vi": "Dân số trong vòng {t} phút"},
    ),
    (
        re.compile(r"^share_within_(?P<t>[0-9.]+)km$"),
        {
            "en": "Share of population within {t} km",
            "vi": "Tỷ lệ dân số trong phạm vi {t} km",
        },
    ),
    (
        re.compile(r"^pop_within_(?P<t>[0-9.]+)km$"),
        {
            "en": "Population within {t} km",
            "vi": "Dân số trong phạm vi {t} km",
        },
    ),
]


def label(key: str, lang: str = "en") -> str:
    """Return the label of ``key`` in ``lang``, or ``key`` itself when unknown.

    Parameters
    ----------
    key
        A canonical column name (``radius_km``, ``share_within_5km``) or a text key
        (``map.layer.radius``).
    lang
        ``"en"`` or ``"vi"``; any other language falls back to English.

    Returns
    -------
    str
        The label.

    Examples
    --------
    >>> label("radius_km", "vi")
    'Bán kính phục vụ bình quân (km)'
    >>> label("share_within_5km", "en")
    'Share of population within 5 km'
    >>> label("unknown_column", "vi")
    'unknown_column'
    """
    lang = lang if lang in LANGUAGES else "en"
    entry = LABELS.get(key)
    if entry is not None:
        return entry.get(lang, entry["en"])
    for pattern, texts in _PATTERNS:
        match = pattern.match(key)
        if match:
            return texts[lang].format(t=match.group("t"))
    return key


def kind_label(kind: str, lang: str = "en") -> str:
    """Return the name of a point kind (``post_office`` -> ``Bưu cục``).

    Parameters
    ----------
    kind
        One of the canonical kinds.
    lang
        ``"en"`` or ``"vi"``.
    """
    return label(str(kind), lang)


def _vi_marks(text: str) -> str:
    """Swap the English marks for the Vietnamese ones (``4,583.9`` -> ``4.583,9``)."""
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def number(value: float, spec: str = "", lang: str = "en") -> str:
    """Format ``value`` with ``spec`` in the reader's convention for numbers.

    Examples
    --------
    >>> number(4583.94, ",.1f"), number(4583.94, ",.1f", "vi")
    ('4,583.9', '4.583,9')
    >>> number(2.5, "g", "vi")
    '2,5'
    """
    text = format(value, spec)
    return _vi_marks(text) if lang == "vi" else text


class _Formatter(string.Formatter):
    """``str.format`` whose numbers and notes follow the language."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Note):
            return format(note_text(value, self.lang), format_spec)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number(value, format_spec, self.lang)
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            return self.format_field(value.item(), format_spec)
        return str(format(value, format_spec))


def format_text(template: str, lang: str = "en", /, **params: Any) -> str:
    """Fill ``template`` like ``str.format``; in Vietnamese numbers use ``4.583,9``.

    English output is exactly ``template.format(**params)``. Parameters that are
    :class:`Note` objects are rendered in ``lang`` too.

    Examples
    --------
    >>> format_text("{n:,} of {total:,}", "vi", n=1007, total=3321)
    '1.007 of 3.321'
    >>> format_text("{d:.2f} km, {name}", "vi", d=2.08, name="file.csv")
    '2,08 km, file.csv'
    """
    if lang != "vi":
        return template.format(**params)
    return _Formatter(lang).format(template, **params)


#: Reading notes by code: the English text (byte for byte the text the readers
#: wrote before notes had codes) and the Vietnamese one, with the same fields.
NOTES: dict[str, dict[str, str]] = {
    "read_as": {
        "en": "{file}: read as {encoding}, delimiter {delimiter!r}",
        "vi": "{file}: đọc theo bảng mã {encoding}, dấu phân cách {delimiter!r}",
    },
    "encoding.bom": {"en": "{name} with BOM", "vi": "{name} có BOM"},
    "encoding.no_bom": {
        "en": "{name} (no byte order mark)",
        "vi": "{name} (không có BOM)",
    },
    "no_column.kind": {
        "en": "no kind column: all points counted as kind 'other'",
        "vi": "không có cột loại điểm (kind): mọi điểm được tính là loại 'other' "
        "(khác)",
    },
    "no_column.staffed": {
        "en": "no staffed column: all points except letter boxes assumed staffed",
        "vi": "không có cột có người phục vụ (staffed): mọi điểm trừ thùng thư được "
        "coi là có người phục vụ",
    },
    "no_column.admin_services": {
        "en": "no admin_services column: no point assumed to offer administrative "
        "(TTHC) services",
        "vi": "không có cột tiếp nhận hồ sơ TTHC (admin_services): không điểm nào "
        "được coi là tiếp nhận hồ sơ TTHC",
    },
    "no_column.commune_code": {
        "en": "no commune code column: features are numbered F00001, ...; name one "
        "with --column commune_code=COLUMN",
        "vi": "không có cột mã xã: các đối tượng được đánh số F00001, ...; chỉ định "
        "cột bằng --column commune_code=COLUMN",
    },
    "no_column.commune_name": {
        "en": "no commune name column: codes are used as names",
        "vi": "không có cột tên xã: dùng mã xã làm tên",
    },
    "points_outside": {
        "en": "{n} point(s) lie outside every commune ({ids}{more}); they are "
        "listed in points_outside.csv and not counted",
        "vi": "{n:,} điểm nằm ngoài mọi xã/phường ({ids}{more}); các điểm này được "
        "liệt kê trong points_outside.csv và không được tính",
    },
    "and_more": {"en": " and {n} more", "vi": " và {n:,} điểm khác"},
    "declared_mismatch": {
        "en": "{n} point(s) lie in another commune than their commune_code column "
        "says ({ids}{more}); the location was used",
        "vi": "{n:,} điểm nằm ở xã khác với mã xã ghi trong cột commune_code "
        "({ids}{more}); đã dùng vị trí thực tế",
    },
    "population_separators": {
        "en": "{n} population value(s) with thousands separators read as whole "
        "numbers (e.g. {raw!r} = {value:,.0f})",
        "vi": "{n:,} giá trị dân số có dấu phân cách hàng nghìn được đọc là số "
        "nguyên (ví dụ {raw!r} = {value:,.0f})",
    },
    "population_table": {
        "en": "population from {file}: {matched} of {total} communes matched by "
        "code{extra}",
        "vi": "dân số lấy từ {file}: {matched:,}/{total:,} xã khớp theo mã{extra}",
    },
    "population_table.extra": {
        "en": "; {n} table row(s) match no commune",
        "vi": "; {n:,} dòng của bảng không khớp xã nào",
    },
    "geometry_collections": {
        "en": "{n} geometry collection(s) reduced to polygons",
        "vi": "{n:,} đối tượng GeometryCollection được rút gọn thành đa giác",
    },
    "geometry_repaired": {
        "en": "{n} invalid geometry(ies) repaired",
        "vi": "đã sửa {n:,} hình học không hợp lệ",
    },
    "reading_warning": {
        "en": "{source}: a computation warned while reading the layer ({text}); "
        "check features with extreme or broken coordinates",
        "vi": "{source}: có cảnh báo tính toán khi đọc lớp dữ liệu ({text}); kiểm "
        "tra các đối tượng có tọa độ bất thường hoặc bị hỏng",
    },
    "kinds_counted": {
        "en": "counting only kinds {kinds}: {n} of {total} points",
        "vi": "chỉ tính các loại điểm {kinds}: {n:,}/{total:,} điểm",
    },
}


class Note(str):
    """A reading note: a message code and its parameters, equal to its English text.

    Being a ``str`` (the English text), a note goes wherever notes went before
    (``summary.json``, comparisons, ``startswith``); :func:`note_text` renders it
    in another language. ``prefix`` is text put before the message as it is (the
    name of the file a note is about).

    Parameters
    ----------
    code
        A key of :data:`NOTES`.
    prefix
        Text before the message, kept in every language.
    **params
        The message's fields: numbers, names, or other notes (rendered in the
        same language).

    Examples
    --------
    >>> n = Note("read_as", file="a.csv", encoding="UTF-8", delimiter=";")
    >>> n
    "a.csv: read as UTF-8, delimiter ';'"
    >>> note_text(n, "vi")
    "a.csv: đọc theo bảng mã UTF-8, dấu phân cách ';'"
    """

    code: str
    prefix: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, /, prefix: str = "", **params: Any) -> Note:  # noqa: D102
        text = prefix + NOTES[code]["en"].format(**params)
        note = super().__new__(cls, text)
        note.code = code
        note.prefix = prefix
        note.params = dict(params)
        return note

    def __repr__(self) -> str:
        return str.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make_note, (self.code, self.prefix, dict(self.params)))

    def with_prefix(self, prefix: str) -> Note:
        """Return the same note with ``prefix`` put before its present prefix."""
        return Note(self.code, prefix=prefix + self.prefix, **self.params)


def _make_note(code: str, prefix: str, params: dict[str, Any]) -> Note:
    return Note(code, prefix=prefix, **params)


def note_text(note: str, lang: str = "en") -> str:
    """Render a note in ``lang``; a plain string (a rare note) stays as it is.

    Examples
    --------
    >>> note_text(Note("no_column.commune_name"), "vi")
    'không có cột tên xã: dùng mã xã làm tên'
    >>> note_text("a note without a code", "vi")
    'a note without a code'
    """
    if not isinstance(note, Note) or lang not in LANGUAGES or lang == "en":
        return str(note)
    template = NOTES[note.code].get(lang, NOTES[note.code]["en"])
    return note.prefix + format_text(template, lang, **note.params)
