"""The terminal report: the summary and the plan as text, safe to print.

Pure functions building text from ``summary.json`` / ``plan.json``; printing is
the CLI's job. In Vietnamese every word and number follows the reader
(``4.583,9``; reading notes through :func:`coverage.i18n.note_text`); the
solver's free-text detail of a plan stays English.
"""

from __future__ import annotations

import re

import pandas as pd

from ..benchmarks import Benchmark
from ..i18n import format_text, note_text, number
from ..model import Summary

__all__ = ["format_plan", "format_summary", "printable"]

_T: dict[str, dict[str, str]] = {
    "en": {
        "title": "Service-point coverage",
        "benchmark": "Benchmark",
        "communes": "Communes {n:,} · population {pop:,} · area {area:,.1f} km²",
        "points": "Service points {n:,}",
        "staffed": "Staffed points {n:,} ({share})",
        "admin": "Points receiving administrative (TTHC) dossiers {n:,} ({share})",
        "radius": "Average service radius per point",
        "people": "People per point",
        "staffed_rule": "Communes with a staffed point",
        "rule_all": "rule: every commune",
        "meets": "meets",
        "fails": "FAILS",
        "no_bench": "no benchmark",
        "failing": "Communes failing the benchmark: {n:,} of {total:,} "
        "({needed:,} points needed to close every gap)",
        "without": "Communes without any service point ({n}):",
        "outside": "Points outside every commune: {n}",
        "notes": "Notes",
        "access": "Population within {t} km of a point: {share} ({rule})",
        "mean_distance": "Population-weighted mean distance to the nearest point: "
        "{d:.2f} km (90% of people within {p90:.2f} km)",
        "within": "Population within {t} km of a point: {share}",
        "zones": "Uncovered zones beyond {t} km: {n:,} with {pop:,.0f} people "
        "in {parts:,} commune parts (uncovered_zones.csv)",
        "plan_title": "Plan: {problem} within {r:g} km of a point",
        "plan_status": "Status: {status} (method {method}, {time:.2f} s){gap}",
        "plan_gap": "; proven gap {gap:.2%}, bound {bound:,.0f}",
        "plan_new": "New points proposed: {n}; people newly within {r:g} km: "
        "{pop:,.0f}",
        "plan_share": "Share of population within {r:g} km: {before} → {after}",
        "plan_radius": "Average service radius: {before} km → {after} km",
        "plan_people": "People per point: {before} → {after}",
        "plan_uncoverable": "Out of reach of every candidate: {pop:,.0f} people",
        "plan_top": "Top proposals (rank, lat, lon, commune, newly covered):",
    },
    "vi": {
        "title": "Mạng điểm phục vụ bưu chính",
        "benchmark": "Chỉ tiêu so sánh",
        "communes": "Số xã/phường {n:,} · dân số {pop:,} · diện tích {area:,.1f} km²",
        "points": "Số điểm phục vụ {n:,}",
        "staffed": "Điểm có người phục vụ {n:,} ({share})",
        "admin": "Điểm tiếp nhận, trả hồ sơ TTHC {n:,} ({share})",
        "radius": "Bán kính phục vụ bình quân trên một điểm",
        "people": "Số dân phục vụ bình quân trên một điểm",
        "staffed_rule": "Xã/phường có điểm phục vụ có người",
        "rule_all": "yêu cầu: 100% xã",
        "meets": "đạt",
        "fails": "CHƯA ĐẠT",
        "no_bench": "không có chỉ tiêu",
        "failing": "Số xã/phường chưa đạt chỉ tiêu: {n:,}/{total:,} "
        "(cần bổ sung {needed:,} điểm)",
        "without": "Xã/phường chưa có điểm phục vụ nào ({n}):",
        "outside": "Điểm nằm ngoài mọi xã/phường: {n}",
        "notes": "Ghi chú",
        "access": "Dân số trong phạm vi {t} km từ một điểm: {share} ({rule})",
        "mean_distance": "Khoảng cách bình quân (theo dân số) tới điểm gần nhất: "
        "{d:.2f} km (90% dân số trong phạm vi {p90:.2f} km)",
        "within": "Dân số trong phạm vi {t} km từ một điểm: {share}",
        "zones": "Vùng chưa được phục vụ (xa hơn {t} km): {n:,} vùng, {pop:,.0f} "
        "người, {parts:,} phần theo xã (uncovered_zones.csv)",
        "plan_title": "Phương án: {problem}, phạm vi {r:g} km",
        "plan_status": "Trạng thái: {status} (phương pháp {method}, {time:.2f} s){gap}",
        "plan_gap": "; sai số tối ưu chứng minh được {gap:.2%}, cận {bound:,.0f}",
        "plan_new": "Số điểm đề xuất mới: {n}; dân số được phục vụ thêm trong "
        "{r:g} km: {pop:,.0f}",
        "plan_share": "Tỷ lệ dân số trong phạm vi {r:g} km: {before} → {after}",
        "plan_radius": "Bán kính phục vụ bình quân: {before} km → {after} km",
        "plan_people": "Số dân bình quân trên một điểm: {before} → {after}",
        "plan_uncoverable": "Không điểm ứng viên nào với tới: {pop:,.0f} người",
        "plan_top": "Các đề xuất hàng đầu (thứ hạng, vĩ độ, kinh độ, xã, dân số "
        "được phục vụ thêm):",
    },
}


