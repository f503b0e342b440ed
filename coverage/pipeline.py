"""The ``analyze`` workflow: load, compute, and write every output of a run.

No click and no printing here: the CLI parses options, calls :func:`analyze` and
:func:`write_outputs`, and reports. Stage timings are recorded for the benchmarks;
progress goes through the ``on_stage`` callback.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .benchmarks import Benchmark, DistanceRule
from .errors import InputError
from .export import OutputSet, write_json, write_xlsx
from .export import write_csv as _write_csv
from .metrics import (
    LEVEL_KEYS,
    aggregate_metrics,
    compute_commune_metrics,
    levels_present,
    overall_metrics,
    rank_gaps,
)
from .model import (
    DEFAULT_CELL_M,
    DEFAULT_THRESHOLDS_KM,
    AccessOptions,
    Analysis,
    PlanRun,
)
from .report import build_summary

__all__ = [
    "DEFAULT_THRESHOLDS_KM",
    "OUTPUT_FILES",
    "PLAN_FILES",
    "PROVINCE_FILES",
    "AccessOptions",
    "Analysis",
    "PlanRun",
    "analyze",
    "apply_access",
    "count_stages",
    "distance_rule_table",
    "find_sample",
    "main_threshold_km",
    "map_title",
    "output_targets",
    "plan_analysis",
    "plan_radius_km",
    "plan_targets",
    "province_map_path",
    "province_slug",
    "province_targets",
    "province_units",
    "read_candidates",
    "read_exclusion",
    "redraw_map",
    "run_plan",
    "split_by_province",
    "summary_benchmark",
    "thresholds_for",
    "write_analysis_map",
    "write_outputs",
    "write_plan",
    "write_province_map",
    "write_province_outputs",
]

OUTPUT_FILES = (
    "communes.csv",
    "districts.csv",
    "provinces.csv",
    "gaps.csv",
    "points_outside.csv",
    "uncovered_zones.csv",
    "catchments.csv",
    "distance_rules.csv",
    "coverage.xlsx",
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

_ACCESS_COLUMNS = (
    "mean_distance_km",
    "p90_distance_km",
    "max_distance_km",
    "farthest_lon",
    "farthest_lat",
)


def find_sample() -> tuple[Path, Path] | None:
    """Locate the bundled sample (``data/`` in the working folder or source tree)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        communes = root / "data" / "boundaries" / "communes.geojson"
        points = root / "data" / "points" / "service_points.csv"
        if communes.exists() and points.exists():
            return communes, points
    return None


def thresholds_for(
    benchmark: Benchmark, given: Sequence[float] | None = None
) -> tuple[float, ...]:
    """Distance thresholds to report: ``given`` (or the defaults) plus rule distances.

    Examples
    --------
    >>> from coverage.benchmarks import Benchmark
    >>> thresholds_for(Benchmark(name="x", title="x"))
    (2.0, 3.0, 5.0)
    """
    rule_km = set(benchmark.access_thresholds_km)
    base = set(given) if given else (set() if rule_km else set(DEFAULT_THRESHOLDS_KM))
    values = sorted({float(t) for t in base | rule_km})
    bad = [t for t in values if not (np.isfinite(t) and t > 0)]
    if bad:
        msg = f"distance thresholds must be positive km, got {bad[0]:g}"
        raise InputError(msg)
    return tuple(values)


def main_threshold_km(benchmark: Benchmark, thresholds: Sequence[float]) -> float:
    """Choose the threshold of the uncovered zones and the map's share layer.

    The first distance rule of the benchmark applying to all people; else 5 km
    when reported (the common European rule); else the largest threshold.
    """
    for rule in benchmark.distance_rules:
        if rule.scope == "all":
            return float(rule.distance_km)
    if 5.0 in thresholds:
        return 5.0
    return float(max(thresholds))


def count_stages(access: AccessOptions | None = None) -> int:
    """Return how many stages :func:`analyze` reports through ``on_stage``."""
    access = AccessOptions() if access is None else access
    n_access = (4 if access.catchments else 3) if access.enabled else 0
    return 3 + n_access


