"""Labels for columns and map texts in English and Vietnamese.

A plain lookup table used by the CSV headers, the terminal summary and the map.
Keys are canonical column names (``radius_km``) or text keys (``map.legend``).
Access columns carry their threshold in the name (``share_within_5km``,
``pop_within_2.5km``) and are labelled from a pattern.
"""

from __future__ import annotations

import re

__all__ = ["LABELS", "LANGUAGES", "kind_label", "label"]

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
    "map.legend.clustered": {
        "en": "numbers: clusters of points (zoom in)",
        "vi": "số: cụm điểm (phóng to để xem)",
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
