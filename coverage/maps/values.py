"""Column values as JSON-ready lists, shared by the map data and the what-if."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__: list[str] = []


def _round(values: pd.Series, decimals: int) -> list[float | None]:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(float)
    arr = np.round(arr, decimals)
    if decimals == 0:
        return [None if not math.isfinite(v) else int(v) for v in arr]
    return [None if not math.isfinite(v) else float(v) for v in arr]


def _text(values: pd.Series | None, n: int) -> list[str]:
    if values is None:
        return [""] * n
    return values.astype("string").fillna("").tolist()
