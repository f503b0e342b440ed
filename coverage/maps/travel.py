"""The travel-time layer of the map: communes coloured by minutes, time in popups.

:func:`add_travel_layer` extends the data of :func:`coverage.maps.data.map_data`
in place (one more choropleth layer, two more popup fields), so the page script
draws it like any other layer.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, cast

import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement

from ..i18n import label
from .classify import MISSING, Bin

__all__ = ["TIME_BINS", "TravelTooltips", "add_travel_layer", "classify_minutes"]

#: Mean travel time of a commune's people, minutes: the isochrone bands.
TIME_BINS: tuple[Bin, ...] = (
    Bin("time_15", "#1a9850", 0.0, 15.0),
    Bin("time_30", "#91cf60", 15.0, 30.0),
    Bin("time_45", "#fee08b", 30.0, 45.0),
    Bin("time_60", "#fc8d59", 45.0, 60.0),
    Bin("time_90", "#d73027", 60.0, 90.0),
    Bin("time_more", "#7f0000", 90.0, math.inf),
)

_MISSING_CLASS = 101  # the page draws classes above 100 in the missing colour

_TEXT = {
    "en": {
        "title": "Mean travel time (min)",
        "tm": "Mean travel time (min)",
        "p90": "90% of people within (min)",
        "band": "{lo:g}–{hi:g} min",
        "last": "> {lo:g} min",
        "missing": "no data",
    },
    "vi": {
        "title": "Thời gian đi bình quân (phút)",
        "tm": "Thời gian đi bình quân (phút)",
        "p90": "90% dân số trong vòng (phút)",
        "band": "{lo:g}–{hi:g} phút",
        "last": "> {lo:g} phút",
        "missing": "không có dữ liệu",
    },
}


def classify_minutes(minutes: np.ndarray) -> np.ndarray:
    """Return the :data:`TIME_BINS` index of each value (``lower < v <= upper``).

    NaN and infinite values (no reachable point) get the missing class 101.

    Examples
    --------
    >>> classify_minutes(np.array([10.0, 15.0, 31.0, 200.0, np.nan])).tolist()
    [0, 0, 2, 5, 101]
    """
    values = np.asarray(minutes, dtype=float)
    uppers = np.array([b.upper for b in TIME_BINS[:-1]])
    out = np.searchsorted(uppers, values, side="left")
    return np.where(np.isfinite(values), out, _MISSING_CLASS).astype(np.int64)


def _legend(lang: str) -> str:
    t = _TEXT.get(lang, _TEXT["en"])
    e = html.escape
    rows = [f'<div class="cv-legend-title">{e(t["title"])}</div>']
    for i, b in enumerate(TIME_BINS):
        text = (
            t["last"].format(lo=b.lower)
            if math.isinf(b.upper)
            else t["band"].format(lo=b.lower, hi=b.upper)
        )
        rows.append(
            f'<div class="cv-bin" data-bin="{i}"><span class="cv-swatch" '
            f'style="background:{b.colour}"></span>{e(text)}</div>'
        )
    rows.append(
        f'<div class="cv-bin" data-bin="missing"><span class="cv-swatch" '
        f'style="background:{MISSING.colour}"></span>{e(t["missing"])}</div>'
    )
    return "".join(rows)


def _rounded(values: Any) -> list[float | None]:
    arr = np.asarray(values, dtype=float)
    return [float(round(v, 1)) if np.isfinite(v) else None for v in arr]


def add_travel_layer(data: dict, communes: gpd.GeoDataFrame, *, lang: str) -> None:
    """Add the travel-time layer and popup fields to ``data`` (from ``map_data``).

    Parameters
    ----------
    data
        The page data; changed in place.
    communes
        The units drawn, in the same order, with ``mean_time_min`` (and
        ``p90_time_min``); without them nothing is added.
    lang
        ``"en"`` or ``"vi"``.
    """
    if "mean_time_min" not in communes.columns:
        return
    t = _TEXT.get(lang, _TEXT["en"])
    mean = communes["mean_time_min"].to_numpy(float)
    p90 = (
        communes["p90_time_min"].to_numpy(float)
        if "p90_time_min" in communes.columns
        else np.full(len(communes), np.nan)
    )
    classes = classify_minutes(mean).tolist()
    for feature, k, m, p in zip(
        data["communes"]["features"],
        classes,
        _rounded(mean),
        _rounded(p90),
        strict=True,
    ):
        feature["properties"]["k"].append(k)
        feature["properties"]["tm"] = m
        feature["properties"]["t9"] = p
    data["layers"].append(
        {
            "key": "time",
            "title": t["title"],
            "colours": [b.colour for b in TIME_BINS],
            "fillSpecial": True,
            "legend": _legend(lang),
        }
    )
    fields = data["fields"]
    at = next((i for i, f in enumerate(fields) if f[0] == "g"), len(fields))
    fields[at:at] = [["tm", "int"], ["t9", "int"]]
    data["labels"]["tm"] = t["tm"]
    data["labels"]["t9"] = t["p90"]
    data["labels"].setdefault("map.layer.time", label("mean_time_min", lang))


_TOOLTIP_JS = """
(function () {
var cm = window.coverageMap, T = %s;
if (!cm || !cm.layers.time) return;
var loc = T.lang === 'vi' ? 'vi-VN' : 'en-US';
function f1(v) {
  return v === null || v === undefined ? '\u2013' :
    Number(v).toLocaleString(loc, {minimumFractionDigits: 1, maximumFractionDigits: 1});
}
cm.layers.time.eachLayer(function (l) {
  var p = l.feature.properties;
  l.unbindTooltip();
  l.bindTooltip(function () {
    var box = document.createElement('div'), b = document.createElement('b');
    box.className = 'cv-tip';
    b.className = 'cv-tip-name'; b.textContent = p.n; box.appendChild(b);
    [['tm', T.tm], ['t9', T.t9]].forEach(function (r) {
      var line = document.createElement('div');
      line.className = 'cv-tip-' + r[0];
      line.textContent = r[1] + ': ' + f1(p[r[0]]);
      box.appendChild(line);
    });
    return box;
  }, {sticky: true, className: 'cv-tooltip'});
});
})();
"""


class _Raw(Element):
    """Text placed in the page as it is (never compiled as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__("")
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text unchanged."""
        return self._text


class TravelTooltips(MacroElement):
    """Hover text of the travel-time layer: mean and p90 minutes of the commune.

    Runs after the page script (it uses ``window.coverageMap``), so the shared
    script stays unchanged for maps without travel times.
    """

    def __init__(self, lang: str) -> None:
        super().__init__()
        self._name = "TravelTooltips"
        t = _TEXT.get(lang, _TEXT["en"])
        labels = {"lang": lang, "tm": t["tm"], "t9": t["p90"]}
        text = json.dumps(labels, ensure_ascii=False).replace("</", "<\\/")
        self.js = _TOOLTIP_JS % text

    def render(self, **kwargs: Any) -> str:
        """Add the script at the end of the page scripts.

        Returns
        -------
        str
            Nothing to place where the element sits (an empty string).
        """
        figure = cast(Figure, self.get_root())
        figure.script.add_child(_Raw(self.js), name=self.get_name())
        return ""