def _load(
    boundaries: str | Path,
    points: str | Path,
    *,
    columns: dict[str, str] | None,
    crs: str | None,
    points_crs: str | None,
    fix_invalid: bool,
    population_table: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[str]]:
    from .validate import validate_inputs

    checked = validate_inputs(
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
    )
    notes = list(checked.notes)
    return checked.communes.frame, checked.assigned, notes


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
    population_table: str | Path | None = None,
    access: AccessOptions | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> Analysis:
    """Validate and load both layers, then compute metrics and distance access.

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
    population_table
        A table of commune code and population joined to a layer without
        population (GADM boundaries with census figures).
    access
        Distance access options (default :class:`AccessOptions`); ``None`` uses
        the defaults, ``AccessOptions(enabled=False)`` skips distances.
    on_stage
        Called with the name of each stage as it starts (progress reporting).

    Returns
    -------
    Analysis

    Raises
    ------
    ValidationError
        Listing every fatal problem of both inputs.
    """
    access = AccessOptions() if access is None else access
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        return time.perf_counter()

    t0 = stage("loading and validating the inputs")
    communes, assigned, notes = _load(
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
    )
    timings["load"] = time.perf_counter() - t0
    if kinds is not None:
        counted = assigned["kind"].isin(kinds)
        notes.append(
            f"counting only kinds {', '.join(kinds)}: {int(counted.sum())} of "
            f"{len(assigned)} points"
        )
    t0 = stage("computing postal metrics")
    metrics = compute_commune_metrics(communes, assigned, benchmark, kinds=kinds)
    timings["metrics"] = time.perf_counter() - t0
    analysis = Analysis(
        communes=metrics,
        points=assigned,
        benchmark=benchmark,
        levels={},
        gaps=pd.DataFrame(),
        summary={},
        notes=notes,
        timings=timings,
    )
    if access.enabled:
        apply_access(analysis, access, kinds=kinds, on_stage=on_stage)
    t0 = stage("aggregating to districts, provinces and the whole area")
    _finish(
        analysis,
        n_outside=int((~assigned["inside"]).sum()),
        inputs={"communes": str(boundaries), "points": str(points)},
    )
    timings["aggregate"] = time.perf_counter() - t0
    return analysis


def _finish(analysis: Analysis, *, n_outside: int, inputs: dict[str, str]) -> None:
    """Aggregate to levels, rank the gaps and build the summary."""
    bench = analysis.benchmark
    metrics = analysis.communes
    levels = {
        level: aggregate_metrics(metrics, level, bench)
        for level in levels_present(metrics)
    }
    if analysis.access is not None:
        for level, table in levels.items():
            levels[level] = _join_level_access(analysis, table, LEVEL_KEYS[level])
    analysis.levels = levels
    analysis.gaps = rank_gaps(metrics)
    overall = overall_metrics(metrics, bench)
    access_summary = None
    if analysis.access is not None:
        overall_access = _level_access(analysis, [])
        access_summary = _access_summary(analysis, overall_access)
    analysis.summary = build_summary(
        overall,
        bench,
        communes=metrics,
        n_outside=n_outside,
        notes=analysis.notes,
        inputs=inputs,
        access=access_summary,
    )


# ------------------------------------------------------------------ access


def _counted_points(
    points: gpd.GeoDataFrame, kinds: tuple[str, ...] | None
) -> gpd.GeoDataFrame:
    if kinds is None:
        return points
    return points.loc[points["kind"].isin(kinds)]


def apply_access(
    analysis: Analysis,
    options: AccessOptions,
    *,
    kinds: tuple[str, ...] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> None:
    """Measure distances and join them to the communes and the gap reasons.

    Every counted point serves people wherever they live, also across commune
    and province borders and when the point lies outside every commune.
    """
    from .access import (
        build_population_grid,
        compute_access,
        point_catchments,
        population_from_raster,
        population_from_settlements,
        uncovered_zones,
    )

    bench = analysis.benchmark
    thresholds = thresholds_for(bench, options.thresholds_km)
    zone_km = options.zone_threshold_km or main_threshold_km(bench, thresholds)
    if zone_km not in thresholds:
        thresholds = tuple(sorted({*thresholds, float(zone_km)}))
    communes = analysis.communes
    points = _counted_points(analysis.points, kinds)
    timings = analysis.timings
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"population surface ({options.cell_m:g} m cells)")
    if options.raster is not None and options.settlements is not None:
        msg = "give either --population-raster or --settlements, not both"
        raise InputError(msg)
    if options.raster is not None:
        surface = population_from_raster(
            options.raster, communes, rescale=options.rescale
        )
    elif options.settlements is not None:
        from .io import read_settlements

        surface = population_from_settlements(
            communes,
            read_settlements(options.settlements),
            rescale=options.rescale,
            cell_m=options.cell_m,
        )
    else:
        surface = build_population_grid(communes, cell_m=options.cell_m)
    timings["population_surface"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"distances from {len(surface):,} locations to {len(points):,} points")
    result = compute_access(
        communes,
        points,
        thresholds_km=thresholds,
        cell_m=options.cell_m,
        surface=surface,
    )
    timings["distances"] = time.perf_counter() - t0
    analysis.access = result
    analysis.zone_threshold_km = float(zone_km)
    analysis.notes.extend(n for n in result.notes if n not in analysis.notes)
    t0 = time.perf_counter()
    if on_stage:
        on_stage(f"uncovered zones beyond {zone_km:g} km")
    analysis.zones = uncovered_zones(surface, result.dist_m, threshold_km=zone_km)
    timings["zones"] = time.perf_counter() - t0
    if options.catchments:
        t0 = time.perf_counter()
        if on_stage:
            on_stage("point catchments")
        located = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
        analysis.catchments = point_catchments(
            communes, located, surface, result.nearest_idx
        )
        timings["catchments"] = time.perf_counter() - t0
    analysis.communes = _join_commune_access(communes, result, bench)


