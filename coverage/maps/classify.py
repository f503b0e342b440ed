"""Classes of the gap map: bins, the bin of each commune per layer, legend labels.

Every commune carries, per choropleth layer, the index of its bin in the same list
from which the legend is drawn, so colours and legend cannot disagree. Indexes at
or above ``100`` mark the special bins :data:`NO_POINT` and :data:`MISSING`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..benchmarks import Benchmark
from ..errors import InputError
from ..i18n import label
from ..reasons import format_number

__all__ = [
    "KIND_COLOURS",
    "MISSING",
    "NEEDED_BINS",
    "NO_POINT",
    "RATIO_BINS",
    "Bin",
    "LayerSpec",
    "classify_needed",
    "classify_ratio",
    "classify_share",
    "share_bins",
]


@dataclass(frozen=True)
class Bin:
    """One class of a choropleth: the legend row and the fill colour.

    Attributes
    ----------
    key : str
        Stable identifier (``meets_strong``, ``far``, ``no_point``...).
    colour : str
        Fill colour (``#rrggbb``).
    lower, upper : float
        The bin holds values ``lower < v <= upper`` (ratio bins) or
        ``lower <= v < upper`` (share and count bins); NaN for the special bins.
    """

    key: str
    colour: str
    lower: float = math.nan
    upper: float = math.nan


#: Ratio of a value to its benchmark (lower is better): greens meet it, amber is
#: slightly above, reds far above. Diverging around 1, the benchmark itself.
RATIO_BINS: tuple[Bin, ...] = (
    Bin("meets_strong", "#1a9850", -math.inf, 0.75),
    Bin("meets", "#91cf60", 0.75, 1.0),
    Bin("slightly", "#fee08b", 1.0, 1.25),
    Bin("above", "#fc8d59", 1.25, 1.5),
    Bin("far", "#d73027", 1.5, math.inf),
)
NO_POINT = Bin("no_point", "#542788")
MISSING = Bin("missing", "#bdbdbd")

#: Points needed to meet the benchmark: 0 meets, then more and more red.
NEEDED_BINS: tuple[Bin, ...] = (
    Bin("needed_zero", "#1a9850", 0, 1),
    Bin("needed_one", "#fee08b", 1, 2),
    Bin("needed_range", "#fc8d59", 2, 4),
    Bin("needed_range", "#d73027", 4, 10),
    Bin("needed_more", "#7f0000", 10, math.inf),
)

KIND_COLOURS: dict[str, str] = {
    "post_office": "#08519c",
    "delivery": "#4eb3d3",
    "culture_post": "#e7298a",
    "agent": "#8c510a",
    "letter_box": "#252525",
    "other": "#969696",
}

_SPECIAL = 100  # index offset: bins >= _SPECIAL are NO_POINT / MISSING


def share_bins(min_share: float | None) -> tuple[Bin, ...]:
    """Bins of the share of population within a distance, centred on the target.

    Parameters
    ----------
    min_share
        The benchmark's required share (0-1) or None (then 0.95).

    Returns
    -------
    tuple of Bin
        From best to worst: at or above the target (green), up to 10 points below
        (amber), up to 25 points below (orange), further below (red).
    """
    target = 0.95 if min_share is None else float(min_share)
    a, b = max(target - 0.10, 0.0), max(target - 0.25, 0.0)
    return (
        Bin("share_high", "#1a9850", target, math.inf),
        Bin("share_mid", "#fee08b", a, target),
        Bin("share_mid", "#fc8d59", b, a),
        Bin("share_low", "#d73027", -math.inf, b),
    )


def classify_ratio(
    ratio: np.ndarray, n_points: np.ndarray, *, missing: np.ndarray | None = None
) -> np.ndarray:
    """Return the index in :data:`RATIO_BINS` of each ratio (value / benchmark).

    Communes without any point get ``_SPECIAL`` (no point) and those with a point
    but no value (NaN, or flagged in ``missing``) ``_SPECIAL + 1`` (no data).
    """
    ratio = np.asarray(ratio, dtype=float)
    uppers = np.array([b.upper for b in RATIO_BINS[:-1]])
    idx = np.searchsorted(uppers, ratio, side="left")
    bad = ~np.isfinite(ratio)
    if missing is not None:
        bad |= np.asarray(missing, bool)
    idx = np.where(bad, _SPECIAL + 1, idx)
    return np.where(np.asarray(n_points) == 0, _SPECIAL, idx).astype(np.int64)


def classify_share(share: np.ndarray, bins: tuple[Bin, ...]) -> np.ndarray:
    """Return the index in ``bins`` (from :func:`share_bins`) of each share."""
    share = np.asarray(share, dtype=float)
    lowers = np.array([b.lower for b in bins])
    idx = np.argmax(share[:, None] >= lowers[None, :], axis=1)
    return np.where(np.isfinite(share), idx, _SPECIAL + 1).astype(np.int64)


def classify_needed(needed: np.ndarray) -> np.ndarray:
    """Return the index in :data:`NEEDED_BINS` of each number of points needed."""
    needed = np.asarray(needed, dtype=float)
    uppers = np.array([b.upper for b in NEEDED_BINS[:-1]])
    idx = np.searchsorted(uppers, needed, side="right")
    return np.where(np.isfinite(needed), idx, _SPECIAL + 1).astype(np.int64)


@dataclass(frozen=True)
class LayerSpec:
    """A choropleth layer: its key, title, bins and the class of each commune."""

    key: str
    title: str
    bins: tuple[Bin, ...]
    classes: np.ndarray
    legend_labels: tuple[str, ...]
    fill_special: bool


def _fmt(value: float, unit: str = "", lang: str = "en") -> str:
    # Vietnamese writes 4.583,9 (coverage.reasons.format_number)
    if value < 100:
        mark = "," if lang == "vi" else "."
        text = format_number(value, 3, lang).rstrip("0").rstrip(mark)
    else:
        text = format_number(value, 0, lang)
    return f"{text}{unit}"


def _ratio_labels(reference: float, unit: str, lang: str) -> tuple[str, ...]:
    edges = [b.upper * reference for b in RATIO_BINS[:-1]]
    e = [_fmt(v, unit, lang) for v in edges]
    return (
        label("map.bin.meets_strong", lang).format(a=e[0]),
        label("map.bin.meets", lang).format(a=e[0], b=e[1]),
        label("map.bin.slightly", lang).format(a=e[1], b=e[2]),
        label("map.bin.above", lang).format(a=e[2], b=e[3]),
        label("map.bin.far", lang).format(a=e[3]),
    )


def _share_labels(bins: tuple[Bin, ...], lang: str) -> tuple[str, ...]:
    pct = [_fmt(100 * b.lower, lang=lang) for b in bins[:-1]]
    return (
        label("map.bin.share_high", lang).format(a=pct[0]),
        label("map.bin.share_mid", lang).format(a=pct[1], b=pct[0]),
        label("map.bin.share_mid", lang).format(a=pct[2], b=pct[1]),
        label("map.bin.share_low", lang).format(a=pct[2]),
    )


def _needed_labels(lang: str) -> tuple[str, ...]:
    out = []
    for b in NEEDED_BINS:
        lo, hi = int(b.lower), b.upper
        if lo == 0:
            out.append(label("map.bin.needed_zero", lang))
        elif math.isinf(hi):
            out.append(label("map.bin.needed_more", lang).format(a=lo))
        elif hi - lo == 1:
            out.append(label("map.bin.needed_one", lang).format(a=lo))
        else:
            out.append(label("map.bin.needed_range", lang).format(a=lo, b=int(hi) - 1))
    return tuple(out)


def _share_column(
    communes: pd.DataFrame, threshold_km: float | None
) -> tuple[str | None, float | None]:
    cols = [c for c in communes.columns if re.fullmatch(r"share_within_[0-9.]+km", c)]
    if threshold_km is not None:
        text = f"{float(threshold_km):.6f}".rstrip("0").rstrip(".")
        col = f"share_within_{text}km"
        if col not in communes.columns:
            msg = (
                f"the map asks for the share within {text} km but the communes have "
                f"no column {col} (available: {', '.join(cols) or 'none'})"
            )
            raise InputError(msg)
        return col, float(text)
    if not cols:
        return None, None
    col = cols[0]
    return col, float(col[len("share_within_") : -2])


def _layer_specs(
    communes: pd.DataFrame,
    benchmark: Benchmark,
    *,
    lang: str,
    access_threshold_km: float | None,
) -> tuple[list[LayerSpec], str | None]:
    n_points = communes["n_points"].to_numpy(np.int64)
    pop = communes["population"].to_numpy(float)
    specs: list[LayerSpec] = []
    if benchmark.radius_km is not None:
        specs.append(
            LayerSpec(
                "radius",
                label("map.layer.radius", lang)
                + f" ({_fmt(benchmark.radius_km, lang=lang)} km)",
                RATIO_BINS,
                classify_ratio(communes["radius_ratio"].to_numpy(float), n_points),
                _ratio_labels(benchmark.radius_km, " km", lang),
                True,
            )
        )
    if benchmark.people_per_point is not None:
        specs.append(
            LayerSpec(
                "people",
                label("map.layer.people", lang)
                + f" ({_fmt(benchmark.people_per_point, lang=lang)})",
                RATIO_BINS,
                classify_ratio(
                    communes["people_ratio"].to_numpy(float),
                    n_points,
                    missing=pop <= 0,
                ),
                _ratio_labels(benchmark.people_per_point, "", lang),
                True,
            )
        )
    share_col, t_km = _share_column(communes, access_threshold_km)
    if share_col is not None and t_km is not None:
        rules = [r for r in benchmark.distance_rules if r.distance_km == t_km]
        bins = share_bins(rules[0].min_share if rules else None)
        share = communes[share_col].to_numpy(float)
        share = np.where(pop > 0, share, np.nan)
        specs.append(
            LayerSpec(
                "share",
                label("map.layer.share", lang).format(t=_fmt(t_km, lang=lang)),
                bins,
                classify_share(share, bins),
                _share_labels(bins, lang),
                False,
            )
        )
    specs.append(
        LayerSpec(
            "needed",
            label("map.layer.needed", lang),
            NEEDED_BINS,
            classify_needed(communes["points_needed"].to_numpy(float)),
            _needed_labels(lang),
            False,
        )
    )
    if "access_score_ratio" in communes.columns:
        specs.append(_access_score_spec(communes, lang))
    return specs, share_col


#: Access score relative to the area's mean (higher is better).
ACCESS_SCORE_BINS: tuple[Bin, ...] = (
    Bin("access_high", "#1a9850", 1.25, math.inf),
    Bin("access_mean", "#91cf60", 0.8, 1.25),
    Bin("access_low", "#fc8d59", 0.5, 0.8),
    Bin("access_very_low", "#d73027", -math.inf, 0.5),
)


def _access_score_spec(communes: pd.DataFrame, lang: str) -> LayerSpec:
    vi = lang == "vi"
    ratio = communes["access_score_ratio"].to_numpy(float)
    texts = (
        ("≥ 1,25 × trung bình", "0,8–1,25 × trung bình", "0,5–0,8 ×", "< 0,5 ×")
        if vi
        else ("≥ 1.25 × the mean", "0.8–1.25 × the mean", "0.5–0.8 ×", "< 0.5 ×")
    )
    return LayerSpec(
        "access_score",
        "Chỉ số tiếp cận (2SFCA)" if vi else "Access score (floating catchment)",
        ACCESS_SCORE_BINS,
        classify_share(ratio, ACCESS_SCORE_BINS),
        texts,
        False,
    )
