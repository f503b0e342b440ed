"""The objective of a plan, measured before and after (``coverage plan --objective``).

``cover``: people within the coverage distance of a point (maximise);
``count``: points (new points are minimised); ``median``: population-weighted mean
distance to the nearest point, km (minimise); ``center``: largest distance of a
populated location to its nearest point, km (minimise); ``capacity``
(``--respect-capacity``): people served within the points' capacity (maximise;
per commune, people within the distance).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["OBJECTIVES", "objective_before_after"]

#: Objective name -> (formula, unit, sense).
OBJECTIVES: dict[str, tuple[str, str, str]] = {
    "cover": ("sum of P_i with d_i <= radius", "people", "max"),
    "count": ("number of points", "points", "min"),
    "median": ("sum P_i d_i / sum P_i", "km", "min"),
    "center": ("max d_i over populated i", "km", "min"),
    "capacity": ("people served within capacity and radius", "people", "max"),
}


def _nearest_km(xy: np.ndarray, sites: np.ndarray) -> np.ndarray:
    if len(sites) == 0:
        return np.full(len(xy), np.inf)
    return np.asarray(cKDTree(sites).query(xy)[0], dtype=float) / 1000.0


def objective_before_after(
    objective: str,
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    radius_km: float,
    cell_m: float,
    surface: Any | None,
    result: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per commune and overall value of ``objective`` before and after the plan.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``commune_code, objective_before, objective_after`` and the plan.json
        entry ``{objective, formula, unit, sense, before, after}``.
    """
    from ..plan.sites import _containing_index, _demand, _point_xy

    crs, xy, pop, cell_commune = _demand(communes, cell_m, surface)
    communes_m = communes.to_crs(crs)
    n_c = len(communes_m)
    if cell_commune is None:
        import shapely

        cell_commune = _containing_index(
            shapely.points(xy), communes_m.geometry.to_numpy()
        )
    exist = _point_xy(points.to_crs(crs)) if len(points) else np.zeros((0, 2))
    new = _point_xy(proposed.to_crs(crs)) if len(proposed) else np.zeros((0, 2))
    inside = (cell_commune >= 0) & (pop > 0)
    c, w = cell_commune[inside], pop[inside]
    per: dict[str, np.ndarray] = {}
    overall: dict[str, float] = {}
    for label, sites in (("before", exist), ("after", np.vstack([exist, new]))):
        d = _nearest_km(xy, sites)[inside]
        value: np.ndarray
        if objective in ("cover", "capacity"):
            value = np.bincount(c, weights=w * (d <= radius_km), minlength=n_c)
            total = float(value.sum())
        elif objective == "count":
            pts = _containing_index(
                gpd.points_from_xy(sites[:, 0], sites[:, 1]).to_numpy()
                if len(sites)
                else np.zeros(0, object),
                communes_m.geometry.to_numpy(),
            )
            value = np.bincount(pts[pts >= 0], minlength=n_c) * 1.0
            total = float(len(sites))
        elif objective == "median":
            wsum = np.bincount(c, weights=w, minlength=n_c)
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.bincount(c, weights=w * d, minlength=n_c) / wsum
            total = float((w * d).sum() / w.sum()) if w.sum() > 0 else np.nan
        else:
            value = np.full(n_c, -np.inf)
            np.maximum.at(value, c, d)
            value[np.isneginf(value)] = np.nan
            total = float(d.max()) if len(d) else np.nan
        per[f"objective_{label}"] = value
        overall[label] = total
    if objective == "capacity":
        overall = {
            "before": float(result.stats.get("objective_before", np.nan)),
            "after": float(result.objective),
        }
    formula, unit, sense = OBJECTIVES[objective]
    table = pd.DataFrame(
        {"commune_code": communes_m["commune_code"].astype(str).to_numpy(), **per}
    )
    figures = {
        "objective": objective,
        "formula": formula,
        "unit": unit,
        "sense": sense,
        "before": overall["before"] if np.isfinite(overall["before"]) else None,
        "after": overall["after"] if np.isfinite(overall["after"]) else None,
    }
    return table, figures
