"""The workflows of ``coverage analyze``, ``plan`` and ``map``: orchestration only.

No click and no printing here: the CLI parses options, calls :func:`analyze`
(and :func:`run_plan`), writes with :mod:`coverage.output`, and reports. Stage
timings are recorded for the benchmarks; progress goes through ``on_stage``.

=====================  ====================================================
module                 job
=====================  ====================================================
``analyze``            load and validate, metrics, distance access, stages
``plan``               read candidates and exclusions, choose sites
``provinces``          ``--by province``: slugs, targets, per-province views
``summary``            ``summary.json`` and ``plan.json`` structures
=====================  ====================================================

The writers (:mod:`coverage.output.write`) and tables
(:mod:`coverage.output.tables`) are importable from here too, as before the
package was split; they load on first use, since the output modules build on
this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..model import DEFAULT_THRESHOLDS_KM, AccessOptions, Analysis, PlanRun
from .analyze import (
    analyze,
    apply_access,
    count_stages,
    find_sample,
    main_threshold_km,
    thresholds_for,
)
from .plan import (
    count_plan_stages,
    plan_analysis,
    plan_radius_km,
    read_candidates,
    read_exclusion,
    run_plan,
)
from .provinces import (
    PROVINCE_FILES,
    province_map_path,
    province_slug,
    province_targets,
    province_units,
    split_by_province,
)
from .summary import build_summary, summary_benchmark

if TYPE_CHECKING:
    from ..output.tables import (
        COMMUNE_COLUMNS,
        GAP_COLUMNS,
        XLSX_SHEETS,
        distance_rule_table,
    )
    from ..output.write import (
        OUTPUT_FILES,
        PLAN_FILES,
        map_title,
        output_targets,
        plan_targets,
        redraw_map,
        write_analysis_map,
        write_outputs,
        write_plan,
        write_province_map,
        write_province_outputs,
    )

__all__ = [
    "COMMUNE_COLUMNS",
    "DEFAULT_THRESHOLDS_KM",
    "GAP_COLUMNS",
    "OUTPUT_FILES",
    "PLAN_FILES",
    "PROVINCE_FILES",
    "XLSX_SHEETS",
    "AccessOptions",
    "Analysis",
    "PlanRun",
    "analyze",
    "apply_access",
    "build_summary",
    "count_plan_stages",
    "count_stages",
    "distance_rule_table",
    "find_sample",
    "main_threshold_km",
    "map_title",
    "output_targets",
    "plan_analysis",
    "plan_radius_km",
    "plan_targets",
    "province_map_path",
    "province_slug",
    "province_targets",
    "province_units",
    "read_candidates",
    "read_exclusion",
    "redraw_map",
    "run_plan",
    "split_by_province",
    "summary_benchmark",
    "thresholds_for",
    "write_analysis_map",
    "write_outputs",
    "write_plan",
    "write_province_map",
    "write_province_outputs",
]

_FROM_OUTPUT = {
    **dict.fromkeys(
        ("COMMUNE_COLUMNS", "GAP_COLUMNS", "XLSX_SHEETS", "distance_rule_table"),
        "coverage.output.tables",
    ),
    **dict.fromkeys(
        (
            "OUTPUT_FILES",
            "PLAN_FILES",
            "map_title",
            "output_targets",
            "plan_targets",
            "redraw_map",
            "write_analysis_map",
            "write_outputs",
            "write_plan",
            "write_province_map",
            "write_province_outputs",
        ),
        "coverage.output.write",
    ),
}


def __getattr__(name: str) -> object:
    module = _FROM_OUTPUT.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
