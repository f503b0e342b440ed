"""The ``summary.json`` and ``plan.json`` structures, and reading one back.

Pure functions building dictionaries from computed figures; the terminal text
made from them is :mod:`coverage.output.report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import SupportsFloat

import numpy as np
import pandas as pd

from ..benchmarks import Benchmark
from ..errors import InputError
from ..io import KINDS
from ..model import Analysis, PlanRun, Summary
from ..reasons import render_reasons

__all__ = [
    "access_summary",
    "build_summary",
    "plan_summary",
    "summary_benchmark",
    "zone_counts",
]


def build_summary(
    overall: Mapping[str, float | int | bool | str | None],
    benchmark: Benchmark,
    *,
    communes: pd.DataFrame,
    n_outside: int,
    notes: list[str],
    inputs: dict[str, str],
    access: Summary | None = None,
) -> Summary:
    """Collect the headline figures into the ``summary.json`` structure.

    ``summary.json`` is for scripts: the overall gap reasons are in English words.
    """
    without = communes.loc[communes["n_points"] == 0]
    if overall.get("gap_reasons") is not None:
        words = render_reasons([str(overall["gap_reasons"])], "en")[0]
        overall = {**overall, "gap_reasons": words}
    return {
        "inputs": inputs,
        "benchmark": {
            "name": benchmark.name,
            "title": benchmark.title,
            "radius_km": benchmark.radius_km,
            "people_per_point": benchmark.people_per_point,
            "require_staffed": benchmark.require_staffed,
            "distance_rules": [
                {
                    "distance_km": r.distance_km,
                    "min_share": r.min_share,
                    "scope": r.scope,
                }
                for r in benchmark.distance_rules
            ],
            "sources": list(benchmark.sources),
        },
        "overall": overall,
        "points_by_kind": {k: int(overall.get(f"n_{k}") or 0) for k in KINDS},
        "n_points_outside_communes": n_outside,
        "communes_without_point": [
            {
                "commune_code": r.commune_code,
                "commune_name": r.commune_name,
                "district_name": getattr(r, "district_name", None),
                "population": int(r.population),
            }
            for r in without.itertuples()
        ],
        "access": access,
        "notes": notes,
    }


def access_summary(
    analysis: Analysis,
    overall: pd.DataFrame,
    *,
    zones: pd.DataFrame | None = None,
    n_locations: int | None = None,
) -> Summary:
    """Build the ``access`` part of ``summary.json`` from the one-row ``overall``.

    Parameters
    ----------
    analysis
        An analysis with distance access.
    overall
        :func:`coverage.pipeline.analyze.level_access` of the whole area, or one
        row of a level (a province under ``--by province``).
    zones
        The area's uncovered zones; default the analysis's.
    n_locations
        The area's number of population locations; default all of them.
    """
    from ..access import (
        rule_evaluated,
        rule_label,
        rule_passes,
        rule_share,
        threshold_label,
    )

    result = analysis.access
    if result is None:
        msg = "the access summary needs an analysis with distance access"
        raise ValueError(msg)
    row = overall.iloc[0]

    def num(value: SupportsFloat | None) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    within = [
        {
            "distance_km": t,
            "pop_within": num(row[f"pop_within_{threshold_label(t)}"]),
            "share": num(row[f"share_within_{threshold_label(t)}"]),
        }
        for t in result.thresholds_km
    ]
    rules = []
    for rule in analysis.benchmark.distance_rules:
        evaluated = rule_evaluated(rule)
        share = num(rule_share(overall, rule)[0])
        rules.append(
            {
                "rule": rule_label(rule),
                "distance_km": rule.distance_km,
                "min_share": rule.min_share,
                "scope": rule.scope,
                "share": share,
                "margin": None if share is None else share - rule.min_share,
                "passes": rule_passes(share, rule.min_share),
                "evaluated": evaluated,
            }
        )
    zones = analysis.zones if zones is None else zones
    surface = result.surface
    return {
        "population_surface": surface.source,
        "cell_m": float(surface.cell_m),
        "n_locations": len(surface) if n_locations is None else n_locations,
        "mean_distance_km": num(row["mean_distance_km"]),
        "p90_distance_km": num(row["p90_distance_km"]),
        "max_distance_km": num(row["max_distance_km"]),
        "farthest_lat": num(row.get("farthest_lat")),
        "farthest_lon": num(row.get("farthest_lon")),
        "within": within,
        "rules": rules,
        "zone_threshold_km": analysis.zone_threshold_km,
        **zone_counts(zones),
        "distance": "straight line, in the UTM zone of the data",
    }


def plan_summary(run: PlanRun, analysis: Analysis) -> Summary:
    """Build ``plan.json``: the inputs, the solver outcome and before/after."""
    res = run.result

    def num(value: SupportsFloat | None) -> float | None:
        if value is None:
            return None
        number = float(value)
        return number if np.isfinite(number) else None

    return {
        "inputs": analysis.summary.get("inputs", {}),
        "benchmark": analysis.summary.get("benchmark", {}),
        "radius_km": run.radius_km,
        "problem": res.problem,
        "status": res.status,
        "method": res.method,
        "n_proposed": len(run.proposed),
        "objective": num(res.objective),
        "bound": num(res.bound),
        "gap": num(res.gap),
        "newly_covered_pop": num(res.newly_covered_pop),
        "uncoverable_pop": num(res.uncoverable_pop),
        "solve_time_s": num(res.solve_time_s),
        "detail": res.detail,
        "before_after": {k: num(v) for k, v in run.overall.items()},
    }


def summary_benchmark(summary: Summary, *, origin: str = "summary.json") -> Benchmark:
    """Rebuild the benchmark of a previous run from its ``summary.json``.

    The table is checked with :func:`coverage.benchmarks.parse_benchmark` (nulls
    mean absent), so a hand-edited summary fails naming the field.
    """
    from ..benchmarks import parse_benchmark

    b = summary.get("benchmark")
    if not isinstance(b, dict):
        msg = f"{origin}: 'benchmark' must be a table; rerun coverage analyze"
        raise InputError(msg)
    data = {k: v for k, v in b.items() if v is not None and k != "path"}
    return parse_benchmark(data, origin=f"{origin}: field 'benchmark'")


def zone_counts(zones: pd.DataFrame | None) -> dict[str, float | int]:
    """Count the connected uncovered zones, their parts per commune and people.

    ``uncovered_zones.csv`` has a row per zone and commune it crosses; a zone that
    spans three communes is one zone of three parts.
    """
    if zones is None or len(zones) == 0:
        return {
            "n_uncovered_zones": 0,
            "n_uncovered_zone_parts": 0,
            "uncovered_population": 0.0,
        }
    n_zones = zones["zone_id"].nunique() if "zone_id" in zones else len(zones)
    return {
        "n_uncovered_zones": int(n_zones),
        "n_uncovered_zone_parts": len(zones),
        "uncovered_population": float(zones["population"].sum()),
    }
