"""Gap reasons as codes with their numbers, rendered in a language when written.

A commune fails for reasons such as "radius 5.13 km > 2.9 km". The computation
records each reason as a code and its numbers (``radius_above|5.13|2.9``); the
words are chosen only when a table, a map or the terminal shows them, by
:func:`render_reasons` in English or Vietnamese. One unit's reasons are joined
with ``;`` in the order they were added.

The encoded column survives filtering, sorting and splitting by province like any
text column, and a finished run's GeoPackage keeps it (``gap_reason_codes``) so a
map redrawn later can speak another language.

Examples
--------
>>> import numpy as np
>>> codes = join_reasons(
...     encode_reason("no_staffed", np.array([True, False])),
...     encode_reason("radius_above", np.array([True, True]), [5.127, 3.0], 2.9),
... )
>>> list(codes)
['no_staffed;radius_above|5.13|2.9', 'radius_above|3|2.9']
>>> render_reasons(codes, "en").tolist()
['no staffed point; radius 5.13 km > 2.9 km', 'radius 3.00 km > 2.9 km']
>>> render_reasons(codes, "vi").tolist()[1]
'bán kính 3,00 km > 2,9 km'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "REASONS",
    "Reason",
    "encode_reason",
    "format_number",
    "join_reasons",
    "render_reasons",
]

_SEP = ";"
_FIELD = "|"


def format_number(value: float, decimals: int = 0, lang: str = "en") -> str:
    """Format a number with thousands separators in the reader's convention.

    English writes ``4,583.9``; Vietnamese ``4.583,9``.

    Parameters
    ----------
    value
        The number.
    decimals
        Digits after the decimal mark.
    lang
        ``"en"`` or ``"vi"``.

    Examples
    --------
    >>> format_number(4583.94, 1), format_number(4583.94, 1, "vi")
    ('4,583.9', '4.583,9')
    """
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _g(value: float, lang: str) -> str:
    """Write a benchmark value as a profile does (``2.9``, ``5``, ``7105``)."""
    text = f"{value:g}" if abs(value) < 1e6 else f"{value:.0f}"
    return text.replace(".", ",") if lang == "vi" else text


@dataclass(frozen=True)
class Reason:
    """One kind of gap reason: its code, number of values and words per language.

    ``render`` takes the values (floats) and the language and returns the words.
    """

    code: str
    n_values: int
    render: Callable[[Sequence[float], str], str]


def _no_point(v: Sequence[float], lang: str) -> str:
    return "chưa có điểm phục vụ" if lang == "vi" else "no service point"


def _no_staffed(v: Sequence[float], lang: str) -> str:
    return "chưa có điểm có người phục vụ" if lang == "vi" else "no staffed point"


def _communes_unstaffed(v: Sequence[float], lang: str) -> str:
    if lang == "vi":
        return f"{format_number(v[0], 0, lang)} xã chưa có điểm có người phục vụ"
    return f"{int(v[0])} commune(s) without a staffed point"


def _radius_above(v: Sequence[float], lang: str) -> str:
    word = "bán kính" if lang == "vi" else "radius"
    return f"{word} {format_number(v[0], 2, lang)} km > {_g(v[1], lang)} km"


def _people_above(v: Sequence[float], lang: str) -> str:
    word = "người/điểm" if lang == "vi" else "people/point"
    return f"{format_number(v[0], 0, lang)} {word} > {format_number(v[1], 0, lang)}"


def _share_below(v: Sequence[float], lang: str, unit: str = "km") -> str:
    need = f"{v[0]:.0%}".replace(".", ",") if lang == "vi" else f"{v[0]:.0%}"
    reached = format_number(v[2], 1, lang) + "%"
    if lang == "vi":
        unit_vi = "phút" if unit == "min" else unit
        return (
            f"cần {need} dân số trong phạm vi {_g(v[1], lang)} {unit_vi}, đạt {reached}"
        )
    return f"{need} within {_g(v[1], lang)} {unit} needed, {reached} reached"


def _time_share_below(v: Sequence[float], lang: str) -> str:
    return _share_below(v, lang, unit="min")


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("no_point", 0, _no_point),
        Reason("no_staffed", 0, _no_staffed),
        Reason("communes_unstaffed", 1, _communes_unstaffed),
        Reason("radius_above", 2, _radius_above),
        Reason("people_above", 2, _people_above),
        # min_share (0-1), distance_km, share reached (percent, 1 decimal)
        Reason("share_below", 3, _share_below),
        # min_share (0-1), minutes, share reached (percent, 1 decimal)
        Reason("time_share_below", 3, _time_share_below),
    )
}

# Decimals a value keeps in the code, so the words never show more than was kept.
_KEEP = {
    "radius_above": (2, None),
    "people_above": (0, 0),
    "share_below": (None, None, 1),
}
_KEEP["time_share_below"] = _KEEP["share_below"]


def _value_text(values: np.ndarray, decimals: int | None) -> np.ndarray:
    if decimals is not None:
        values = np.round(values, decimals)
    return pd.Series(values, dtype=float).map(repr).str.removesuffix(".0").to_numpy()


def encode_reason(
    code: str, mask: np.ndarray, *values: float | Sequence[float] | np.ndarray
) -> np.ndarray:
    """Encode one reason for the rows where ``mask`` holds (``""`` elsewhere).

    Parameters
    ----------
    code
        A key of :data:`REASONS`.
    mask
        Boolean per row: the rows that fail for this reason.
    *values
        The reason's numbers, each a scalar or one value per row.

    Returns
    -------
    numpy.ndarray
        Object array of ``code|v1|v2`` texts.
    """
    reason = REASONS[code]
    if len(values) != reason.n_values:
        raise ValueError(f"{code} takes {reason.n_values} values, got {len(values)}")
    mask = np.asarray(mask, dtype=bool)
    n = len(mask)
    keep = _KEEP.get(code, (None,) * reason.n_values)
    text = np.full(n, code, dtype=object)
    for value, decimals in zip(values, keep, strict=True):
        column = np.broadcast_to(np.asarray(value, dtype=float), (n,))
        text = text + _FIELD + _value_text(np.where(mask, column, 0.0), decimals)
    return np.where(mask, text, "").astype(object)


def join_reasons(*parts: np.ndarray) -> np.ndarray:
    """Join encoded reasons row by row with ``;``, skipping empty parts."""
    joined = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        part = np.asarray(part, dtype=object)
        joined = np.where(
            part == "", joined, np.where(joined == "", part, joined + _SEP + part)
        )
    return np.asarray(joined, dtype=object)


def render_reasons(
    codes: pd.Series | np.ndarray | Sequence[str], lang: str
) -> pd.Series:
    """Render encoded reasons in words (``"en"`` or ``"vi"``), ``"; "``-joined.

    Parameters
    ----------
    codes
        Encoded reasons per row (:func:`join_reasons`); missing values count as
        no reason.
    lang
        Language of the words; any other than ``"vi"`` gives English. Text that
        is not a code (a GeoPackage written before the codes) passes unchanged.

    Returns
    -------
    pandas.Series
        One text per row (``""`` for a row without reason), same index as a given
        Series.
    """
    series = (
        pd.Series(codes, dtype=object) if not isinstance(codes, pd.Series) else codes
    )
    index = series.index
    values = series.fillna("").astype(str).to_numpy(dtype=object)
    out = np.full(len(values), "", dtype=object)
    unique, inverse = np.unique(values, return_inverse=True)
    rendered = np.empty(len(unique), dtype=object)
    for i, text in enumerate(unique):
        rendered[i] = "; ".join(
            _render_one(part.strip(), lang) for part in text.split(_SEP) if part
        )
    out[:] = rendered[inverse]
    return pd.Series(out, index=index, dtype=object)


def _render_one(part: str, lang: str) -> str:
    code, *fields = part.split(_FIELD)
    reason = REASONS.get(code)
    if reason is None or len(fields) != reason.n_values:
        return part
    return reason.render([float(f) for f in fields], lang)
