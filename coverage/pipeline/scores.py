"""The capacity and access-score stages of ``coverage analyze``.

Run after :func:`coverage.pipeline.analyze` on its result:

* :func:`apply_capacity`: where the points carry a capacity (their capacity column,
  else the ``[capacity]`` default of their kind in the benchmark profile), the load
  of every point, ``pop_served / (capacity x people_per_unit)``, joins the
  catchments (``capacity``, ``load``, ``overloaded``) and the summary;
* :func:`apply_access_score`: the 2SFCA / E2SFCA score of every population cell
  (:mod:`coverage.access.scores`) and its population-weighted mean per commune, as
  ``access_score`` (supply per 1,000 people) and ``access_score_ratio`` (ratio to
  the area's mean) in the communes and the summary.

Neither changes anything when not asked for: without capacities and without
``--access-score`` the outputs stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np

from ..benchmarks import Benchmark
from ..errors import InputError
from ..model import Analysis
from .analyze import counted_points, thresholds_for

__all__ = [
    "ACCESS_SCORE_METHODS",
    "ACCESS_SCORE_PER",
    "N_OVERLOADED_LISTED",
    "access_score_edges_km",
    "apply_access_score",
    "apply_capacity",
    "apply_scores",
    "point_capacity",
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


def apply_access_score(
    analysis: Analysis,
    *,
    method: str,
    thresholds_km: Sequence[float] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> None:
    """Add the floating-catchment access score per commune and to the summary.

    Parameters
    ----------
    analysis
        An analysis with distance access (its population surface is the demand).
    method
        ``"e2sfca"`` (step decay over three zones, weights
        :data:`~coverage.access.LUO_QI_WEIGHTS`) or ``"2sfca"`` (weight 1 up to
        the catchment size).
    thresholds_km
        ``--within``: the catchment size is the largest; E2SFCA uses three given
        thresholds as its zone edges, else splits the largest in three equal zones.
        Default: the analysis thresholds of the benchmark.
    kinds
        The point kinds that count.
    """
    from ..access import LUO_QI_WEIGHTS, access_scores
    from ..access.core import _point_arrays

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
    given = thresholds_km or thresholds_for(analysis.benchmark)
    if method == "e2sfca":
        edges_km = access_score_edges_km(given, n_zones=len(LUO_QI_WEIGHTS))
        weights: tuple[float, ...] = tuple(LUO_QI_WEIGHTS)
    else:
        edges_km = (float(max(given)),)
        weights = (1.0,)
    demand_xy = np.column_stack([surface.x_m, surface.y_m])
    codes = np.asarray(surface.codes).astype(str)
    res, groups = access_scores(
        surface.pop,
        supply,
        method=method,
        thresholds=[e * 1000.0 for e in edges_km],
        demand_xy=demand_xy,
        supply_xy=xy,
        groups=np.asarray(surface.commune, dtype=np.int64),
        weights=weights,
    )
    assert groups is not None
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
    finite = np.isfinite(score)
    low = np.argsort(np.where(finite, score, np.inf), kind="stable")[:5]
    analysis.summary["access_score"] = {
        "method": method,
        "formula": "A_i = sum_j R_j W(d_ij), R_j = S_j / sum_k P_k W(d_kj)",
        "zone_edges_km": list(edges_km),
        "zone_weights": list(weights),
        "supply": "capacity per point"
        if capacity is not None and n_default < len(xy)
        else "1 per point",
        "n_points_supply_1": n_default,
        "unit": "supply per 1,000 people",
        "area_mean": groups.area_mean * ACCESS_SCORE_PER
        if np.isfinite(groups.area_mean)
        else None,
        "pop_no_access": float(surface.pop[res.no_access].sum()),
        "n_idle_points": int(res.idle.sum()),
        "lowest_communes": [codes[i] for i in low if finite[i]],
    }


def apply_scores(
    analysis: Analysis,
    *,
    access_score: str | None = None,
    thresholds_km: Sequence[float] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> Analysis:
    """Run :func:`apply_capacity` and, when asked, :func:`apply_access_score`."""
    apply_capacity(analysis, kinds=kinds)
    if access_score is not None:
        apply_access_score(
            analysis, method=access_score, thresholds_km=thresholds_km, kinds=kinds
        )
    return analysis
