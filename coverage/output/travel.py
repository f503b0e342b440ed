"""Terminal lines of the travel-time figures (``summary["travel"]``)."""

from __future__ import annotations

from typing import Any

from ..model import Summary

__all__ = ["travel_lines"]

_T: dict[str, dict[str, Any]] = {
    "en": {
        "mean": "Population-weighted mean travel time to the nearest point: "
        "{m:.1f} min (90% of people within {p90:.1f} min)",
        "within": "Population within {t} min of a point: {share}",
        "rule": "Population within {t} min of a point: {share} (≥ {need}: {verdict})",
        "zones": "Uncovered zones beyond {t} min: {n:,} with {pop:,.0f} people "
        "in {parts:,} commune parts (uncovered_zones.csv)",
        "meets": "meets",
        "fails": "FAILS",
        "measure": "Travel time by {mode} over {n:,} roads ({extras})",
        "dem": "DEM",
        "flat": "flat ground",
        "barriers": "{n} barrier layer",
        "modes": {"walk": "walking", "motorbike": "motorbike", "car": "car"},
    },
    "vi": {
        "mean": "Thời gian đi bình quân (theo dân số) tới điểm gần nhất: "
        "{m:.1f} phút (90% dân số trong vòng {p90:.1f} phút)",
        "within": "Dân số trong vòng {t} phút tới một điểm: {share}",
        "rule": "Dân số trong vòng {t} phút tới một điểm: {share} "
        "(≥ {need}: {verdict})",
        "zones": "Vùng chưa được phục vụ quá {t} phút: {n:,} vùng, {pop:,.0f} người, "
        "{parts:,} phần theo xã (uncovered_zones.csv)",
        "meets": "đạt",
        "fails": "CHƯA ĐẠT",
        "measure": "Thời gian đi bằng {mode} trên {n:,} đoạn đường ({extras})",
        "dem": "mô hình độ cao",
        "flat": "địa hình bằng phẳng",
        "barriers": "{n} lớp vật cản",
        "modes": {"walk": "đi bộ", "motorbike": "xe máy", "car": "ô tô"},
    },
}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def travel_lines(summary: Summary, *, lang: str = "en") -> list[str]:
    """Render the travel part of ``summary.json`` as indented terminal lines.

    Parameters
    ----------
    summary
        The whole summary; without a ``travel`` part no line is returned.
    lang
        ``"en"`` or ``"vi"``.

    Returns
    -------
    list of str
        The measure used first ("Travel time by motorbike over 128 roads ...").
    """
    travel = summary.get("travel")
    if not travel:
        return []
    t = _T.get(lang, _T["en"])
    extras = [t["dem"] if travel.get("dem") else t["flat"]]
    if travel.get("n_barrier_layers"):
        extras.append(t["barriers"].format(n=int(travel["n_barrier_layers"])))
    mode = str(travel.get("mode", ""))
    lines = [
        t["measure"].format(
            mode=t["modes"].get(mode, mode),
            n=int(travel.get("n_roads", 0)),
            extras=", ".join(extras),
        )
    ]
    if travel.get("mean_time_min") is not None:
        lines.append(
            t["mean"].format(m=travel["mean_time_min"], p90=travel["p90_time_min"])
        )
    rules = travel.get("rules") or []
    for rule in rules:
        verdict = t["meets"] if rule["passes"] else t["fails"]
        lines.append(
            t["rule"].format(
                t=f"{rule['minutes']:g}",
                share=_pct(rule["share"]),
                need=_pct(rule["min_share"]),
                verdict=verdict,
            )
        )
    if not rules:
        for w in travel.get("within", []):
            lines.append(
                t["within"].format(t=f"{w['minutes']:g}", share=_pct(w["share"]))
            )
    if travel.get("zone_threshold_min") is not None:
        lines.append(
            t["zones"].format(
                t=f"{travel['zone_threshold_min']:g}",
                n=int(travel.get("n_uncovered_zones", 0)),
                parts=int(travel.get("n_uncovered_zone_parts", 0)),
                pop=float(travel.get("uncovered_population", 0.0)),
            )
        )
    return ["  " + line for line in lines]