_KIND_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "post_office": "post offices",
        "culture_post": "culture post offices",
        "agent": "agents",
        "letter_box": "letter boxes",
        "delivery": "delivery offices",
        "other": "other",
    },
    "vi": {
        "post_office": "bưu cục",
        "culture_post": "điểm BĐVHX",
        "agent": "đại lý",
        "letter_box": "thùng thư công cộng",
        "delivery": "bưu cục phát",
        "other": "khác",
    },
}


_STATUS_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "optimal": "tối ưu",
        "feasible (time limit)": "khả thi (hết thời gian giới hạn)",
        "greedy": "lời giải tham lam (chưa chứng minh tối ưu)",
        "infeasible": "không đạt được mục tiêu",
    },
}

_METHOD_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "exact": "chính xác",
        "greedy": "tham lam",
        "direct": "trực tiếp",
        "highs": "HiGHS",
        "auto": "tự động",
    },
}


_PROBLEM_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "mclp": "maximal covering",
        "lscp": "fewest points meeting the target",
        "commune": "a point in every commune",
    },
    "vi": {
        "mclp": "phủ tối đa",
        "lscp": "ít điểm nhất đạt mục tiêu",
        "commune": "mỗi xã có một điểm",
    },
}


# C0/C1 controls and the bidirectional formatting characters (U+202A-U+202E,
# U+2066-U+2069, U+200E/F, U+061C): a reversed name could disguise a message.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def printable(text: str) -> str:
    """Make text from the data safe for a terminal.

    Control characters (an ANSI escape in a commune name could recolour or clear
    the terminal) become ``?``; line breaks and tabs stay.

    Examples
    --------
    >>> printable("Xã \x1b[2JTân Lạc")
    'Xã ?[2JTân Lạc'
    """
    return _CONTROL.sub("?", text)


def _pct(x: float | None, lang: str = "en") -> str:
    return "–" if x is None else number(100 * x, ".1f", lang) + "%"


def _num(value: float | None, fmt: str, lang: str = "en") -> str:
    return "–" if value is None or pd.isna(value) else number(value, fmt, lang)


def _score_lines(summary: Summary, *, vi: bool) -> list[str]:
    """Capacity load and access-score lines (only when computed)."""
    lines = []
    cap = summary.get("capacity")
    if cap and "n_overloaded" in cap:
        top = ", ".join(cap["overloaded_points"][:5])
        text = "điểm quá tải (tải > 1)" if vi else "points overloaded (load > 1)"
        lines.append(
            f"  {cap['n_overloaded']:,}/{cap['n_points']:,} {text}"
            + (f": {top}" if top else "")
        )
    score = summary.get("access_score")
    if score and score.get("area_mean") is not None:
        text = "chỉ số tiếp cận" if vi else "access score"
        lines.append(
            f"  {text} {score['method']}{_score_zones(score)}: "
            f"{score['area_mean']:.3g} ({score['unit']}); "
            + ("thấp nhất" if vi else "lowest")
            + ": "
            + ", ".join(score["lowest_communes"])
        )
    return lines


def _score_zones(score: dict) -> str:
    """Return the zone edges of an access score with their unit, e.g. ``(2/3/5 km)``."""
    for unit in ("min", "km"):
        edges = score.get(f"zone_edges_{unit}")
        if edges:
            return " (" + "/".join(f"{e:g}" for e in edges) + f" {unit})"
    return ""