def _access_columns(table: pd.DataFrame) -> list[str]:
    pattern = re.compile(r"^(pop|share)_within_[0-9.]+km$")
    return [c for c in table.columns if c in _ACCESS_COLUMNS or pattern.match(c)]


def _rule_masks(
    table: pd.DataFrame, rules: Sequence[DistanceRule]
) -> list[tuple[DistanceRule, np.ndarray, np.ndarray]]:
    """Per rule of scope "all": (rule, share, fails) over the rows of ``table``."""
    from .access import threshold_label

    out = []
    for rule in rules:
        if rule.scope != "all":
            continue
        share = table[f"share_within_{threshold_label(rule.distance_km)}"]
        share = share.to_numpy(float)
        fails = np.isfinite(share) & (share < rule.min_share - 1e-12)
        out.append((rule, share, fails))
    return out


def _join_commune_access(
    metrics: gpd.GeoDataFrame,
    result: Any,
    bench: Benchmark,
) -> gpd.GeoDataFrame:
    from .access import threshold_label

    table = result.communes
    cols = _access_columns(table)
    out = metrics.copy()
    for col in cols:
        out[col] = table[col].to_numpy()
    masks = _rule_masks(out, bench.distance_rules)
    meets = np.ones(len(out), dtype=bool)
    reasons = out["gap_reasons"].to_numpy(dtype=object).copy()
    affected = out["people_affected"].to_numpy(np.int64).copy()
    pop = out["population"].to_numpy(float)
    for rule, share, fails in masks:
        meets &= ~fails
        text = (
            f"{rule.min_share:.0%} within {rule.distance_km:g} km needed, "
            + pd.Series(share * 100).round(1).map("{:.1f}".format)
            + "% reached"
        ).to_numpy(dtype=object)
        reasons = np.where(
            fails,
            np.where(reasons == "", text, reasons + "; " + text),
            reasons,
        )
        label = threshold_label(rule.distance_km)
        beyond = np.round(pop - out[f"pop_within_{label}"].to_numpy(float))
        affected = np.where(fails, np.maximum(affected, beyond), affected)
    if masks:
        out["meets_access"] = meets
        out["fails"] = out["fails"].to_numpy(bool) | ~meets
    out["gap_reasons"] = reasons
    out["people_affected"] = np.maximum(affected, 0).astype(np.int64)
    return out


_KEY_SEP = "\x1f"


