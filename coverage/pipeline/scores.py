"""The capacity and access-score stages of ``coverage analyze``.

Run after :func:`coverage.pipeline.analyze` on its result:

* :func:`apply_capacity`: where the points carry a capacity (their capacity column,
  else the ``[capacity]`` default of their kind in the benchmark profile), the load
  of every point, ``pop_served / (capacity x people_per_unit)``, joins the
  catchments (``capacity``, ``load``, ``overloaded``) and the summary;
* :func:`apply_access_score`: the 2SFCA / E2SFCA score of every population cell
  (:mod:`coverage.access.scores`) and its population-weighted mean per commune,
  district, province and overall, as ``access_score`` (supply per 1,000 people) and
  ``access_score_ratio`` (ratio to the area's mean) in the communes, the level
  tables and the summary.

Decisions
---------
* With travel times (``--roads``) the catchments are by time, in minutes
  (``--within-min``): the pairs are those of :func:`time_pairs`, one bounded
  Dijkstra per point (in chunks) on the travel graph the travel stage built, with
  the time from the cell to the point in both steps. Without roads they are by
  straight line, in km (``--within``). ``summary.json`` says which
  (``measure``, ``zone_edges_km`` or ``zone_edges_min``).
* A level's score is the population-weighted mean of its cells' scores (not of its
  communes' ratios), and its ratio is to the same area mean as the communes'.

Neither changes anything when not asked for: without capacities and without
``--access-score`` the outputs stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from ..benchmarks import Benchmark
from ..errors import CoverageError, InputError
from ..model import Analysis
from .analyze import counted_points, thresholds_for

if TYPE_CHECKING:
    from ..access.scores import CostPairs
    from ..travel.graph import TravelGraph

__all__ = [
    "ACCESS_SCORE_METHODS",
    "ACCESS_SCORE_PER",
    "N_OVERLOADED_LISTED",
    "access_score_edges_km",
    "apply_access_score",
    "apply_capacity",
    "apply_scores",
    "point_capacity",
    "time_pairs",
]

ACCESS_SCORE_METHODS = ("e2sfca", "2sfca")
#: ``access_score`` is reported per this many people (supply per 1,000 people, as
#: physicians per 1,000): per person it would round to 0 in the tables.
ACCESS_SCORE_PER = 1000.0
#: Overloaded points named in the summary (the catchments list them all).
N_OVERLOADED_LISTED = 20


def point_capacity(points: gpd.GeoDataFrame, benchmark: Benchmark) -> np.ndarray | None:
    """Capacity of every point: its own, else its kind's default; ``None`` if none.

    Parameters
    ----------
    points
        Points with ``kind`` and, when the layer had one, ``capacity``.
    benchmark
        Its ``[capacity]`` table gives the defaults per kind.

    Returns
    -------
    numpy.ndarray or None
        Capacity in the unit of the column (NaN where unknown), or ``None`` when
        neither the points nor the profile give any capacity.
    """
    defaults = benchmark.capacity_by_kind
    if "capacity" not in points.columns and not defaults:
        return None
    own = (
        points["capacity"].to_numpy(float)
        if "capacity" in points.columns
        else np.full(len(points), np.nan)
    )
    by_kind = points["kind"].map(defaults).to_numpy(float) if defaults else own * np.nan
    return np.where(np.isnan(own), by_kind, own)


def apply_capacity(analysis: Analysis, *, kinds: tuple[str, ...] | None = None) -> None:
    """Join capacity and load to the catchments and the summary (when known).

    Load is the population a point serves (its catchment's ``pop_served``: the
    people whose nearest point it is) divided by ``capacity x people_per_unit``; a
    point is overloaded when its load exceeds 1. Points of unknown capacity get no
    load (blank).
    """
    bench = analysis.benchmark
    points = counted_points(analysis.points, kinds)
    capacity = point_capacity(points, bench)
    if capacity is None:
        return
    figures: dict[str, object] = {
        "source": "points' capacity column"
        if "capacity" in points.columns
        else "benchmark [capacity] defaults per kind",
        "people_per_unit": bench.people_per_unit,
        "n_points_with_capacity": int(np.isfinite(capacity).sum()),
        "n_points": len(points),
    }
    catch = analysis.catchments
    if catch is not None and len(catch):
        ids = points["point_id"].astype(str).to_numpy()
        given = catch["point_id"].astype(str).map(dict(zip(ids, capacity, strict=True)))
        cap = given.to_numpy(float) * bench.people_per_unit
        served = catch["pop_served"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            load = np.where(np.isfinite(cap), served / cap, np.nan)
        # NaN (unknown capacity) compares False; zero capacity serving people: inf
        over = load > 1.0
        fin = np.isfinite(load)
        catch = catch.copy()
        catch["capacity"] = given.to_numpy(float)
        catch["load"] = load
        catch["overloaded"] = over
        analysis.catchments = catch
        order = np.argsort(-np.where(over, load, -np.inf), kind="stable")[: over.sum()]
        figures |= {
            "n_overloaded": int(over.sum()),
            "max_load": float(np.max(load[fin])) if fin.any() else None,
            "n_zero_capacity_serving": int(np.isinf(load).sum()),
            "pop_over_capacity": float(np.where(over, served - cap, 0.0).sum()),
            "overloaded_points": [
                str(p)
                for p in catch["point_id"].to_numpy()[order][:N_OVERLOADED_LISTED]
            ],
        }
    analysis.summary["capacity"] = figures


def access_score_edges_km(
    thresholds_km: Sequence[float], *, n_zones: int = 3
) -> tuple[float, ...]:
    """Zone edges of E2SFCA: the thresholds when one per zone, else ``d0/3...d0``.

    The same rule serves the minutes of ``--within-min``.

    Examples
    --------
    >>> access_score_edges_km([2.0, 3.0, 5.0])
    (2.0, 3.0, 5.0)
    >>> access_score_edges_km([6.0])
    (2.0, 4.0, 6.0)
    """
    values = sorted({float(t) for t in thresholds_km})
    if len(values) == n_zones:
        return tuple(values)
    d0 = values[-1]
    return tuple(d0 * k / n_zones for k in range(1, n_zones + 1))


def time_pairs(graph: TravelGraph, *, max_min: float) -> CostPairs:
    """Cell-to-point pairs reached within ``max_min`` minutes on a travel graph.

    Parameters
    ----------
    graph
        The travel graph of the cells and points
        (:func:`coverage.travel.graph.build_graph`).
    max_min
        Catchment size in minutes (times up to it plus
        :data:`~coverage.travel.cover.TIME_TOLERANCE_MIN` are kept).

    Returns
    -------
    coverage.access.scores.CostPairs
        Cost in minutes, from the cell to the point.
    """
    from ..access.scores import CostPairs
    from ..travel.cover import times_within_min

    cell, point, minutes = times_within_min(graph, max_min)
    return CostPairs(cell, point, minutes, graph.n_cells, graph.n_points)


def _score_pairs(
    analysis: Analysis,
    point_xy: np.ndarray,
    *,
    method: str,
    thresholds_km: Sequence[float] | None,
    thresholds_min: Sequence[float] | None,
) -> tuple[CostPairs, tuple[float, ...], tuple[float, ...], dict[str, object]]:
    """Demand-to-point pairs, zone edges (in the pairs' unit), weights, figures."""
    from ..access import LUO_QI_WEIGHTS
    from ..access.scores import neighbour_pairs

    assert analysis.access is not None
    surface = analysis.access.surface
    travel = analysis.travel
    if travel is None:
        given = thresholds_km or thresholds_for(analysis.benchmark)
        source = "--within" if thresholds_km else "benchmark distance thresholds"
        unit = "km"
    else:
        from .travel import travel_thresholds_for

        given = thresholds_min or travel_thresholds_for(analysis.benchmark)
        source = (
            "--within-min" if thresholds_min else "time thresholds (rules or default)"
        )
        unit = "min"
    if method == "e2sfca":
        edges = access_score_edges_km(given, n_zones=len(LUO_QI_WEIGHTS))
        weights: tuple[float, ...] = tuple(LUO_QI_WEIGHTS)
    else:
        edges = (float(max(given)),)
        weights = (1.0,)
    figures: dict[str, object] = {
        "measure": "travel_time_min" if travel is not None else "distance_km",
        "thresholds_from": source,
        f"zone_edges_{unit}": list(edges),
    }
    if travel is None:
        demand_xy = np.column_stack([surface.x_m, surface.y_m])
        pairs = neighbour_pairs(demand_xy, point_xy, max_distance_m=edges[-1] * 1000.0)
        return pairs, tuple(e * 1000.0 for e in edges), weights, figures
    from ..travel.cover import TIME_TOLERANCE_MIN

    graph = travel.times.graph
    graph_xy = analysis.access.point_xy
    same = graph_xy.shape == point_xy.shape and np.allclose(graph_xy, point_xy)
    if not same or graph.n_cells != len(surface.pop):
        msg = "the travel graph does not hold these points and cells (other kinds?)"
        raise CoverageError(msg)
    figures["travel"] = travel.description
    # the edges get the planner's tolerance: round-off of edge sums stays in a zone
    edges_min = tuple(e + TIME_TOLERANCE_MIN for e in edges)
    return time_pairs(graph, max_min=edges[-1]), edges_min, weights, figures


def _level_scores(
    analysis: Analysis, cell_score: np.ndarray, area_mean: float
) -> dict[str, pd.DataFrame]:
    """Population-weighted score per district and province, joined to the levels."""
    from ..access.scores import aggregate_scores
    from ..metrics import LEVEL_KEYS
    from .analyze import composite_key

    assert analysis.access is not None
    surface = analysis.access.surface
    cell_commune = np.asarray(surface.commune, dtype=np.int64)
    placed = cell_commune >= 0
    lows: dict[str, pd.DataFrame] = {}
    for level, table in list(analysis.levels.items()):
        keys = LEVEL_KEYS[level]
        commune_key = composite_key(analysis.communes, keys).astype(str)
        cell_key = np.where(placed, commune_key[np.where(placed, cell_commune, 0)], "")
        groups = aggregate_scores(cell_score, surface.pop, cell_key)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = groups.score / area_mean if area_mean > 0 else groups.score * np.nan
        score = pd.Series(groups.score * ACCESS_SCORE_PER, index=groups.labels)
        ratios = pd.Series(ratio, index=groups.labels)
        row_key = composite_key(table, keys).astype(str)
        out = table.copy()
        out["access_score"] = score.reindex(row_key).to_numpy(float)
        out["access_score_ratio"] = ratios.reindex(row_key).to_numpy(float)
        analysis.levels[level] = out
        lows[level] = out
    return lows


def _lowest(table: pd.DataFrame, level: str, n: int = 5) -> list[str]:
    score = table["access_score"].to_numpy(float)
    finite = np.isfinite(score)
    order = np.argsort(np.where(finite, score, np.inf), kind="stable")[:n]
    low = table.iloc[order[finite[order]]]
    names = low["province_name"].astype("string").fillna("")
    if level == "district":
        names = low["district_name"].astype("string").fillna("") + " (" + names + ")"
    return [str(v) for v in names]


def apply_access_score(
    analysis: Analysis,
    *,
    method: str,
    thresholds_km: Sequence[float] | None = None,
    thresholds_min: Sequence[float] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> None:
    """Add the floating-catchment access score per commune, level and to the summary.

    Parameters
    ----------
    analysis
        An analysis with distance access (its population surface is the demand).
        With travel times (``--roads``) the catchments are by time: a point's
        cells are those that reach it within the largest minute threshold, found
        by a bounded Dijkstra per point on the travel graph
        (:func:`coverage.travel.cover.times_within_min`); otherwise by straight
        line within the largest distance threshold.
    method
        ``"e2sfca"`` (step decay over three zones, weights
        :data:`~coverage.access.LUO_QI_WEIGHTS`) or ``"2sfca"`` (weight 1 up to
        the catchment size).
    thresholds_km
        ``--within``: the catchment size is the largest; E2SFCA uses three given
        thresholds as its zone edges, else splits the largest in three equal zones.
        Default: the analysis thresholds of the benchmark.
    thresholds_min
        ``--within-min``, the same in minutes when the analysis has travel times.
        Default: the time thresholds of the analysis (the benchmark's time rules,
        else 15, 30 and 60 minutes).
    kinds
        The point kinds that count.
    """
    from ..access.core import _point_arrays
    from ..access.scores import aggregate_scores, floating_catchment

    if method not in ACCESS_SCORE_METHODS:
        msg = f"--access-score must be one of {', '.join(ACCESS_SCORE_METHODS)}"
        raise InputError(msg)
    if analysis.access is None:
        msg = "--access-score needs distance access; drop --no-access"
        raise InputError(msg)
    surface = analysis.access.surface
    points = counted_points(analysis.points, kinds)
    xy, _, usable = _point_arrays(points, surface.crs)
    capacity = point_capacity(points, analysis.benchmark)
    supply = np.ones(len(xy))
    n_default = len(xy)
    if capacity is not None:
        cap = capacity[usable]
        supply = np.where(np.isfinite(cap), cap, 1.0)
        n_default = int((~np.isfinite(cap)).sum())
    pairs, edges, weights, measure = _score_pairs(
        analysis,
        xy,
        method=method,
        thresholds_km=thresholds_km,
        thresholds_min=thresholds_min,
    )
    codes = np.asarray(surface.codes).astype(str)
    res = floating_catchment(surface.pop, supply, pairs, edges=edges, weights=weights)
    groups = aggregate_scores(
        res.score, surface.pop, np.asarray(surface.commune, dtype=np.int64)
    )
    communes = analysis.communes.copy()
    n = len(communes)
    score = np.full(n, np.nan)
    ratio = np.full(n, np.nan)
    rows = groups.labels.astype(np.int64)
    placed = rows >= 0
    score[rows[placed]] = groups.score[placed]
    ratio[rows[placed]] = groups.ratio_to_mean[placed]
    communes["access_score"] = score * ACCESS_SCORE_PER
    communes["access_score_ratio"] = ratio
    analysis.communes = communes
    levels = _level_scores(analysis, res.score, groups.area_mean)
    finite = np.isfinite(score)
    low = np.argsort(np.where(finite, score, np.inf), kind="stable")[:5]
    area_mean = (
        groups.area_mean * ACCESS_SCORE_PER if np.isfinite(groups.area_mean) else None
    )
    analysis.summary["access_score"] = {
        "method": method,
        "formula": "A_i = sum_j R_j W(d_ij), R_j = S_j / sum_k P_k W(d_kj)",
        **measure,
        "step_function": "W(d) = w_k for e_{k-1} < d <= e_k (e_0 = -inf), 0 beyond "
        "the last edge",
        "zone_weights": list(weights),
        "supply": "capacity per point"
        if capacity is not None and n_default < len(xy)
        else "1 per point",
        "n_points_supply_1": n_default,
        "unit": "supply per 1,000 people",
        "area_mean": area_mean,
        "pop_no_access": float(surface.pop[res.no_access].sum()),
        "n_idle_points": int(res.idle.sum()),
        "lowest_communes": [codes[i] for i in low if finite[i]],
        **{f"lowest_{level}s": _lowest(t, level) for level, t in levels.items()},
    }
    if "overall" in analysis.summary:
        analysis.summary["overall"]["access_score"] = area_mean


def apply_scores(
    analysis: Analysis,
    *,
    access_score: str | None = None,
    thresholds_km: Sequence[float] | None = None,
    thresholds_min: Sequence[float] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> Analysis:
    """Run :func:`apply_capacity` and, when asked, :func:`apply_access_score`."""
    apply_capacity(analysis, kinds=kinds)
    if access_score is not None:
        apply_access_score(
            analysis,
            method=access_score,
            thresholds_km=thresholds_km,
            thresholds_min=thresholds_min,
            kinds=kinds,
        )
    return analysis
