"""Distance-based access: how far people live from the nearest service point.

Two layers, as in spopt but always metric:

* an array core on metre coordinates (:func:`nearest_distance_m`,
  :func:`share_within`, :func:`weighted_quantile`, :func:`aggregate_access`) that
  never loops over communes or cells;
* layer functions that build a population surface from the communes
  (:func:`build_population_grid`, :func:`population_from_settlements`,
  :func:`population_from_raster`), measure distances (:func:`compute_access`), and
  derive uncovered zones (:func:`uncovered_zones`), per-point catchments
  (:func:`point_catchments`) and distance-rule verdicts
  (:func:`evaluate_distance_rules`, :func:`rule_passes`).

The modules, by job: :mod:`~coverage.access.core` (the data types and shared
helpers), :mod:`~coverage.access.surface` (population surfaces),
:mod:`~coverage.access.distance` (distances and their aggregates),
:mod:`~coverage.access.zones`, :mod:`~coverage.access.catchments`,
:mod:`~coverage.access.rules` and :mod:`~coverage.access.scores` (capacity load,
2SFCA/E2SFCA access scores). Every name is importable from ``coverage.access``.

Every distance is a straight line measured in the metric CRS of the communes (their
UTM zone unless they are already projected in metres); lon/lat input is projected
first, nothing is ever measured in degrees.

Decisions
---------
* Population totals are preserved exactly: per-location populations are multiples of
  ``2**-20`` person (the remainder of a commune goes to its last location), so every
  sum of them is exact in float64 for totals below 8.5 billion.
* A commune whose polygon contains no cell centre keeps its population on one
  location, a point on its surface.
* A commune with a missing or empty geometry gets no location; its population is
  reported as ``pop_unplaced`` (per commune, per group and in ``notes``), never
  silently dropped. Shares and distances are computed over the placed population.
* :func:`compute_access` raises :class:`InputError` when the point layer has no
  usable point: every distance would be infinite. The array core itself accepts no
  points and returns infinite distances (index ``-1``), which count as "not within"
  any threshold and appear as NaN distances in the aggregates.
* A location is "within" a threshold when its distance is ``<=`` the threshold;
  an uncovered zone holds the populated locations strictly farther.
"""

from __future__ import annotations

from .catchments import CATCHMENT_COLUMNS, point_catchments
from .core import (
    FOOTPRINT_CELL,
    FOOTPRINT_COMMUNE,
    FOOTPRINT_POINT,
    AccessResult,
    PopulationSurface,
    check_grid_size,
    threshold_label,
)
from .core import _assign_to_communes as _assign_to_communes
from .core import _check_thresholds as _check_thresholds
from .core import _clip as _clip
from .core import _commune_union as _commune_union
from .core import _expand as _expand
from .core import _point_arrays as _point_arrays
from .core import _usable as _usable
from .distance import _aggregate_codes as _aggregate_codes
from .distance import _checked_order as _checked_order
from .distance import _group_order as _group_order
from .distance import _group_order_from as _group_order_from
from .distance import _label_codes as _label_codes
from .distance import _sorted_quantile as _sorted_quantile
from .distance import _stable_argsort_codes as _stable_argsort_codes
from .distance import _to_lonlat as _to_lonlat
from .distance import (
    aggregate_access,
    compute_access,
    nearest_distance_m,
    share_within,
    weighted_quantile,
)
from .rules import _LEVELS as _LEVELS
from .rules import (
    RULE_TOLERANCE,
    evaluate_distance_rules,
    rule_columns,
    rule_evaluated,
    rule_fails,
    rule_gap_reason,
    rule_label,
    rule_passes,
    rule_share,
)
from .scores import (
    LUO_QI_WEIGHTS,
    CapacityLoad,
    CostPairs,
    FCAResult,
    GroupScores,
    access_scores,
    aggregate_scores,
    capacity_load,
    enhanced_two_step_fca,
    floating_catchment,
    neighbour_pairs,
    pairs_from_cost_matrix,
    step_weights,
    two_step_fca,
    zone_edges,
)
from .surface import _CHUNK_CELLS as _CHUNK_CELLS
from .surface import _EDGE_EPS_M as _EDGE_EPS_M
from .surface import _QUANTUM as _QUANTUM
from .surface import _apply_affine as _apply_affine
from .surface import _commune_arrays as _commune_arrays
from .surface import _grid_cells_in_polygons as _grid_cells_in_polygons
from .surface import _spread_exact as _spread_exact
from .surface import _surface_from_points as _surface_from_points
from .surface import _unplaced_notes as _unplaced_notes
from .surface import (
    build_population_grid,
    population_from_raster,
    population_from_settlements,
)
from .zones import ZONE_COLUMNS, uncovered_zones
from .zones import _footprints as _footprints
from .zones import _grid_runs_parts as _grid_runs_parts
from .zones import _locate as _locate
from .zones import _zone_parts as _zone_parts
from .zones import _zone_parts_overlay as _zone_parts_overlay

__all__ = [
    "CATCHMENT_COLUMNS",
    "FOOTPRINT_CELL",
    "FOOTPRINT_COMMUNE",
    "FOOTPRINT_POINT",
    "LUO_QI_WEIGHTS",
    "RULE_TOLERANCE",
    "ZONE_COLUMNS",
    "AccessResult",
    "CapacityLoad",
    "CostPairs",
    "FCAResult",
    "GroupScores",
    "PopulationSurface",
    "access_scores",
    "aggregate_access",
    "aggregate_scores",
    "build_population_grid",
    "capacity_load",
    "check_grid_size",
    "compute_access",
    "enhanced_two_step_fca",
    "evaluate_distance_rules",
    "floating_catchment",
    "nearest_distance_m",
    "neighbour_pairs",
    "pairs_from_cost_matrix",
    "point_catchments",
    "population_from_raster",
    "population_from_settlements",
    "rule_columns",
    "rule_evaluated",
    "rule_fails",
    "rule_gap_reason",
    "rule_label",
    "rule_passes",
    "rule_share",
    "share_within",
    "step_weights",
    "threshold_label",
    "two_step_fca",
    "uncovered_zones",
    "weighted_quantile",
    "zone_edges",
]