def _composite_key(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Join ``keys`` into one text key per row (districts are named per province)."""
    joined = frame[keys].astype("string").fillna("").agg(_KEY_SEP.join, axis=1)
    return joined.to_numpy(dtype=object)


def _level_access(analysis: Analysis, keys: list[str]) -> pd.DataFrame:
    """Aggregate the cells to the units keyed by ``keys`` (``[]``: one row)."""
    cached = analysis.access_levels.get(tuple(keys))
    if cached is not None:
        return cached
    result = analysis.access
    communes = analysis.communes
    if keys:
        labels = _composite_key(communes, keys)
    else:
        labels = np.full(len(communes), "all", dtype=object)
    table = result.aggregate_by(labels, index=pd.Index(pd.unique(labels)))
    table.index.name = "_key"
    table = table.reset_index()
    if keys:
        parts = table["_key"].str.split(_KEY_SEP, expand=True)
        for i, key in enumerate(keys):
            table[key] = parts[i].replace("", pd.NA)
    table = table.drop(columns="_key")
    analysis.access_levels[tuple(keys)] = table
    return table


def _join_level_access(
    analysis: Analysis, table: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    access = _level_access(analysis, keys)
    cols = _access_columns(access)
    left = table.copy()
    lookup = access.set_index(_composite_key(access, keys))[cols]
    for col in cols:
        left[col] = lookup[col].reindex(_composite_key(left, keys)).to_numpy()
    masks = _rule_masks(left, analysis.benchmark.distance_rules)
    if masks:
        meets = np.ones(len(left), dtype=bool)
        for _rule, _share, fails in masks:
            meets &= ~fails
        left["meets_access"] = meets
    return left


def _rule_text(rule: DistanceRule, scope_note: str = "") -> str:
    """``95.0% within 5 km`` (with its scope when it is not everybody)."""
    scope = "" if rule.scope == "all" else f" ({rule.scope}{scope_note})"
    return f"{rule.min_share:.1%} within {rule.distance_km:g} km{scope}"


def _access_summary(analysis: Analysis, overall: pd.DataFrame) -> dict:
    from .access import threshold_label

    result = analysis.access
    row = overall.iloc[0]

    def num(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    within = [
        {
            "distance_km": t,
            "pop_within": num(row[f"pop_within_{threshold_label(t)}"]),
            "share": num(row[f"share_within_{threshold_label(t)}"]),
        }
        for t in result.thresholds_km
    ]
    rules = []
    for rule in analysis.benchmark.distance_rules:
        label = threshold_label(rule.distance_km)
        evaluated = rule.scope == "all"
        share = num(row[f"share_within_{label}"]) if evaluated else None
        rules.append(
            {
                "rule": _rule_text(rule),
                "distance_km": rule.distance_km,
                "min_share": rule.min_share,
                "scope": rule.scope,
                "share": share,
                "margin": None if share is None else share - rule.min_share,
                "passes": None if share is None else share >= rule.min_share - 1e-12,
                "evaluated": evaluated,
            }
        )
    zones = analysis.zones
    surface = result.surface
    return {
        "population_surface": surface.source,
        "cell_m": float(surface.cell_m),
        "n_locations": len(surface),
        "mean_distance_km": num(row["mean_distance_km"]),
        "p90_distance_km": num(row["p90_distance_km"]),
        "max_distance_km": num(row["max_distance_km"]),
        "farthest_lat": num(row.get("farthest_lat")),
        "farthest_lon": num(row.get("farthest_lon")),
        "within": within,
        "rules": rules,
        "zone_threshold_km": analysis.zone_threshold_km,
        "n_uncovered_zones": 0 if zones is None else len(zones),
        "uncovered_population": (
            0.0 if zones is None else float(zones["population"].sum())
        ),
        "distance": "straight line, in the UTM zone of the data",
    }


def distance_rule_table(analysis: Analysis) -> pd.DataFrame:
    """Every distance rule evaluated overall, per province and per district."""
    rules = analysis.benchmark.distance_rules
    if analysis.access is None or not rules:
        return pd.DataFrame()
    frames = []
    units: list[tuple[str, pd.DataFrame, list[str]]] = [
        ("overall", _level_access(analysis, []), [])
    ]
    for level in ("province", "district"):
        if level in analysis.levels:
            units.append((level, analysis.levels[level], LEVEL_KEYS[level]))
    from .access import threshold_label

    for level, table, keys in units:
        for rule in rules:
            label = threshold_label(rule.distance_km)
            evaluated = rule.scope == "all"
            share = table[f"share_within_{label}"].to_numpy(float)
            if not evaluated:
                share = np.full(len(table), np.nan)
            frame = pd.DataFrame(
                {
                    "level": level,
                    "province_name": table["province_name"]
                    if "province_name" in keys
                    else pd.NA,
                    "district_name": table["district_name"]
                    if "district_name" in keys
                    else pd.NA,
                    "rule": _rule_text(rule, ": not evaluated"),
                    "distance_km": rule.distance_km,
                    "min_share": rule.min_share,
                    "share": share,
                    "margin": share - rule.min_share,
                    "passes": pd.array(
                        np.where(
                            np.isnan(share), None, share >= rule.min_share - 1e-12
                        ),
                        dtype="boolean",
                    ),
                }
            )
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.dropna(axis=1, how="all")


# ------------------------------------------------------------------ outputs


def output_targets(out_dir: str | Path, map_path: str | Path | None) -> list[Path]:
    """Every path a run writes (checked against ``--overwrite`` before computing)."""
    targets = [Path(out_dir) / name for name in OUTPUT_FILES]
    if map_path is not None:
        targets.append(Path(map_path))
    return targets


def _ordered(df: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    lead = [c for c in first if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead and c != "geometry"]]


def _commune_table(communes: pd.DataFrame) -> pd.DataFrame:
    within = [
        c
        for c in _access_columns(communes)
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
    return _ordered(communes, first)


def _with_lonlat(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    table = pd.DataFrame(frame.drop(columns="geometry"))
    geoms = frame.geometry.to_crs(4326) if frame.crs else frame.geometry
    centre = geoms.representative_point()
    table["lon"] = centre.x.to_numpy()
    table["lat"] = centre.y.to_numpy()
    return table


#: The tables of :func:`_tables` that also go into ``coverage.xlsx``, as sheets.
XLSX_SHEETS = (
    "communes.csv",
    "districts.csv",
    "provinces.csv",
    "gaps.csv",
    "uncovered_zones.csv",
)


def _tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Every CSV table of an analysis by file name (tables without content left out)."""
    tables = {"communes.csv": _commune_table(analysis.communes)}
    for level in ("district", "province"):
        if level in analysis.levels:
            tables[f"{level}s.csv"] = _ordered(
                analysis.levels[level], LEVEL_KEYS[level]
            )
    tables["gaps.csv"] = _ordered(analysis.gaps, GAP_COLUMNS)
    outside = analysis.points.loc[~analysis.points["inside"]]
    if len(outside):
        tables["points_outside.csv"] = _with_lonlat(outside)
    if analysis.zones is not None:
        tables["uncovered_zones.csv"] = _with_lonlat(analysis.zones)
    if analysis.catchments is not None:
        tables["catchments.csv"] = _ordered(
            pd.DataFrame(analysis.catchments), ["point_id"]
        )
    rules = distance_rule_table(analysis)
    if len(rules):
        tables["distance_rules.csv"] = rules
    return tables


def write_outputs(
    analysis: Analysis,
    outputs: OutputSet,
    out_dir: str | Path,
    *,
    lang: str = "en",
    map_path: str | Path | None = None,
    map_title: str | None = None,
    offline_map: bool = False,
    synthetic: bool = False,
    proposed: gpd.GeoDataFrame | None = None,
    commit: bool = True,
    only: Sequence[str] | None = None,
) -> list[Path]:
    """Write CSVs, ``summary.json``, ``coverage.gpkg`` and the map into ``outputs``.

    Parameters
    ----------
    only
        Names of the files to write (default: all of :data:`OUTPUT_FILES`).

    Returns
    -------
    list of pathlib.Path
        The files written, after they were moved into place (empty when
        ``commit`` is false: the caller commits).
    """
    out_dir = Path(out_dir)
    timings = analysis.timings
    t0 = time.perf_counter()
    wanted = set(OUTPUT_FILES if only is None else only)
    tables = _tables(analysis)
    for name, table in tables.items():
        if name in wanted:
            _write_csv(table, outputs.path(out_dir / name), lang=lang)
    if "coverage.xlsx" in wanted:
        sheets = {
            Path(name).stem: tables[name] for name in XLSX_SHEETS if name in tables
        }
        write_xlsx(sheets, outputs.path(out_dir / "coverage.xlsx"), lang=lang)
    if "summary.json" in wanted:
        summary = {**analysis.summary, "synthetic_data": bool(synthetic)}
        write_json(summary, outputs.path(out_dir / "summary.json"))
    if "coverage.gpkg" in wanted:
        gpkg = outputs.path(out_dir / "coverage.gpkg")
        layers = {
            "communes": analysis.communes,
            "points": analysis.points,
            "uncovered_zones": analysis.zones,
            "catchments": analysis.catchments,
            "proposed_points": proposed,
        }
        for name, frame in layers.items():
            if frame is not None and len(frame):
                frame.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    timings["write_tables"] = time.perf_counter() - t0
    if map_path is not None:
        t0 = time.perf_counter()
        write_analysis_map(
            analysis,
            outputs.path(Path(map_path)),
            lang=lang,
            title=map_title or "",
            offline=offline_map,
            synthetic=synthetic,
            proposed=proposed,
        )
        timings["write_map"] = time.perf_counter() - t0
    return outputs.commit() if commit else []


def map_title(data_name: str, benchmark: str, *, synthetic: bool, lang: str) -> str:
    """Title of a map: the data, the benchmark and, for the sample, that it is fake."""
    if lang == "vi":
        title = f"Mạng điểm phục vụ — {data_name} — chỉ tiêu {benchmark}"
        return title + (" — DỮ LIỆU MẪU TỔNG HỢP (không có thật)" if synthetic else "")
    title = f"Service-point coverage — {data_name} — benchmark {benchmark}"
    return title + (" — SYNTHETIC sample data (not real)" if synthetic else "")


def write_analysis_map(
    analysis: Analysis,
    path: str | Path,
    *,
    lang: str = "en",
    title: str = "",
    offline: bool = False,
    synthetic: bool = False,
    proposed: gpd.GeoDataFrame | None = None,
) -> Path:
    """Draw the gap map of an analysis (communes, points, zones, proposals)."""
    from .maps import build_map, write_map

    points = analysis.points
    fmap = build_map(
        analysis.communes,
        points,
        benchmark=analysis.benchmark,
        lang=lang,
        title=title,
        synthetic=synthetic,
        uncovered=analysis.zones,
        proposed=proposed,
        access_threshold_km=analysis.zone_threshold_km,
    )
    return write_map(fmap, path, offline=offline)


# ------------------------------------------------------------------ by province


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


def _province_slugs(names: Sequence[str]) -> dict[str, str]:
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


def province_units(analysis: Analysis) -> gpd.GeoDataFrame:
    """Province polygons (dissolved communes) with the province-level figures."""
    from .geo import dissolve_tiling

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


def write_province_map(
    analysis: Analysis,
    path: str | Path,
    *,
    lang: str = "en",
    title: str = "",
    offline: bool = False,
    synthetic: bool = False,
) -> Path:
    """Draw the national map with one shape per province."""
    from .maps import build_map, write_map

    fmap = build_map(
        province_units(analysis),
        analysis.points,
        benchmark=analysis.benchmark,
        level="province",
        lang=lang,
        title=title,
        synthetic=synthetic,
        access_threshold_km=analysis.zone_threshold_km,
    )
    return write_map(fmap, path, offline=offline)


PROVINCE_FILES = (
    "communes.csv",
    "districts.csv",
    "gaps.csv",
    "uncovered_zones.csv",
    "summary.json",
)


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
    slugs = _province_slugs(sorted(names))
    out = {}
    for name, slug in slugs.items():
        folder = Path(out_dir) / "by_province" / slug
        files = [folder / f for f in PROVINCE_FILES]
        if map_dir is not None:
            files.append(Path(map_dir) / f"{slug}.html")
        out[name] = files
    return out


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
            access=None,
        )
        parts[name] = sub
    return parts