def format_summary(
    summary: Summary, *, lang: str = "en", benchmark: Benchmark | None = None
) -> str:
    """Render ``summary`` (from :func:`build_summary`) as the terminal report.

    Parameters
    ----------
    summary
        The ``summary.json`` structure.
    lang
        ``"en"`` or ``"vi"``: the words, the number marks and the notes.
    benchmark
        The profile of the run, for its title in ``lang`` (``title_vi``); without
        it (or for another profile) the title in the summary is shown.
    """
    t = _T.get(lang, _T["en"])
    names = _KIND_NAMES.get(lang, _KIND_NAMES["en"])
    o = summary["overall"]
    b = summary["benchmark"]

    def fill(key: str, **params: object) -> str:
        return format_text(t[key], lang, **params)

    title = b["title"]
    if benchmark is not None and benchmark.name == b["name"]:
        title = benchmark.title_in(lang)
    lines = [
        f"{t['title']}: {summary['inputs'].get('communes', '')}",
        f"{t['benchmark']}: {b['name']} — {title}",
        "  "
        + fill(
            "communes",
            n=int(o["n_communes"]),
            pop=int(o["population"]),
            area=o["area_km2"],
        ),
    ]
    kinds = ", ".join(
        f"{names[k]} {number(n, ',', lang)}"
        for k, n in summary["points_by_kind"].items()
        if n
    )
    lines.append("  " + fill("points", n=int(o["n_points"])) + f": {kinds}")
    n_points = int(o["n_points"])
    share_staffed = o["n_staffed"] / n_points if n_points else None
    lines.append(
        "  " + fill("staffed", n=int(o["n_staffed"]), share=_pct(share_staffed, lang))
    )
    lines.append(
        "  "
        + fill(
            "admin",
            n=int(o["n_admin_services"]),
            share=_pct(o.get("share_admin_services"), lang),
        )
    )

    def verdict(ok: bool) -> str:
        return t["meets"] if ok else t["fails"]

    rows = []
    rows.append(
        (
            t["radius"],
            _num(o["radius_km"], ".2f", lang) + " km",
            "–"
            if b["radius_km"] is None
            else number(b["radius_km"], "g", lang) + " km",
            t["no_bench"] if b["radius_km"] is None else verdict(o["meets_radius"]),
        )
    )
    rows.append(
        (
            t["people"],
            _num(o["people_per_point"], ",.0f", lang),
            "–"
            if b["people_per_point"] is None
            else number(b["people_per_point"], ",.0f", lang),
            t["no_bench"]
            if b["people_per_point"] is None
            else verdict(o["meets_people"]),
        )
    )
    staffed_share = o["share_communes_staffed"]
    rows.append(
        (
            t["staffed_rule"],
            f"{number(int(o['n_communes_staffed']), ',', lang)}/"
            f"{number(int(o['n_communes']), ',', lang)} "
            f"({_pct(staffed_share, lang)})",
            t["rule_all"] if b["require_staffed"] else "–",
            verdict(o["meets_staffed"]) if b["require_staffed"] else t["no_bench"],
        )
    )
    width = max(len(r[0]) for r in rows)
    for name, value, bench, ok in rows:
        lines.append(f"  {name:<{width}}  {value:>14}  {bench:>20}  {ok}")
    access = summary.get("access")
    if access:
        if access.get("mean_distance_km") is not None:
            lines.append(
                "  "
                + fill(
                    "mean_distance",
                    d=access["mean_distance_km"],
                    p90=access["p90_distance_km"],
                )
            )
        for rule in access.get("rules", []):
            lines.append(
                "  "
                + fill(
                    "access",
                    t=number(rule["distance_km"], "g", lang),
                    share=_pct(rule["share"], lang),
                    rule=f"≥ {_pct(rule['min_share'], lang)}: "
                    + verdict(bool(rule["passes"])),
                )
            )
        if not access.get("rules"):
            for w in access.get("within", []):
                lines.append(
                    "  "
                    + fill(
                        "within",
                        t=number(w["distance_km"], "g", lang),
                        share=_pct(w["share"], lang),
                    )
                )
        if access.get("zone_threshold_km") is not None:
            lines.append(
                "  "
                + fill(
                    "zones",
                    t=number(access["zone_threshold_km"], "g", lang),
                    n=int(access.get("n_uncovered_zones", 0)),
                    parts=int(access.get("n_uncovered_zone_parts", 0)),
                    pop=float(access.get("uncovered_population", 0.0)),
                )
            )
    from .travel import travel_lines

    lines.extend(travel_lines(summary, lang=lang))
    lines.extend(_score_lines(summary, vi=lang == "vi"))
    lines.append(
        "  "
        + fill(
            "failing",
            n=int(o["n_communes_failing"]),
            total=int(o["n_communes"]),
            needed=int(o["communes_points_needed"]),
        )
    )
    without = summary["communes_without_point"]
    if without:
        lines.append("  " + fill("without", n=len(without)))
        for c in without[:15]:
            district = f" ({c['district_name']})" if c.get("district_name") else ""
            lines.append(
                f"    {c['commune_code']} {c['commune_name']}{district}: "
                f"{number(c['population'], ',', lang)}"
            )
        if len(without) > 15:
            lines.append(f"    … +{len(without) - 15}")
    if summary["n_points_outside_communes"]:
        lines.append("  " + fill("outside", n=summary["n_points_outside_communes"]))
    if summary["notes"]:
        lines.append(f"{t['notes']}:")
        lines.extend(f"  - {note_text(n, lang)}" for n in summary["notes"])
    return "\n".join(lines)


