"""The result tables of an analysis, in their published column order.

One builder (:func:`analysis_tables`) serves the national CSVs, the per-province
CSVs and the workbook sheets, so they cannot drift apart.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ..metrics import LEVEL_KEYS
from ..model import Analysis
from ..pipeline.analyze import access_columns, level_access
from ..reasons import render_reasons

__all__ = [
    "COMMUNE_COLUMNS",
    "GAP_COLUMNS",
    "XLSX_SHEETS",
    "analysis_tables",
    "commune_table",
    "distance_rule_table",
    "gpkg_communes",
    "ordered",
]

COMMUNE_COLUMNS = [
    "commune_code",
    "commune_name",
    "district_name",
    "province_name",
    "population",
    "area_km2",
    "n_points",
    "n_staffed",
    "n_admin_services",
    "radius_km",
    "people_per_point",
    "radius_ratio",
    "people_ratio",
    "meets_radius",
    "meets_people",
    "points_needed",
    "meets_staffed",
    "mean_distance_km",
    "p90_distance_km",
    "max_distance_km",
]

GAP_COLUMNS = [
    "rank",
    "commune_code",
    "commune_name",
    "district_name",
    "province_name",
    "gap_reasons",
    "people_affected",
    "points_needed",
    "population",
    "n_points",
    "n_staffed",
    "radius_km",
    "people_per_point",
]

#: The tables of :func:`analysis_tables` that also go into ``coverage.xlsx``, as sheets.
XLSX_SHEETS = (
    "communes.csv",
    "districts.csv",
    "provinces.csv",
    "gaps.csv",
    "uncovered_zones.csv",
)


def distance_rule_table(analysis: Analysis) -> pd.DataFrame:
    """Every distance rule evaluated overall, per province and per district."""
    rules = analysis.benchmark.distance_rules
    if analysis.access is None or not rules:
        return pd.DataFrame()
    frames = []
    units: list[tuple[str, pd.DataFrame, list[str]]] = [
        ("overall", level_access(analysis, []), [])
    ]
    for level in ("province", "district"):
        if level in analysis.levels:
            units.append((level, analysis.levels[level], LEVEL_KEYS[level]))
    from ..access import rule_label, rule_passes, rule_share

    for level, table, keys in units:
        for rule in rules:
            share = rule_share(table, rule)
            frame = pd.DataFrame(
                {
                    "level": level,
                    "province_name": table["province_name"]
                    if "province_name" in keys
                    else pd.NA,
                    "district_name": table["district_name"]
                    if "district_name" in keys
                    else pd.NA,
                    "rule": rule_label(rule, scope_note=": not evaluated"),
                    "distance_km": rule.distance_km,
                    "min_share": rule.min_share,
                    "share": share,
                    "margin": share - rule.min_share,
                    "passes": rule_passes(share, rule.min_share),
                }
            )
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.dropna(axis=1, how="all")


def ordered(df: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    """Put the columns ``first`` (those present) ahead of the rest; drop geometry."""
    lead = [c for c in first if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead and c != "geometry"]]


def commune_table(communes: pd.DataFrame) -> pd.DataFrame:
    """Order the commune metrics as ``communes.csv`` (access columns by distance)."""
    within = [
        c
        for c in access_columns(communes)
        if c not in COMMUNE_COLUMNS and "_within_" in c
    ]
    first = [
        *COMMUNE_COLUMNS,
        *sorted(within, key=lambda c: (float(c.split("_")[-1][:-2]), c[0] != "p")),
        "farthest_lon",
        "farthest_lat",
        "meets_access",
        "fails",
        "gap_reasons",
        "people_affected",
    ]
    return ordered(communes, first)


def gpkg_communes(communes: gpd.GeoDataFrame, *, lang: str = "en") -> gpd.GeoDataFrame:
    """Prepare the communes layer of ``coverage.gpkg``: reasons in words and codes.

    ``gap_reasons`` holds the words (English by default, as GIS users have always
    read them) and ``gap_reason_codes``, right after it, the codes, so a map
    redrawn later (``coverage map --from``) speaks the language it is asked for.

    Parameters
    ----------
    communes
        The commune table of an analysis (``gap_reasons`` as codes).
    lang
        Language of the words.
    """
    if "gap_reasons" not in communes.columns:
        return communes
    out = communes.copy()
    codes = out["gap_reasons"]
    out["gap_reasons"] = render_reasons(codes, lang).to_numpy(dtype=object)
    out.insert(out.columns.get_loc("gap_reasons") + 1, "gap_reason_codes", codes)
    return out


def _with_lonlat(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    table = pd.DataFrame(frame.drop(columns="geometry"))
    geoms = frame.geometry.to_crs(4326) if frame.crs else frame.geometry
    centre = geoms.representative_point()
    table["lon"] = centre.x.to_numpy()
    table["lat"] = centre.y.to_numpy()
    return table


def analysis_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Every CSV table of an analysis by file name (tables without content left out)."""
    tables = {"communes.csv": commune_table(analysis.communes)}
    for level in ("district", "province"):
        if level in analysis.levels:
            tables[f"{level}s.csv"] = ordered(analysis.levels[level], LEVEL_KEYS[level])
    tables["gaps.csv"] = ordered(analysis.gaps, GAP_COLUMNS)
    outside = analysis.points.loc[~analysis.points["inside"]]
    if len(outside):
        tables["points_outside.csv"] = _with_lonlat(outside)
    if analysis.zones is not None:
        tables["uncovered_zones.csv"] = _with_lonlat(analysis.zones)
    if analysis.catchments is not None:
        tables["catchments.csv"] = ordered(
            pd.DataFrame(analysis.catchments), ["point_id"]
        )
    rules = distance_rule_table(analysis)
    if len(rules):
        tables["distance_rules.csv"] = rules
    return tables
