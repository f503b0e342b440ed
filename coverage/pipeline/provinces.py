"""``--by province``: per-province views of a national analysis and their files.

Slugs name the folders and maps of each province; :func:`split_by_province`
slices the national figures without recomputing anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics import overall_metrics, rank_gaps
from ..model import Analysis
from .analyze import level_access
from .summary import Summary, access_summary, build_summary
from .travel import province_cells, travel_summary

__all__ = [
    "PROVINCE_FILES",
    "province_map_path",
    "province_slug",
    "province_slugs",
    "province_targets",
    "province_units",
    "split_by_province",
]

PROVINCE_FILES = (
    "communes.csv",
    "districts.csv",
    "gaps.csv",
    "uncovered_zones.csv",
    "summary.json",
)


def province_slug(name: str) -> str:
    """Make a file-name-safe ASCII slug of a name (``Hòa Bình`` → ``hoa-binh``).

    Examples
    --------
    >>> province_slug("Tỉnh Hòa Bình")
    'tinh-hoa-binh'
    """
    text = unicodedata.normalize("NFD", str(name)).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text or "unnamed"


def province_slugs(names: Sequence[str]) -> dict[str, str]:
    """Give every name a distinct slug (``-2``, ``-3`` after repeated ones)."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = province_slug(name)
        slug, k = base, 2
        while slug in used:
            slug, k = f"{base}-{k}", k + 1
        used.add(slug)
        slugs[name] = slug
    return slugs


def province_map_path(map_path: str | Path) -> Path:
    """Where ``--by province`` writes the national province-level map."""
    path = Path(map_path)
    return path.with_name(f"{path.stem}_provinces{path.suffix or '.html'}")


def province_targets(
    analysis: Analysis, out_dir: str | Path, map_dir: str | Path | None
) -> dict[str, list[Path]]:
    """List the files ``--by province`` writes for each province."""
    if "province_name" not in analysis.communes.columns:
        msg = (
            "--by province needs a province column in the commune layer; name it "
            "with -c province_name=COLUMN"
        )
        raise InputError(msg)
    names = (
        analysis.communes["province_name"].astype("string").fillna("").unique().tolist()
    )
    slugs = province_slugs(sorted(names))
    out = {}
    for name, slug in slugs.items():
        folder = Path(out_dir) / "by_province" / slug
        files = [folder / f for f in PROVINCE_FILES]
        if map_dir is not None:
            files.append(Path(map_dir) / f"{slug}.html")
        out[name] = files
    return out


def province_units(analysis: Analysis) -> gpd.GeoDataFrame:
    """Province polygons (dissolved communes) with the province-level figures."""
    from ..geo import dissolve_tiling

    if "province" not in analysis.levels:
        msg = (
            "a province map needs a province column in the commune layer; name it "
            "with -c province_name=COLUMN"
        )
        raise InputError(msg)
    communes = analysis.communes
    frame = gpd.GeoDataFrame(
        {"province_name": communes["province_name"].astype("string").fillna("")},
        geometry=communes.geometry.values,
        crs=communes.crs,
    )
    shapes = dissolve_tiling(frame, "province_name")
    table = analysis.levels["province"].copy()
    key = table["province_name"].astype("string").fillna("")
    geoms = shapes.geometry.reindex(key.to_numpy()).to_numpy()
    return gpd.GeoDataFrame(table, geometry=geoms, crs=communes.crs)


def _province_access(
    analysis: Analysis, name: str, zones: pd.DataFrame | None
) -> Summary | None:
    """Build the ``access`` part of one province's summary from its province row."""
    result = analysis.access
    if result is None:
        return None
    table = level_access(analysis, ["province_name"])
    key = table["province_name"].astype("string").fillna("")
    row = table.loc[(key == name).to_numpy()].reset_index(drop=True)
    cells = province_cells(analysis, result.surface.commune, name)
    figures = access_summary(
        analysis, row, zones=zones, n_locations=int(np.count_nonzero(cells))
    )
    if analysis.travel is not None:
        # the zones are by time then, as in the national summary
        figures["zone_threshold_km"] = None
    return figures


def split_by_province(analysis: Analysis) -> dict[str, Analysis]:
    """Per-province views of a national analysis (same figures, no recomputation).

    Distances were measured nationally, so a point across a province border
    serves the people near it, as it does in reality.
    """
    communes = analysis.communes
    provinces = communes["province_name"].astype("string").fillna("")
    point_province = provinces.set_axis(communes["commune_code"].astype(str))
    pts_prov = (
        analysis.points["commune_code"].astype(str).map(point_province).fillna("")
    )
    parts = {}
    for name in sorted(provinces.unique()):
        mask = (provinces == name).to_numpy()
        sub = Analysis(
            communes=communes.loc[mask],
            points=analysis.points.loc[(pts_prov == name).to_numpy()],
            benchmark=analysis.benchmark,
            levels={},
            gaps=pd.DataFrame(),
            summary={},
            notes=[],
            access=None,
            zone_threshold_km=analysis.zone_threshold_km,
        )
        if analysis.zones is not None:
            codes = set(communes.loc[mask, "commune_code"].astype(str))
            zone_codes = analysis.zones["commune_codes"].astype(str).str.split(";")
            keep = zone_codes.map(lambda cs, codes=codes: bool(codes.intersection(cs)))
            sub.zones = analysis.zones.loc[keep.to_numpy(bool)]
        sub.levels = {
            level: table.loc[table["province_name"].astype("string").fillna("") == name]
            for level, table in analysis.levels.items()
        }
        metrics = sub.communes
        sub.gaps = rank_gaps(metrics)
        overall = overall_metrics(metrics, analysis.benchmark)
        sub.summary = build_summary(
            overall,
            analysis.benchmark,
            communes=metrics,
            n_outside=0,
            notes=[],
            inputs={**analysis.summary.get("inputs", {}), "province": name},
            access=_province_access(analysis, name, sub.zones),
        )
        if "benchmark" in analysis.summary:
            sub.summary["benchmark"] = analysis.summary["benchmark"]
        if analysis.travel is not None:
            sub.summary["travel"] = travel_summary(
                analysis, province=name, zones=sub.zones
            )
        parts[name] = sub
    return parts
