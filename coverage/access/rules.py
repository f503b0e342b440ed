"""Distance rules ("95% of the population within 5 km"): the one verdict and wording.

Every verdict of the tool on a distance rule goes through :func:`rule_passes` (or
its complement :func:`rule_fails`), so a share counts the same in the commune
table, the level tables, the rule table and the summary.

Decisions
---------
* A share passes when ``share >= min_share - RULE_TOLERANCE``: a share summed
  from cells can miss an exact minimum by a rounding error.
* Only rules of scope ``"all"`` are evaluated: the tool has no urban/rural split.
  Other scopes, and units with no population, have a NaN share, which is "not
  evaluated": ``passes`` is NA (``None`` for a scalar) and it never fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from ..benchmarks import Benchmark, DistanceRule, rule_label
from ..reasons import encode_reason
from .core import AccessResult, threshold_label

__all__ = [
    "RULE_TOLERANCE",
    "evaluate_distance_rules",
    "rule_columns",
    "rule_evaluated",
    "rule_fails",
    "rule_gap_reason",
    "rule_label",
    "rule_passes",
    "rule_share",
]

#: A share this little below the minimum still passes (rounding of cell sums).
RULE_TOLERANCE = 1e-12

_LEVELS = {
    "overall": None,
    "commune": "commune_code",
    "district": "district_name",
    "province": "province_name",
}

_RULE_TABLE_COLUMNS = [
    "level",
    "unit",
    "rule",
    "scope",
    "distance_km",
    "min_share",
    "pop_surface",
    "pop_within",
    "share",
    "margin",
    "passes",
    "evaluated",
]


def rule_evaluated(rule: DistanceRule) -> bool:
    """Tell whether the tool can evaluate a rule (only scope ``"all"``).

    Parameters
    ----------
    rule
        The distance rule.
    """
    return rule.scope == "all"


def rule_columns(rule: DistanceRule) -> tuple[str, str]:
    """Name the access columns of a rule's distance.

    Parameters
    ----------
    rule
        The distance rule.

    Returns
    -------
    (str, str)
        ``pop_within_{t}`` and ``share_within_{t}``, e.g. ``pop_within_5km``.
    """
    label = threshold_label(rule.distance_km)
    return f"pop_within_{label}", f"share_within_{label}"


def rule_share(table: pd.DataFrame, rule: DistanceRule) -> np.ndarray:
    """Share of each row of ``table`` within the rule's distance, NaN if not evaluated.

    Parameters
    ----------
    table
        A table with the rule's ``share_within_{t}`` column (access tables of
        communes, districts, provinces or the whole layer).
    rule
        The distance rule.

    Returns
    -------
    numpy.ndarray
        float64, one share per row; all NaN when the rule's scope is not ``"all"``
        (the column is then not read).
    """
    if not rule_evaluated(rule):
        return np.full(len(table), np.nan)
    return table[rule_columns(rule)[1]].to_numpy(float)


@overload
def rule_passes(share: float | None, min_share: float) -> bool | None: ...


@overload
def rule_passes(
    share: np.ndarray | pd.Series | Sequence[float], min_share: float
) -> pd.arrays.BooleanArray: ...


def rule_passes(share: Any, min_share: float) -> Any:
    """Tell whether a share reaches a rule's minimum: the verdict of the rule.

    Parameters
    ----------
    share
        Share of the population within the rule's distance: a number (``None`` or
        NaN: not evaluated) or an array of them.
    min_share
        The rule's minimum share.

    Returns
    -------
    bool, None or pandas.arrays.BooleanArray
        For a number, ``True``/``False`` (Python bools), ``None`` when not
        evaluated; for an array, a nullable boolean array with NA where the share
        is NaN.
    """
    if share is None or np.ndim(share) == 0:
        if pd.isna(share):
            return None
        return bool(share >= min_share - RULE_TOLERANCE)
    values = np.asarray(share, dtype=float)
    return pd.arrays.BooleanArray(
        values >= min_share - RULE_TOLERANCE, np.isnan(values)
    )


def rule_fails(share: np.ndarray | Sequence[float], min_share: float) -> np.ndarray:
    """Find the evaluated shares below the minimum (the complement of rule_passes).

    Parameters
    ----------
    share
        Shares within the rule's distance (NaN: not evaluated).
    min_share
        The rule's minimum share.

    Returns
    -------
    numpy.ndarray
        bool, ``True`` where :func:`rule_passes` is ``False`` (never where NA).
    """
    return np.asarray(np.asarray(share, dtype=float) < min_share - RULE_TOLERANCE)


def rule_gap_reason(rule: DistanceRule, share: np.ndarray) -> np.ndarray:
    """Gap reason code of a failed rule per row (``share_below|0.95|5|93.2``).

    Rendered in words (``95% within 5 km needed, 93.2% reached``) by
    :func:`coverage.reasons.render_reasons` when an output is written.

    Parameters
    ----------
    rule
        The distance rule.
    share
        Share within the rule's distance per row (NaN: not evaluated).

    Returns
    -------
    numpy.ndarray
        object, the code where :func:`rule_fails` holds, ``""`` elsewhere.

    Examples
    --------
    >>> rule_gap_reason(DistanceRule(5.0, 0.95), np.array([0.93249, 0.97])).tolist()
    ['share_below|0.95|5|93.2', '']
    """
    share = np.asarray(share, dtype=float)
    fails = rule_fails(share, rule.min_share)
    return encode_reason(
        "share_below", fails, rule.min_share, rule.distance_km, share * 100
    )


def evaluate_distance_rules(
    result: AccessResult,
    benchmark_rules: Benchmark | Iterable[DistanceRule],
    *,
    level: str = "overall",
) -> pd.DataFrame:
    """Check distance rules ("95% of population within 5 km"): pass or fail, margin.

    Parameters
    ----------
    result
        The access result (shares are recomputed from its cells for each rule's
        distance, whatever thresholds it reported).
    benchmark_rules
        A :class:`~coverage.benchmarks.Benchmark` or its distance rules.
    level
        ``"overall"``, ``"commune"``, ``"district"``, ``"province"`` or the name of
        a grouping column of the communes.

    Returns
    -------
    pandas.DataFrame
        One row per unit and rule: ``level, unit, rule, scope, distance_km,
        min_share, pop_surface, pop_within, share, margin (share - min_share),
        passes, evaluated``. Only rules of scope ``"all"`` are evaluated: the
        tool has no urban/rural split, so other scopes get ``evaluated = False``,
        NaN share and ``passes`` NA. ``passes`` is NA for a unit with no
        population.
    """
    rules = (
        benchmark_rules.distance_rules
        if isinstance(benchmark_rules, Benchmark)
        else tuple(benchmark_rules)
    )
    if not rules:
        return pd.DataFrame(columns=_RULE_TABLE_COLUMNS)
    by = _LEVELS.get(level, level)
    table = result.aggregate(by, thresholds_km=[r.distance_km for r in rules])
    key = "unit" if by is None else by
    frames = []
    for rule in rules:
        evaluated = rule_evaluated(rule)
        share = rule_share(table, rule)
        pop_within = (
            table[rule_columns(rule)[0]].to_numpy(float)
            if evaluated
            else np.full(len(table), np.nan)
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "unit": table[key].to_numpy(dtype=object),
                    "rule": rule_label(rule),
                    "scope": rule.scope,
                    "distance_km": rule.distance_km,
                    "min_share": rule.min_share,
                    "pop_surface": table["pop_surface"].to_numpy(float),
                    "pop_within": pop_within,
                    "share": share,
                    "margin": share - rule.min_share,
                    "passes": rule_passes(share, rule.min_share),
                    "evaluated": evaluated,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
