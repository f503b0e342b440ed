"""Postal benchmark metrics per commune, district, province and whole layer.

The two figures of the provincial reports come from one formula:
average service radius ``R = sqrt(area_km2 / (pi * N))`` and people per point
``population / N``. Aggregates are computed from summed areas, populations and
point counts, never as averages of commune ratios. A unit with no point has
undefined radius and people per point (NaN, shown empty) and always fails.

Array functions (``service_radius_km`` ...) form the core; ``compute_commune_metrics``
and ``aggregate_metrics`` adapt them to GeoDataFrames.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .benchmarks import Benchmark
from .geo import area_km2 as _area_km2
from .io import KINDS
from .reasons import encode_reason, join_reasons

__all__ = [
    "LEVEL_KEYS",
    "aggregate_metrics",
    "aggregate_metrics_on",
    "compute_commune_metrics",
    "count_points",
    "derive_metrics",
    "levels_present",
    "overall_metrics",
    "people_per_point",
    "points_needed",
    "rank_gaps",
    "service_radius_km",
]

LEVEL_KEYS = {
    "commune": ["commune_code"],
    "district": ["province_name", "district_name"],
    "province": ["province_name"],
}

# The largest count a float holds exactly; needs beyond it are meaningless.
_MAX_COUNT = float(2**53)

COUNT_COLUMNS = ["n_points", "n_staffed", "n_admin_services"] + [
    f"n_{k}" for k in KINDS
]


def service_radius_km(area_km2: np.ndarray, n_points: np.ndarray) -> np.ndarray:
    """Average service radius per point, ``sqrt(area / (pi * N))``, in km.

    Parameters
    ----------
    area_km2
        Land area in km².
    n_points
        Number of service points.

    Returns
    -------
    numpy.ndarray
        Radius in km; NaN where there is no point.

    Examples
    --------
    >>> float(service_radius_km(np.array([100.0]), np.array([4]))[0].round(3))
    2.821
    >>> bool(np.isnan(service_radius_km(np.array([100.0]), np.array([0]))[0]))
    True
    """
    area = np.asarray(area_km2, dtype=float)
    n = np.asarray(n_points, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, np.sqrt(area / (np.pi * n)), np.nan)


def people_per_point(population: np.ndarray, n_points: np.ndarray) -> np.ndarray:
    """People per service point; NaN where there is no point.

    Examples
    --------
    >>> float(people_per_point(np.array([20000]), np.array([2]))[0])
    10000.0
    """
    pop = np.asarray(population, dtype=float)
    n = np.asarray(n_points, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, pop / n, np.nan)


def points_needed(
    area_km2: np.ndarray,
    population: np.ndarray,
    n_points: np.ndarray,
    *,
    radius_km: float | None,
    people_per_point: float | None,
    require_point: bool = True,
) -> np.ndarray:
    """Points to add so a unit meets the benchmark.

    ``max(ceil(area / (pi * R_b²)), ceil(population / P_b)) - N``, never negative;
    a unit with no point needs at least one when ``require_point``.

    Undefined inputs (NaN area or population, or a benchmark of NaN) need no point
    beyond the one required; a need too large to count is capped at ``2**53``.

    Examples
    --------
    >>> points_needed(np.array([100.0]), np.array([20000]), np.array([1]),
    ...               radius_km=2.9, people_per_point=7105).tolist()
    [3]
    """
    area = np.asarray(area_km2, dtype=float)
    pop = np.asarray(population, dtype=float)
    n = np.asarray(n_points, dtype=np.int64)
    need = np.zeros(n.shape, dtype=float)
    # A tiny tolerance keeps exact multiples (e.g. 7105 / 7105) from rounding up.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if radius_km is not None:
            disc_km2 = np.pi * np.float64(radius_km) ** 2
            need = np.fmax(need, np.ceil(area / disc_km2 - 1e-9))
        if people_per_point is not None:
            need = np.fmax(need, np.ceil(pop / np.float64(people_per_point) - 1e-9))
    if require_point:
        need = np.maximum(need, 1)
    need = np.clip(np.nan_to_num(need, nan=0.0, posinf=_MAX_COUNT), 0, _MAX_COUNT)
    return np.maximum(need.astype(np.int64) - n, 0)


def count_points(
    points: pd.DataFrame,
    keys: pd.Index,
    *,
    kinds: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Count points per commune code: all, staffed, with admin services, by kind.

    Parameters
    ----------
    points
        Points with ``commune_code`` (empty when outside), ``kind``, ``staffed``
        and ``admin_services``.
    keys
        The commune codes to report, in order.
    kinds
        The kinds that count as service points (default: all).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``keys`` with the columns ``n_points, n_staffed,
        n_admin_services, n_post_office, ...``.
    """
    counted = points if kinds is None else points[points["kind"].isin(kinds)]
    positions = keys.get_indexer(counted["commune_code"].astype(str))
    inside = positions >= 0
    idx = positions[inside]
    size = len(keys)
    out = pd.DataFrame(index=keys)
    out["n_points"] = np.bincount(idx, minlength=size)
    out["n_staffed"] = np.bincount(
        idx, weights=counted["staffed"].to_numpy(bool)[inside], minlength=size
    ).astype(np.int64)
    out["n_admin_services"] = np.bincount(
        idx, weights=counted["admin_services"].to_numpy(bool)[inside], minlength=size
    ).astype(np.int64)
    kind_codes = pd.Categorical(counted["kind"], categories=KINDS).codes[inside]
    by_kind = np.zeros((size, len(KINDS)), dtype=np.int64)
    np.add.at(by_kind, (idx, np.clip(kind_codes, 0, None)), 1)
    for j, kind in enumerate(KINDS):
        out[f"n_{kind}"] = by_kind[:, j]
    return out


