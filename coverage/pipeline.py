"""The ``analyze`` workflow: load, compute, and write every output of a run.

No click and no printing here: the CLI parses options, calls :func:`analyze` and
:func:`write_outputs`, and reports. Stage timings are recorded for the benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .benchmarks import Benchmark
from .export import OutputSet, write_csv, write_json
from .io import assign_points, read_communes, read_points
from .metrics import (
    aggregate_metrics,
    compute_commune_metrics,
    levels_present,
    overall_metrics,
    rank_gaps,
)
from .report import build_summary

__all__ = [
    "OUTPUT_FILES",
    "Analysis",
    "analyze",
    "find_sample",
    "output_targets",
    "write_outputs",
]

OUTPUT_FILES = (
    "communes.csv",
    "districts.csv",
    "provinces.csv",
    "gaps.csv",
    "points_outside.csv",
    "summary.json",
    "coverage.gpkg",
)

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
    "fails",
    "gap_reasons",
    "people_affected",
]


@dataclass
class Analysis:
    """Everything ``coverage analyze`` computed, ready to be written or drawn."""

    communes: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    benchmark: Benchmark
    levels: dict[str, pd.DataFrame]
    gaps: pd.DataFrame
    summary: dict
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    access: object | None = None


def find_sample() -> tuple[Path, Path] | None:
    """Locate the bundled sample (``data/`` in the working folder or source tree)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        communes = root / "data" / "boundaries" / "communes.geojson"
        points = root / "data" / "points" / "service_points.csv"
        if communes.exists() and points.exists():
            return communes, points
    return None


def analyze(
    boundaries: str | Path,
    points: str | Path,
    *,
    benchmark: Benchmark,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    points_crs: str | None = None,
    kinds: tuple[str, ...] | None = None,
    fix_invalid: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> Analysis:
    """Load both layers, assign points to communes and compute the metrics.

    Parameters
    ----------
    boundaries, points
        Paths of the commune layer and the service-point layer.
    benchmark
        The benchmark profile.
    columns
        Explicit source column names keyed by canonical name (both layers).
    crs, points_crs
        CRS to assume for a layer that declares none.
    kinds
        Point kinds that count as service points (default: all).
    fix_invalid
        Repair invalid commune geometries instead of failing.
    on_stage
        Called with the name of each stage as it starts (progress reporting).

    Returns
    -------
    Analysis
    """
    timings: dict[str, float] = {}
    notes: list[str] = []

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        return time.perf_counter()

    t0 = stage("loading communes")
    loaded_communes = read_communes(
        boundaries, columns=columns, crs=crs, fix_invalid=fix_invalid
    )
    timings["load_communes"] = time.perf_counter() - t0
    t0 = stage("loading points")
    loaded_points = read_points(points, columns=columns, crs=points_crs)
    timings["load_points"] = time.perf_counter() - t0
    notes += loaded_communes.notes + loaded_points.notes
    communes = loaded_communes.frame
    t0 = stage("assigning points to communes")
    assigned, assign_notes = assign_points(loaded_points.frame, communes)
    notes += assign_notes
    timings["assign"] = time.perf_counter() - t0
    if kinds is not None:
        counted = assigned["kind"].isin(kinds)
        notes.append(
            f"counting only kinds {', '.join(kinds)}: {int(counted.sum())} of "
            f"{len(assigned)} points"
        )
    t0 = stage("computing postal metrics")
    metrics = compute_commune_metrics(communes, assigned, benchmark, kinds=kinds)
    levels = {
        level: aggregate_metrics(metrics, level, benchmark)
        for level in levels_present(metrics)
    }
    overall = overall_metrics(metrics, benchmark)
    gaps = rank_gaps(metrics)
    timings["metrics"] = time.perf_counter() - t0
    summary = build_summary(
        overall,
        benchmark,
        communes=metrics,
        n_outside=int((~assigned["inside"]).sum()),
        notes=notes,
        inputs={"communes": str(boundaries), "points": str(points)},
    )
    return Analysis(
        communes=metrics,
        points=assigned,
        benchmark=benchmark,
        levels=levels,
        gaps=gaps,
        summary=summary,
        notes=notes,
        timings=timings,
    )


def output_targets(out_dir: str | Path, map_path: str | Path | None) -> list[Path]:
    """Every path a run writes (checked against ``--overwrite`` before computing)."""
    targets = [Path(out_dir) / name for name in OUTPUT_FILES]
    if map_path is not None:
        targets.append(Path(map_path))
    return targets


def _ordered(df: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    lead = [c for c in first if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead and c != "geometry"]]


def write_outputs(
    analysis: Analysis,
    outputs: OutputSet,
    out_dir: str | Path,
    *,
    lang: str = "en",
    map_path: str | Path | None = None,
    map_title: str | None = None,
    offline_map: bool = False,
) -> list[Path]:
    """Write CSVs, ``summary.json``, ``coverage.gpkg`` and the map into ``outputs``.

    Returns
    -------
    list of pathlib.Path
        The files written, after they were moved into place.
    """
    out_dir = Path(out_dir)
    timings = analysis.timings
    t0 = time.perf_counter()
    communes = _ordered(analysis.communes, COMMUNE_COLUMNS)
    write_csv(communes, outputs.path(out_dir / "communes.csv"), lang=lang)
    for level in ("district", "province"):
        if level in analysis.levels:
            keys = ["province_name", "district_name"][: 2 if level == "district" else 1]
            table = _ordered(analysis.levels[level], keys)
            write_csv(table, outputs.path(out_dir / f"{level}s.csv"), lang=lang)
    gaps = _ordered(
        analysis.gaps,
        [
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
        ],
    )
    write_csv(gaps, outputs.path(out_dir / "gaps.csv"), lang=lang)
    outside = analysis.points.loc[~analysis.points["inside"]]
    if len(outside):
        table = pd.DataFrame(outside.drop(columns="geometry"))
        table["lon"] = outside.geometry.x.to_numpy()
        table["lat"] = outside.geometry.y.to_numpy()
        write_csv(table, outputs.path(out_dir / "points_outside.csv"), lang=lang)
    write_json(analysis.summary, outputs.path(out_dir / "summary.json"))
    gpkg = outputs.path(out_dir / "coverage.gpkg")
    layers = {"communes": analysis.communes, "points": analysis.points}
    for name, frame in layers.items():
        frame.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    timings["write_tables"] = time.perf_counter() - t0
    if map_path is not None:
        t0 = time.perf_counter()
        from .maps import build_map, save_map

        fmap = build_map(
            analysis.communes,
            analysis.points,
            benchmark=analysis.benchmark,
            lang=lang,
            title=map_title or "",
        )
        save_map(fmap, outputs.path(Path(map_path)), offline=offline_map)
        timings["write_map"] = time.perf_counter() - t0
    return outputs.commit()
