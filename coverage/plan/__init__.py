"""Siting of new service points: maximal covering and location set covering.

Two layers:

* an array core in metric coordinates (:func:`build_coverage_matrix`,
  :func:`solve_mclp`, :func:`solve_lscp`, :func:`solve_commune_rule`,
  :func:`plan_new_sites`), independent of any GIS library, and
* a GeoDataFrame adapter (:func:`plan_from_layers`, :func:`before_after`) that
  builds the population surface, generates candidate sites and returns the proposals
  in EPSG:4326.

Existing points are never moved or dropped: they only enter as "demand already
covered", which contributes nothing to the objective. Problems are reduced before
solving (zero-population and already covered demand dropped, demand rows with the
same set of covering candidates merged with summed weights, dominated candidates
dropped) and then solved exactly with :func:`scipy.optimize.milp` (HiGHS) under a
time limit, or with a lazy greedy (CELF) whose result carries a proven bound. A
greedy result is reported as optimal only when its value reaches a proven bound.

Modules: :mod:`~coverage.plan.matrix` (coverage matrix and reduction),
:mod:`~coverage.plan.greedy` (lazy greedy and its bounds),
:mod:`~coverage.plan.solvers` (MCLP, LSCP, commune rule), :mod:`~coverage.plan.sites`
(demand and candidate sites), :mod:`~coverage.plan.layers` (array and GeoDataFrame
adapters) and :mod:`~coverage.plan.instance` (bench instances).
"""

# names outside __all__ (as in the single module before) are re-exported "as"
# themselves: the tests import them
from .instance import BenchInstance, load_instance
from .layers import PROPOSED_COLUMNS as PROPOSED_COLUMNS
from .layers import before_after, plan_from_layers, plan_new_sites
from .matrix import (
    DISTANCE_TOLERANCE_M,
    DOMINANCE_MAX_WORK,
    build_coverage_matrix,
    covered_by,
)
from .sites import CandidateSource as CandidateSource
from .sites import _population_grid as _population_grid
from .sites import _thin_cells as _thin_cells
from .solvers import (
    AUTO_EXACT_MAX_NNZ,
    LP_BOUND_MAX_NNZ,
    PlanResult,
    PlanTarget,
    parse_target,
    solve_commune_rule,
    solve_lscp,
    solve_mclp,
)
from .solvers import Method as Method

__all__ = [
    "AUTO_EXACT_MAX_NNZ",
    "DISTANCE_TOLERANCE_M",
    "DOMINANCE_MAX_WORK",
    "LP_BOUND_MAX_NNZ",
    "BenchInstance",
    "PlanResult",
    "PlanTarget",
    "before_after",
    "build_coverage_matrix",
    "covered_by",
    "load_instance",
    "parse_target",
    "plan_from_layers",
    "plan_new_sites",
    "solve_commune_rule",
    "solve_lscp",
    "solve_mclp",
]
