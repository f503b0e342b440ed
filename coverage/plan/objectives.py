"""Exact p-median, p-center and capacitated covering on sparse formulations.

The models live in :mod:`~coverage.plan.median` (p-median, p-center),
:mod:`~coverage.plan.capacity` (capacitated covering) and
:mod:`~coverage.plan.siting_core` (result type and shared helpers); this module
re-exports them so every former import keeps working.
"""

from __future__ import annotations

# names outside __all__ are re-exported "as" themselves
from .capacity import DISTANCE_TOLERANCE_M, solve_capacitated_cover
from .capacity import _capacities as _capacities
from .capacity import _cover_lp as _cover_lp
from .capacity import _cover_milp as _cover_milp
from .capacity import _cover_rows as _cover_rows
from .center import _center_result as _center_result
from .center import _cover_within as _cover_within
from .center import _greedy_center as _greedy_center
from .center import _greedy_cover as _greedy_cover
from .center import solve_p_center
from .median import CHAIN_FACTOR, solve_p_median
from .median import _greedy_median as _greedy_median
from .median import _median_infeasible as _median_infeasible
from .median import _median_model as _median_model
from .median import _median_pairs as _median_pairs
from .median import _merge_equal_rows as _merge_equal_rows
from .siting_core import STATUS_FEASIBLE as STATUS_FEASIBLE
from .siting_core import STATUS_INFEASIBLE as STATUS_INFEASIBLE
from .siting_core import STATUS_OPTIMAL as STATUS_OPTIMAL
from .siting_core import SitingResult
from .siting_core import _equal_rows as _equal_rows
from .siting_core import _inputs as _inputs
from .siting_core import _list_some as _list_some
from .siting_core import _milp_options as _milp_options
from .siting_core import _nearest as _nearest
from .siting_core import _open_distance as _open_distance
from .siting_core import _pairs_within as _pairs_within
from .siting_core import _weighted_mean as _weighted_mean
from .siting_core import _xy as _xy

__all__ = [
    "CHAIN_FACTOR",
    "DISTANCE_TOLERANCE_M",
    "SitingResult",
    "solve_capacitated_cover",
    "solve_p_center",
    "solve_p_median",
]
