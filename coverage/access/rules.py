"""Distance rules ("95% of the population within 5 km"): verdicts per unit."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..benchmarks import Benchmark, DistanceRule
from .core import AccessResult, threshold_label

__all__ = ["evaluate_distance_rules"]

_LEVELS = {
    "overall": None,
    "commune": "commune_code",
    "district": "district_name",
    "province": "province_name",
}


def _rule_label(rule: DistanceRule) -> str:
    scope = "" if rule.scope == "all" else f" ({rule.scope})"
    return f"{rule.min_share:.1%} within {threshold_label(rule.distance_km)}{scope}"


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
    by = _LEVELS.get(level, level)
    frames = []
    if rules:
        table = result.aggregate(by, thresholds_km=[r.distance_km for r in rules])
        key = "unit" if by is None else by
        for rule in rules:
            label = threshold_label(rule.distance_km)
            evaluated = rule.scope == "all"
            share = table[f"share_within_{label}"].to_numpy(float)
            pop_within = table[f"pop_within_{label}"].to_numpy(float)
            if not evaluated:
                share = np.full(len(table), np.nan)
                pop_within = np.full(len(table), np.nan)
            margin = share - rule.min_share
            passes = pd.array(
                np.where(np.isnan(share), None, margin >= -1e-12), dtype="boolean"
            )
            frames.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "unit": table[key].to_numpy(dtype=object),
                        "rule": _rule_label(rule),
                        "scope": rule.scope,
                        "distance_km": rule.distance_km,
                        "min_share": rule.min_share,
                        "pop_surface": table["pop_surface"].to_numpy(float),
                        "pop_within": pop_within,
                        "share": share,
                        "margin": margin,
                        "passes": passes,
                        "evaluated": evaluated,
                    }
                )
            )
    if not frames:
        cols = [
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
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)
