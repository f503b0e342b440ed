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
:mod:`~coverage.plan.solvers` (MCLP), :mod:`~coverage.plan.set_cover` (LSCP,
commune rule),
:mod:`~coverage.plan.median` (p-median), :mod:`~coverage.plan.center` (p-center),
:mod:`~coverage.plan.capacity` (capacitated covering) with
:mod:`~coverage.plan.siting_core` (their result and helpers; both re-exported by
:mod:`~coverage.plan.objectives`),
:mod:`~coverage.plan.sites` (demand and candidate sites),
:mod:`~coverage.plan.layers` (array and GeoDataFrame adapters) and
:mod:`~coverage.plan.instance` (bench instances).
"""

# every name of the former single module stays importable from here; those outside
# __all__ are re-exported "as" themselves
from .greedy import _coverage_value as _coverage_value
from .greedy import _Greedy as _Greedy
from .greedy import _greedy_order as _greedy_order
from .greedy import _lazy_greedy as _lazy_greedy
from .greedy import _min_count_bound as _min_count_bound
from .greedy import _prune as _prune
from .greedy import _top_sum as _top_sum
from .instance import BenchInstance, load_instance
from .instance import _read_csv as _read_csv
from .layers import PROPOSED_COLUMNS as PROPOSED_COLUMNS
from .layers import _list_some as _list_some
from .layers import before_after, plan_from_layers, plan_new_sites
from .matrix import (
    DISTANCE_TOLERANCE_M,
    DOMINANCE_MAX_WORK,
    build_coverage_matrix,
    covered_by,
)
from .matrix import _as_xy as _as_xy
from .matrix import _drop_dominated_columns as _drop_dominated_columns
from .matrix import _merge_identical_rows as _merge_identical_rows
from .matrix import _reduce as _reduce
from .matrix import _Reduced as _Reduced
from .objectives import (
    CHAIN_FACTOR,
    SitingResult,
    solve_capacitated_cover,
    solve_p_center,
    solve_p_median,
)
from .set_cover import _lscp_lp_bound as _lscp_lp_bound
from .set_cover import _lscp_milp as _lscp_milp
from .set_cover import solve_commune_rule, solve_lscp
from .sites import CandidateSource as CandidateSource
from .sites import _containing_index as _containing_index
from .sites import _demand as _demand
from .sites import _point_xy as _point_xy
from .sites import _population_grid as _population_grid
from .sites import _thin_cells as _thin_cells
from .solvers import _STATUS_GREEDY as _STATUS_GREEDY
from .solvers import _STATUS_INFEASIBLE as _STATUS_INFEASIBLE
from .solvers import _STATUS_OPTIMAL as _STATUS_OPTIMAL
from .solvers import _STATUS_TIME_LIMIT as _STATUS_TIME_LIMIT
from .solvers import (
    AUTO_EXACT_MAX_NNZ,
    LP_BOUND_MAX_NNZ,
    PlanResult,
    PlanTarget,
    parse_target,
    solve_mclp,
)
from .solvers import Method as Method
from .solvers import _choose_method as _choose_method
from .solvers import _empty_result as _empty_result
from .solvers import _finish_mclp_bound as _finish_mclp_bound
from .solvers import _integral as _integral
from .solvers import _mclp_lp_bound as _mclp_lp_bound
from .solvers import _mclp_milp as _mclp_milp

__all__ = [
    "AUTO_EXACT_MAX_NNZ",
    "CHAIN_FACTOR",
    "DISTANCE_TOLERANCE_M",
    "DOMINANCE_MAX_WORK",
    "LP_BOUND_MAX_NNZ",
    "BenchInstance",
    "PlanResult",
    "PlanTarget",
    "SitingResult",
    "before_after",
    "build_coverage_matrix",
    "covered_by",
    "load_instance",
    "parse_target",
    "plan_from_layers",
    "plan_new_sites",
    "solve_capacitated_cover",
    "solve_commune_rule",
    "solve_lscp",
    "solve_mclp",
    "solve_p_center",
    "solve_p_median",
]