def write_province_outputs(
    part: Analysis,
    outputs: OutputSet,
    files: list[Path],
    *,
    lang: str = "en",
    title: str = "",
    offline_map: bool = False,
    synthetic: bool = False,
) -> None:
    """Write one province's CSVs, summary and (optionally) map into ``outputs``."""
    by_name = {f.name: f for f in files}
    for name, table in _tables(part).items():
        if name in by_name:
            _write_csv(table, outputs.path(by_name[name]), lang=lang)
    write_json(part.summary, outputs.path(by_name["summary.json"]))
    maps = [f for f in files if f.suffix == ".html"]
    if maps:
        write_analysis_map(
            part,
            outputs.path(maps[0]),
            lang=lang,
            title=title,
            offline=offline_map,
            synthetic=synthetic,
        )


# ------------------------------------------------------------------ plan


def read_candidates(
    path: str | Path, *, columns: dict[str, str] | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read candidate sites (CSV with lat/lon, or any point layer)."""
    from .io import read_points

    return read_points(path, columns=columns, crs=crs).frame


def read_exclusion(path: str | Path) -> gpd.GeoDataFrame:
    """Read polygons where no new point may go (any GIS layer with a CRS)."""
    import pyogrio

    from .geo import require_crs

    source = Path(path)
    if not source.exists():
        msg = f"{source}: no such file; check the --exclude path"
        raise InputError(msg)
    try:
        frame = gpd.read_file(source, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = (
            f"{source}: not a readable GIS layer ({exc}); give polygons (GeoJSON, GPKG)"
        )
        raise InputError(msg) from None
    require_crs(frame, what=f"{source} (--exclude)", operation="excluding areas")
    kinds = set(frame.geometry.dropna().geom_type.unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{source}: --exclude needs polygons, found {', '.join(sorted(kinds))}"
        raise InputError(msg)
    return frame


def plan_radius_km(benchmark: Benchmark, given: float | None = None) -> float:
    """Choose the coverage distance of a plan: given, else benchmark radius or rule."""
    if given is not None:
        if not (np.isfinite(given) and given > 0):
            msg = f"--radius-km must be a positive number of km, got {given:g}"
            raise InputError(msg)
        return float(given)
    if benchmark.radius_km is not None:
        return float(benchmark.radius_km)
    for rule in benchmark.distance_rules:
        if rule.scope == "all":
            return float(rule.distance_km)
    msg = (
        f"benchmark {benchmark.name} has no radius and no distance rule; give the "
        "coverage distance with --radius-km"
    )
    raise InputError(msg)


def plan_analysis(
    analysis: Analysis,
    *,
    radius_km: float,
    add: int | None = None,
    target: str | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_source: str = "cells",
    exclusion: gpd.GeoDataFrame | None = None,
    kinds: tuple[str, ...] | None = None,
    cell_m: float = DEFAULT_CELL_M,
    max_candidates: int = 3000,
    time_limit_s: float = 60.0,
    method: str = "auto",
    on_stage: Callable[[str], None] | None = None,
) -> PlanRun:
    """Choose new sites for an analysed area and measure before and after.

    Existing points are all kept; demand is the population surface of the
    analysis (so the plan sees the same people as the access figures).
    """
    from .plan import before_after, plan_from_layers

    surface = analysis.access.surface if analysis.access is not None else None
    points = _counted_points(analysis.points, kinds)
    points = points.loc[~points.geometry.isna() & ~points.geometry.is_empty]
    source = "file" if candidates is not None else candidate_source
    t0 = time.perf_counter()
    if on_stage:
        what = f"{add} new sites" if add is not None else f"target {target}"
        on_stage(f"choosing {what} within {radius_km:g} km")
    result, proposed = plan_from_layers(
        analysis.communes,
        points,
        candidates,
        radius_km=radius_km,
        add=add,
        target=target,
        cell_m=cell_m,
        candidate_source=source,
        exclusion=exclusion,
        max_candidates=max_candidates,
        surface=surface,
        time_limit_s=time_limit_s,
        method=method,
    )
    analysis.timings["plan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if on_stage:
        on_stage("before/after figures")
    per_commune, overall = before_after(
        analysis.communes,
        points,
        proposed,
        radius_km=radius_km,
        cell_m=cell_m,
        surface=surface,
    )
    analysis.timings["before_after"] = time.perf_counter() - t0
    names = analysis.communes[
        [
            c
            for c in ("commune_code", "commune_name", "district_name", "province_name")
            if c in analysis.communes.columns
        ]
    ]
    table = names.merge(pd.DataFrame(per_commune), on="commune_code", how="right")
    run = PlanRun(
        result=result,
        proposed=proposed,
        before_after=table,
        overall=overall,
        radius_km=radius_km,
    )
    run.summary = _plan_summary(run, analysis)
    return run


def _plan_summary(run: PlanRun, analysis: Analysis) -> dict:
    res = run.result

    def num(value: Any) -> float | None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) else None

    return {
        "inputs": analysis.summary.get("inputs", {}),
        "benchmark": analysis.summary.get("benchmark", {}),
        "radius_km": run.radius_km,
        "problem": res.problem,
        "status": res.status,
        "method": res.method,
        "n_proposed": len(run.proposed),
        "objective": num(res.objective),
        "bound": num(res.bound),
        "gap": num(res.gap),
        "newly_covered_pop": num(res.newly_covered_pop),
        "uncoverable_pop": num(res.uncoverable_pop),
        "solve_time_s": num(res.solve_time_s),
        "detail": res.detail,
        "before_after": {k: num(v) for k, v in run.overall.items()},
    }


def summary_benchmark(summary: dict) -> Benchmark:
    """Rebuild the benchmark of a previous run from its ``summary.json``."""
    b = summary.get("benchmark") or {}
    try:
        return Benchmark(
            name=str(b["name"]),
            title=str(b.get("title", b["name"])),
            radius_km=b.get("radius_km"),
            people_per_point=b.get("people_per_point"),
            require_staffed=bool(b.get("require_staffed", True)),
            distance_rules=tuple(
                DistanceRule(
                    float(r["distance_km"]),
                    float(r["min_share"]),
                    str(r.get("scope", "all")),
                )
                for r in b.get("distance_rules", [])
            ),
            sources=tuple(b.get("sources", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"summary.json has no usable benchmark ({exc}); rerun coverage analyze"
        raise InputError(msg) from None


PLAN_FILES = (
    "proposed_points.csv",
    "before_after.csv",
    "plan.json",
    "plan.gpkg",
    "communes.csv",
    "summary.json",
    "coverage.gpkg",
)


def plan_targets(out_dir: str | Path, map_path: str | Path | None) -> list[Path]:
    """Every path ``coverage plan`` writes."""
    targets = [Path(out_dir) / name for name in PLAN_FILES]
    if map_path is not None:
        targets.append(Path(map_path))
    return targets


def run_plan(
    analysis: Analysis,
    *,
    add: int | None,
    target: str | None,
    radius_km: float | None = None,
    candidates_path: str | Path | None = None,
    candidate_source: str = "cells",
    settlements_path: str | Path | None = None,
    max_candidates: int = 3000,
    exclude_path: str | Path | None = None,
    columns: dict[str, str] | None = None,
    kinds: tuple[str, ...] | None = None,
    cell_m: float = DEFAULT_CELL_M,
    time_limit_s: float = 60.0,
    method: str = "auto",
    on_stage: Callable[[str], None] | None = None,
) -> PlanRun:
    """Read the plan's optional layers and run :func:`plan_analysis`."""
    radius = plan_radius_km(analysis.benchmark, radius_km)
    candidates = (
        None
        if candidates_path is None
        else read_candidates(candidates_path, columns=columns)
    )
    if candidates is None and candidate_source == "settlements":
        from .io import read_settlements

        if settlements_path is None:
            msg = "candidate source 'settlements' needs a settlements file"
            raise InputError(msg)
        candidates = read_settlements(settlements_path, columns=columns)
    exclusion = None if exclude_path is None else read_exclusion(exclude_path)
    return plan_analysis(
        analysis,
        radius_km=radius,
        add=add,
        target=target,
        candidates=candidates,
        candidate_source=candidate_source,
        exclusion=exclusion,
        kinds=kinds,
        cell_m=cell_m,
        max_candidates=max_candidates,
        time_limit_s=time_limit_s,
        method=method,
        on_stage=on_stage,
    )


def write_plan(
    analysis: Analysis,
    run: PlanRun,
    outputs: OutputSet,
    out_dir: str | Path,
    *,
    lang: str = "en",
    map_path: str | Path | None = None,
    map_title: str = "",
    offline_map: bool = False,
    synthetic: bool = False,
) -> list[Path]:
    """Write the proposals, before/after figures, the analysis layers and the map."""
    out_dir = Path(out_dir)
    proposed = run.proposed
    lead = [
        "rank",
        "lat",
        "lon",
        "commune_code",
        "commune_name",
        "newly_covered_pop",
        "running_total_pop",
    ]
    _write_csv(
        _ordered(pd.DataFrame(proposed), lead),
        outputs.path(out_dir / "proposed_points.csv"),
        lang=lang,
    )
    _write_csv(run.before_after, outputs.path(out_dir / "before_after.csv"), lang=lang)
    write_json(run.summary, outputs.path(out_dir / "plan.json"))
    if len(proposed):
        proposed.to_file(
            outputs.path(out_dir / "plan.gpkg"),
            layer="proposed_points",
            driver="GPKG",
            engine="pyogrio",
        )
    write_outputs(
        analysis,
        outputs,
        out_dir,
        lang=lang,
        map_path=map_path,
        map_title=map_title,
        offline_map=offline_map,
        synthetic=synthetic,
        proposed=proposed if len(proposed) else None,
        commit=False,
        only=("communes.csv", "summary.json", "coverage.gpkg"),
    )
    return outputs.commit()


def redraw_map(
    from_dir: str | Path,
    path: str | Path,
    *,
    lang: str = "en",
    offline: bool = False,
    proposed_path: str | Path | None = None,
) -> Path:
    """Draw the map of a previous run from its ``coverage.gpkg`` and summary."""
    import json

    import pyogrio

    folder = Path(from_dir)
    gpkg = folder / "coverage.gpkg"
    summary_path = folder / "summary.json"
    for need in (gpkg, summary_path):
        if not need.is_file():
            msg = (
                f"{need}: missing; run `coverage analyze --out {folder}` first or "
                "point --from at its output folder"
            )
            raise InputError(msg)
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        communes = gpd.read_file(gpkg, layer="communes", engine="pyogrio")
        points = (
            gpd.read_file(gpkg, layer="points", engine="pyogrio")
            if "points" in layers
            else None
        )
        zones = (
            gpd.read_file(gpkg, layer="uncovered_zones", engine="pyogrio")
            if "uncovered_zones" in layers
            else None
        )
        proposed = (
            gpd.read_file(gpkg, layer="proposed_points", engine="pyogrio")
            if "proposed_points" in layers
            else None
        )
    except (ValueError, pyogrio.errors.DataSourceError) as exc:
        msg = f"{folder}: outputs unreadable ({exc}); rerun coverage analyze"
        raise InputError(msg) from None
    if proposed_path is not None:
        proposed = read_candidates(proposed_path)
    bench = summary_benchmark(summary)
    access = summary.get("access") or {}
    inputs = summary.get("inputs", {})
    name = Path(inputs.get("communes", "")).name or folder.name
    synthetic = bool(summary.get("synthetic_data", False))
    title = map_title(name, bench.name, synthetic=synthetic, lang=lang)
    analysis = Analysis(
        communes=communes,
        points=points,
        benchmark=bench,
        levels={},
        gaps=pd.DataFrame(),
        summary=summary,
        zones=zones,
        zone_threshold_km=access.get("zone_threshold_km"),
    )
    return write_analysis_map(
        analysis,
        path,
        lang=lang,
        title=title,
        offline=offline,
        synthetic=synthetic,
        proposed=proposed,
    )