def derive_metrics(table: pd.DataFrame, benchmark: Benchmark) -> pd.DataFrame:
    """Add radius, people per point, ratios, pass/fail and points needed.

    ``table`` needs ``area_km2, population, n_points, n_staffed``; for units above
    communes it also needs ``n_communes`` and ``n_communes_staffed`` (the staffed
    rule then asks that every commune have a staffed point).

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with ``radius_km, people_per_point, radius_ratio,
        people_ratio, meets_radius, meets_people, meets_staffed, points_needed,
        fails, gap_reasons`` (reason codes, see :mod:`coverage.reasons`).
    """
    out = table.copy()
    area = out["area_km2"].to_numpy(float)
    pop = out["population"].to_numpy(float)
    n = out["n_points"].to_numpy(np.int64)
    has_point = n > 0
    out["radius_km"] = service_radius_km(area, n)
    out["people_per_point"] = people_per_point(pop, n)
    if benchmark.radius_km is not None:
        out["radius_ratio"] = out["radius_km"] / benchmark.radius_km
        meets_radius = has_point & (out["radius_km"].to_numpy() <= benchmark.radius_km)
    else:
        out["radius_ratio"] = np.nan
        meets_radius = has_point
    if benchmark.people_per_point is not None:
        out["people_ratio"] = out["people_per_point"] / benchmark.people_per_point
        meets_people = has_point & (
            out["people_per_point"].to_numpy() <= benchmark.people_per_point
        )
    else:
        out["people_ratio"] = np.nan
        meets_people = has_point
    if "n_communes" in out.columns:
        meets_staffed = out["n_communes_staffed"].to_numpy() >= out["n_communes"]
    else:
        meets_staffed = out["n_staffed"].to_numpy() > 0
    out["meets_radius"] = meets_radius
    out["meets_people"] = meets_people
    out["meets_staffed"] = meets_staffed
    out["points_needed"] = points_needed(
        area,
        pop,
        n,
        radius_km=benchmark.radius_km,
        people_per_point=benchmark.people_per_point,
    )
    staffed_rule = benchmark.require_staffed
    fails = ~meets_radius | ~meets_people | (staffed_rule & ~meets_staffed)
    out["fails"] = fails
    out["gap_reasons"] = _gap_reasons(out, benchmark)
    return out