def format_plan(summary: Summary, proposed: pd.DataFrame, *, lang: str = "en") -> str:
    """Render the plan summary (``plan.json``) and the top proposals as text."""
    t = _T.get(lang, _T["en"])
    problems = _PROBLEM_NAMES.get(lang, _PROBLEM_NAMES["en"])
    statuses = _STATUS_NAMES.get(lang, {})
    methods = _METHOD_NAMES.get(lang, {})

    def fill(key: str, **params: object) -> str:
        return format_text(t[key], lang, **params)

    minutes = summary.get("within_min")
    r = float(summary["radius_km"] if minutes is None else minutes)
    gap = summary.get("gap")
    gap_text = (
        fill("plan_gap", gap=gap, bound=summary.get("bound") or 0.0) if gap else ""
    )
    status, method = str(summary["status"]), str(summary["method"])
    lines = [
        fill(
            "plan_title",
            problem=problems.get(summary["problem"], summary["problem"]),
            r=r,
        ),
        "  "
        + fill(
            "plan_status",
            status=statuses.get(status, status),
            method=methods.get(method, method),
            time=summary.get("solve_time_s") or 0.0,
            gap=gap_text,
        ),
        "  "
        + fill(
            "plan_new",
            n=int(summary["n_proposed"]),
            r=r,
            pop=summary.get("newly_covered_pop") or 0.0,
        ),
    ]
    ba = summary.get("before_after", {})

    def pair(key: str, fmt: str, scale: float = 1.0) -> tuple[str, str]:
        def one(v: float | None) -> str:
            return "–" if v is None else number(v * scale, fmt, lang)

        return one(ba.get(f"{key}_before")), one(ba.get(f"{key}_after"))

    before, after = pair("share_within", ".1f", 100.0)
    lines.append("  " + fill("plan_share", r=r, before=before + "%", after=after + "%"))
    before, after = pair("radius_km", ".2f")
    lines.append("  " + fill("plan_radius", before=before, after=after))
    before, after = pair("people_per_point", ",.0f")
    lines.append("  " + fill("plan_people", before=before, after=after))
    if summary.get("uncoverable_pop"):
        lines.append("  " + fill("plan_uncoverable", pop=summary["uncoverable_pop"]))
    if summary.get("detail"):
        lines.append(f"  {summary['detail']}")
    if minutes is not None:
        unit = " phút" if lang == "vi" else " min"
        lines = [line.replace(f"{r:g} km", f"{r:g}{unit}") for line in lines]
    if len(proposed):
        lines.append("  " + t["plan_top"])
        for row in proposed.head(10).itertuples():
            name = getattr(row, "commune_name", "") or ""
            lines.append(
                f"    {row.rank:>3}  {number(row.lat, '.5f', lang)}  "
                f"{number(row.lon, '.5f', lang)}  "
                f"{row.commune_code} {name}  "
                f"{number(row.newly_covered_pop, ',.0f', lang)}"
            )
        if len(proposed) > 10:
            lines.append(f"    … +{len(proposed) - 10} (proposed_points.csv)")
    return "\n".join(lines)
