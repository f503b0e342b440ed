"""The data of a run: options, the analysis and the plan, and their defaults.

Typed containers only, no computation. Heavy libraries are imported for type
checking alone, so the command line can read the defaults without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from .access import AccessResult
    from .benchmarks import Benchmark
    from .pipeline.travel import TravelAccess
    from .plan import PlanResult

__all__ = [
    "DEFAULT_CELL_M",
    "DEFAULT_PLAN_CELL_M",
    "DEFAULT_THRESHOLDS_KM",
    "DEFAULT_THRESHOLDS_MIN",
    "KINDS",
    "AccessOptions",
    "Analysis",
    "PlanRun",
    "Summary",
    "TravelOptions",
]

#: The kinds of service point, in the order of the tables' ``n_<kind>`` columns.
KINDS = ("post_office", "culture_post", "agent", "letter_box", "delivery", "other")

#: Population grid cell size of ``coverage analyze`` (metres).
DEFAULT_CELL_M = 250.0

#: Population grid cell size of ``coverage plan`` (metres): the optimiser's demand;
#: 500 m keeps exact solutions fast for radii of 2 km and more.
DEFAULT_PLAN_CELL_M = 500.0

#: Thresholds reported when the benchmark has no distance rule (km).
DEFAULT_THRESHOLDS_KM = (2.0, 3.0, 5.0)

#: The ``summary.json`` / ``plan.json`` structure (JSON values).
Summary = dict[str, Any]


@dataclass
class AccessOptions:
    """How distances are measured (``coverage analyze --cell-m ... --within ...``).

    Attributes
    ----------
    enabled
        Compute distance access at all.
    cell_m
        Population grid cell size, metres.
    thresholds_km
        Thresholds to report; default the benchmark's rule distances, else
        :data:`DEFAULT_THRESHOLDS_KM`. Rule distances are always added.
    zone_threshold_km
        Threshold of the uncovered zones and of the map's share layer; default
        :func:`coverage.pipeline.main_threshold_km`.
    raster
        A population raster (GeoTIFF) to use instead of the uniform grid.
    settlements
        Settlement points with population (CSV or point layer) instead of the
        uniform grid.
    rescale
        Scale the raster or settlements of each commune to its population.
    catchments
        Compute per-point catchments (Voronoi cells clipped to the communes).
    """

    enabled: bool = True
    cell_m: float = DEFAULT_CELL_M
    thresholds_km: tuple[float, ...] | None = None
    zone_threshold_km: float | None = None
    raster: str | Path | None = None
    settlements: str | Path | None = None
    rescale: bool = True
    catchments: bool = True


#: Time thresholds reported when the benchmark has no time rule (minutes).
DEFAULT_THRESHOLDS_MIN = (15.0, 30.0, 60.0)


@dataclass
class TravelOptions:
    """How travel times are measured (``coverage analyze --roads ... --mode ...``).

    Attributes
    ----------
    roads
        Road network: ``.osm.pbf`` or a line layer; ``None`` keeps straight lines.
    roads_layer
        Layer of a multi-layer road file (default ``roads`` when present).
    dem
        Elevation GeoTIFF for Tobler's off-road speed; ``None`` for flat ground.
    barriers
        Polygons (rivers, lakes) crossed only on roads.
    barriers_layer
        Layer of the barrier file (default ``barriers`` when present).
    mode
        ``walk``, ``motorbike`` or ``car``; default the first time rule's mode,
        else ``motorbike``.
    profile
        A user TOML travel profile instead of the shipped one of ``mode``.
    thresholds_min
        Time thresholds to report; default the benchmark's time rules, else
        :data:`DEFAULT_THRESHOLDS_MIN`. Rule times are always added.
    zone_threshold_min
        Time beyond which populated land is an uncovered zone; default the
        first time rule, else 60 minutes.
    """

    roads: str | Path | None = None
    roads_layer: str | None = None
    dem: str | Path | None = None
    barriers: str | Path | None = None
    barriers_layer: str | None = None
    mode: str | None = None
    profile: str | Path | None = None
    thresholds_min: tuple[float, ...] | None = None
    zone_threshold_min: float | None = None
    class_column: str | None = None
    speed_column: str | None = None
    class_map: dict[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """Whether travel times are measured at all (a road file was given)."""
        return self.roads is not None


@dataclass
class Analysis:
    """Everything ``coverage analyze`` computed, ready to be written or drawn."""

    communes: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    benchmark: Benchmark
    levels: dict[str, pd.DataFrame]
    gaps: pd.DataFrame
    summary: Summary
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    access: AccessResult | None = None
    zones: gpd.GeoDataFrame | None = None
    catchments: gpd.GeoDataFrame | None = None
    zone_threshold_km: float | None = None
    access_levels: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    travel: TravelAccess | None = None


@dataclass
class PlanRun:
    """Outcome of ``coverage plan``: the solver result, proposals, before/after."""

    result: PlanResult
    proposed: gpd.GeoDataFrame
    before_after: pd.DataFrame
    overall: dict[str, float]
    radius_km: float
    summary: Summary = field(default_factory=dict)