def _gap_reasons(df: pd.DataFrame, benchmark: Benchmark) -> np.ndarray:
    """Encode why each unit fails (:mod:`coverage.reasons` codes, words at output)."""
    if len(df) == 0:
        return np.empty(0, dtype=object)
    n = df["n_points"].to_numpy()
    has_point = n > 0
    parts = [encode_reason("no_point", ~has_point)]
    if benchmark.require_staffed:
        if "n_communes" in df.columns:
            missing = (df["n_communes"] - df["n_communes_staffed"]).to_numpy(float)
            unstaffed = has_point & (missing > 0)
            parts.append(encode_reason("communes_unstaffed", unstaffed, missing))
        else:
            no_staff = has_point & (df["n_staffed"].to_numpy() == 0)
            parts.append(encode_reason("no_staffed", no_staff))
    if benchmark.radius_km is not None:
        above = has_point & ~df["meets_radius"].to_numpy(bool)
        radius = df["radius_km"].to_numpy(float)
        parts.append(encode_reason("radius_above", above, radius, benchmark.radius_km))
    if benchmark.people_per_point is not None:
        above = has_point & ~df["meets_people"].to_numpy(bool)
        people = df["people_per_point"].fillna(0).to_numpy(float)
        limit = benchmark.people_per_point
        parts.append(encode_reason("people_above", above, people, limit))
    return join_reasons(*parts)


def compute_commune_metrics(
    communes: gpd.GeoDataFrame,
    points: pd.DataFrame,
    benchmark: Benchmark,
    *,
    kinds: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """Compute the postal metrics of every commune.

    Parameters
    ----------
    communes
        Canonical commune layer (any CRS; areas are taken in an equal-area
        projection).
    points
        Points already assigned with :func:`coverage.io.assign_points`.
    benchmark
        The benchmark profile.
    kinds
        The point kinds that count as service points (default: all).

    Returns
    -------
    geopandas.GeoDataFrame
        The communes with ``area_km2``, the counts of :func:`count_points` and the
        metrics of :func:`derive_metrics`.
    """
    codes = pd.Index(communes["commune_code"].astype(str))
    counts = count_points(points, codes, kinds=kinds)
    table = pd.DataFrame(communes.drop(columns=communes.geometry.name))
    table["area_km2"] = _area_km2(communes)
    for col in counts.columns:
        table[col] = counts[col].to_numpy()
    derived = derive_metrics(table, benchmark)
    derived["people_affected"] = _people_affected(derived, benchmark)
    return gpd.GeoDataFrame(derived, geometry=communes.geometry, crs=communes.crs)


def _people_affected(df: pd.DataFrame, benchmark: Benchmark) -> np.ndarray:
    """Estimate the people under-served in each commune (the gap ranking key).

    Everyone, where there is no point or no staffed point; the people beyond the
    benchmark's capacity ``population - N * P_b``; and the population of the area
    beyond the benchmark's reach ``population * (1 - N * pi * R_b² / area)``,
    assuming people spread evenly. The largest applicable figure is kept.
    """
    pop = df["population"].to_numpy(float)
    n = df["n_points"].to_numpy(float)
    area = df["area_km2"].to_numpy(float)
    affected = np.where(n == 0, pop, 0.0)
    if benchmark.require_staffed:
        affected = np.where(df["n_staffed"].to_numpy() == 0, pop, affected)
    # Extreme benchmarks (0 * inf, huge radii) give NaN or inf, cleared below.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if benchmark.people_per_point is not None:
            affected = np.maximum(affected, pop - n * benchmark.people_per_point)
        if benchmark.radius_km is not None:
            radius2 = np.float64(benchmark.radius_km) ** 2
            reach = np.where(area > 0, n * np.pi * radius2 / area, 1.0)
            affected = np.maximum(affected, pop * np.clip(1.0 - reach, 0.0, 1.0))
    affected = np.nan_to_num(np.round(affected), nan=0.0, posinf=_MAX_COUNT)
    return np.clip(affected, 0.0, _MAX_COUNT).astype(np.int64)


def levels_present(communes: pd.DataFrame) -> list[str]:
    """Return the aggregation levels the data supports (``district``, ``province``)."""
    levels = []
    has_province = "province_name" in communes.columns
    if "district_name" in communes.columns and (communes["district_name"] != "").any():
        levels.append("district")
    if has_province and (communes["province_name"] != "").any():
        levels.append("province")
    return levels


def aggregate_metrics(
    commune_metrics: pd.DataFrame,
    level: str,
    benchmark: Benchmark,
) -> pd.DataFrame:
    """Aggregate commune metrics to districts or provinces.

    Areas, populations and point counts are summed, then the metrics are derived
    from the sums. ``points_needed`` is the unit's own deficit against the benchmark
    computed on its totals; ``communes_points_needed`` is the sum of its communes'
    needs (larger, as surpluses in one commune do not serve another).

    Parameters
    ----------
    commune_metrics
        Output of :func:`compute_commune_metrics`.
    level
        ``"district"`` or ``"province"``.
    benchmark
        The benchmark profile.
    """
    keys = [k for k in LEVEL_KEYS[level] if k in commune_metrics.columns]
    df = pd.DataFrame(commune_metrics.drop(columns="geometry", errors="ignore"))
    return aggregate_metrics_on(df, keys, benchmark)


def overall_metrics(
    commune_metrics: pd.DataFrame, benchmark: Benchmark
) -> dict[str, float | int | bool | str | None]:
    """Headline figures for the whole layer (the provincial report's numbers)."""
    df = pd.DataFrame(commune_metrics.drop(columns="geometry", errors="ignore"))
    df["_all"] = "all"
    total = aggregate_metrics_on(df, ["_all"], benchmark).iloc[0]
    out: dict[str, float | int | bool | str | None] = {}
    for key, value in total.items():
        if key == "_all":
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        out[str(key)] = value
    n_points = int(out["n_points"] or 0)
    n_admin = int(out["n_admin_services"] or 0)
    out["share_admin_services"] = n_admin / n_points if n_points else None
    out["n_communes_without_point"] = int((df["n_points"] == 0).sum())
    out["n_communes_without_staffed"] = int((df["n_staffed"] == 0).sum())
    return out


def aggregate_metrics_on(
    df: pd.DataFrame, keys: list[str], benchmark: Benchmark
) -> pd.DataFrame:
    """Aggregate on arbitrary key columns (see :func:`aggregate_metrics`)."""
    df = df.assign()
    df["has_point"] = df["n_points"] > 0
    df["has_staffed"] = df["n_staffed"] > 0
    sums = ["area_km2", "population", *COUNT_COLUMNS]
    grouped = df.groupby(keys, sort=True, dropna=False)
    table = grouped[sums].sum()
    table["n_communes"] = grouped.size()
    table["n_communes_with_point"] = grouped["has_point"].sum()
    table["n_communes_staffed"] = grouped["has_staffed"].sum()
    table["share_communes_staffed"] = table["n_communes_staffed"] / table["n_communes"]
    table["n_communes_failing"] = grouped["fails"].sum()
    table["communes_points_needed"] = grouped["points_needed"].sum()
    return derive_metrics(table.reset_index(), benchmark)


def rank_gaps(commune_metrics: pd.DataFrame) -> pd.DataFrame:
    """Return the failing communes ranked by people affected.

    The priority is ``people_affected`` (see :func:`compute_commune_metrics`),
    descending; ties go to the commune needing more points, then to the code.
    """
    df = pd.DataFrame(commune_metrics.drop(columns="geometry", errors="ignore"))
    gaps = df[df["fails"].to_numpy(bool)].sort_values(
        ["people_affected", "points_needed", "commune_code"],
        ascending=[False, False, True],
        kind="stable",
    )
    gaps.insert(0, "rank", np.arange(1, len(gaps) + 1))
    return gaps.reset_index(drop=True)
