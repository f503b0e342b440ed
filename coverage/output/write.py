"""Write a run: the files of ``analyze`` (national and by province) and ``plan``.

Everything goes through an :class:`~coverage.output.files.OutputSet`, so a run
replaces the previous outputs all at once or not at all.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ..errors import InputError
from ..model import Analysis, PlanRun
from ..pipeline.plan import read_candidates
from ..pipeline.provinces import (
    province_map_path,
    province_targets,
    province_units,
    split_by_province,
)
from ..pipeline.summary import summary_benchmark
from .files import OutputSet, write_csv, write_gpkg_layers, write_json, write_xlsx
from .tables import XLSX_SHEETS, analysis_tables, gpkg_communes, ordered

if TYPE_CHECKING:
    from ..maps import WhatIfData

__all__ = [
    "OUTPUT_FILES",
    "PLAN_FILES",
    "WHATIF_MAX_CELLS",
    "count_write_stages",
    "is_mbtiles",
    "map_tiles_dir",
    "map_title",
    "output_targets",
    "plan_targets",
    "redraw_map",
    "write_analysis",
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

PLAN_FILES = (
    "proposed_points.csv",
    "before_after.csv",
    "plan.json",
    "plan.gpkg",
    "communes.csv",
    "summary.json",
    "coverage.gpkg",
)


def output_targets(out_dir: str | Path, map_path: str | Path | None) -> list[Path]:
    """Every path a run writes (checked against ``--overwrite`` before computing)."""
    targets = [Path(out_dir) / name for name in OUTPUT_FILES]
    if map_path is not None:
        targets.append(Path(map_path))
    return targets


def plan_targets(out_dir: str | Path, map_path: str | Path | None) -> list[Path]:
    """Every path ``coverage plan`` writes."""
    targets = [Path(out_dir) / name for name in PLAN_FILES]
    if map_path is not None:
        targets.append(Path(map_path))
    return targets


def write_outputs(
    analysis: Analysis,
    outputs: OutputSet,
    out_dir: str | Path,
    *,
    lang: str = "en",
    map_path: str | Path | None = None,
    map_title: str | None = None,
    offline_map: bool = False,
    tiles: str | None = None,
    whatif: bool | None = None,
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
    tables = analysis_tables(analysis)
    for name, table in tables.items():
        if name in wanted:
            write_csv(table, outputs.path(out_dir / name), lang=lang)
    if "coverage.xlsx" in wanted:
        sheets = {
            Path(name).stem: tables[name] for name in XLSX_SHEETS if name in tables
        }
        cut = write_xlsx(sheets, outputs.path(out_dir / "coverage.xlsx"), lang=lang)
        if cut:
            analysis.summary["notes"] = [*analysis.summary.get("notes", []), *cut]
    if "summary.json" in wanted:
        summary = {**analysis.summary, "synthetic_data": bool(synthetic)}
        write_json(summary, outputs.path(out_dir / "summary.json"))
    if "coverage.gpkg" in wanted:
        layers = {
            "communes": gpkg_communes(analysis.communes),
            "points": analysis.points,
            "uncovered_zones": analysis.zones,
            "catchments": analysis.catchments,
            "proposed_points": proposed,
        }
        write_gpkg_layers(layers, outputs.path(out_dir / "coverage.gpkg"))
    timings["write_tables"] = time.perf_counter() - t0
    if map_path is not None:
        t0 = time.perf_counter()
        tiles_dir = map_tiles_dir(map_path, tiles)
        if tiles_dir is not None:
            outputs.path(tiles_dir)  # write_map unpacks the tiles beside the map
        write_analysis_map(
            analysis,
            outputs.path(Path(map_path)),
            lang=lang,
            title=map_title or "",
            offline=offline_map,
            synthetic=synthetic,
            proposed=proposed,
            tiles=tiles,
            whatif=whatif,
        )
        timings["write_map"] = time.perf_counter() - t0
    return outputs.commit() if commit else []


#: Wraps the loop over the provinces, e.g. in a progress bar: called with the
#: (name, part) pairs and a label, it returns a context yielding them back.
ProvinceTracker = Callable[
    [Sequence[tuple[str, Analysis]], str],
    AbstractContextManager[Iterable[tuple[str, Analysis]]],
]


def count_write_stages(*, by_province: bool = False, with_map: bool = False) -> int:
    """Return how many stages :func:`write_analysis` (or :func:`write_plan`) reports.

    Examples
    --------
    >>> count_write_stages(by_province=True, with_map=True)
    3
    """
    if not by_province:
        return 1
    return 3 if with_map else 2


def write_analysis(
    analysis: Analysis,
    outputs: OutputSet,
    out_dir: str | Path,
    *,
    by_province: bool = False,
    lang: str = "en",
    map_path: str | Path | None = None,
    map_title: str = "",
    offline_map: bool = False,
    tiles: str | None = None,
    whatif: bool | None = None,
    synthetic: bool = False,
    on_stage: Callable[[str], None] | None = None,
    track: ProvinceTracker | None = None,
) -> list[Path]:
    """Write every output of ``coverage analyze``, by province too when asked.

    With ``by_province`` each province gets its CSVs and summary under
    ``OUT/by_province/<slug>/`` and, with a map, its own map next to the national
    one (``by_province/<slug>.html``) plus a national map of provinces
    (:func:`~coverage.pipeline.province_map_path`, which the caller declared in
    ``outputs``). Reports :func:`count_write_stages` stages through ``on_stage``.

    Returns
    -------
    list of pathlib.Path
        The files written, after they were moved into place.
    """

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    if by_province:
        map_dir = None if map_path is None else Path(map_path).parent
        per_province = province_targets(
            analysis,
            out_dir,
            None if map_dir is None else map_dir / "by_province",
        )
        outputs.add(f for files in per_province.values() for f in files)
        parts = split_by_province(analysis)
        stage(f"writing {len(parts)} province(s)")
        items = list(parts.items())
        tracked = (
            contextlib.nullcontext(items)
            if track is None
            else track(items, "provinces")
        )
        with tracked as bar:
            for name, part in bar:
                write_province_outputs(
                    part,
                    outputs,
                    per_province[name],
                    lang=lang,
                    title=f"{name} — {map_title}",
                    offline_map=offline_map,
                    synthetic=synthetic,
                    tiles=None if is_mbtiles(tiles) else tiles,
                    whatif=False,
                )
        if map_path is not None:
            stage("national map of provinces")
            write_province_map(
                analysis,
                outputs.path(province_map_path(map_path)),
                lang=lang,
                title=map_title,
                offline=offline_map,
                synthetic=synthetic,
                tiles=None if is_mbtiles(tiles) else tiles,
            )
    stage("writing tables" + (" and the map" if map_path else ""))
    return write_outputs(
        analysis,
        outputs,
        out_dir,
        lang=lang,
        map_path=map_path,
        map_title=map_title,
        offline_map=offline_map,
        synthetic=synthetic,
        tiles=tiles,
        whatif=whatif,
    )


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
    tiles: str | None = None,
    whatif: bool | None = None,
) -> Path:
    """Draw the gap map of an analysis (communes, points, zones, proposals).

    ``tiles`` is the background (:func:`coverage.maps.build_map`); ``whatif``
    embeds the population cells so the planner can add, move and remove points in
    the page (None: when the analysis has at most :data:`WHATIF_MAX_CELLS` cells).
    """
    from ..maps import build_map, write_map

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
        travel="mean_time_min" in analysis.communes.columns,
        tiles=tiles,
        whatif=_whatif_data(analysis, whatif),
    )
    return write_map(fmap, path, offline=offline)


#: Above this many population cells the map embeds no what-if data by default
#: (about 16 bytes a cell: 300,000 cells add about 6 MB to the page).
WHATIF_MAX_CELLS = 300_000


def _whatif_data(analysis: Analysis, whatif: bool | None) -> WhatIfData | None:
    from ..maps import whatif_from_access

    result = analysis.access
    if whatif is False or result is None or analysis.points is None:
        return None
    if whatif is None and len(result.surface) > WHATIF_MAX_CELLS:
        return None
    return whatif_from_access(result, analysis.points)


def is_mbtiles(tiles: str | None) -> bool:
    """Tell whether ``tiles`` names a local ``.mbtiles`` file (not a URL template)."""
    return tiles is not None and str(tiles).lower().endswith(".mbtiles")


def map_tiles_dir(map_path: str | Path, tiles: str | None) -> Path | None:
    """Return the folder a raster ``.mbtiles`` background is unpacked into, or None.

    Only the main map carries such tiles; the province maps keep the default
    background (one copy of the tiles, not one per map).
    """
    if not is_mbtiles(tiles):
        return None
    path = Path(map_path)
    return path.parent / f"{path.stem}_tiles"


def write_province_map(
    analysis: Analysis,
    path: str | Path,
    *,
    lang: str = "en",
    title: str = "",
    offline: bool = False,
    synthetic: bool = False,
    tiles: str | None = None,
) -> Path:
    """Draw the national map with one shape per province."""
    from ..maps import build_map, write_map

    fmap = build_map(
        province_units(analysis),
        analysis.points,
        benchmark=analysis.benchmark,
        level="province",
        lang=lang,
        title=title,
        synthetic=synthetic,
        access_threshold_km=analysis.zone_threshold_km,
        tiles=tiles,
    )
    return write_map(fmap, path, offline=offline)


def write_province_outputs(
    part: Analysis,
    outputs: OutputSet,
    files: list[Path],
    *,
    lang: str = "en",
    title: str = "",
    offline_map: bool = False,
    tiles: str | None = None,
    whatif: bool | None = None,
    synthetic: bool = False,
) -> None:
    """Write one province's CSVs, summary and (optionally) map into ``outputs``."""
    by_name = {f.name: f for f in files}
    for name, table in analysis_tables(part).items():
        if name in by_name:
            write_csv(table, outputs.path(by_name[name]), lang=lang)
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
            tiles=tiles,
            whatif=whatif,
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
    tiles: str | None = None,
    whatif: bool | None = None,
    synthetic: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the proposals, before/after figures, the analysis layers and the map.

    Reports one stage through ``on_stage`` (``count_write_stages()``).
    """
    if on_stage is not None:
        on_stage("writing the plan")
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
    write_csv(
        ordered(pd.DataFrame(proposed), lead),
        outputs.path(out_dir / "proposed_points.csv"),
        lang=lang,
    )
    write_csv(run.before_after, outputs.path(out_dir / "before_after.csv"), lang=lang)
    write_json(run.summary, outputs.path(out_dir / "plan.json"))
    if len(proposed):
        write_gpkg_layers(
            {"proposed_points": proposed}, outputs.path(out_dir / "plan.gpkg")
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
        tiles=tiles,
        whatif=whatif,
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
    tiles: str | None = None,
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
    rerun = f"rerun `coverage analyze --out {folder}` to rewrite it"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{summary_path}: unreadable ({exc}); {rerun}"
        raise InputError(msg) from None
    if not isinstance(summary, dict):
        kind = type(summary).__name__.replace("NoneType", "null")
        msg = f"{summary_path}: not a JSON object (got a {kind}); {rerun}"
        raise InputError(msg)
    inputs, threshold, synthetic = _summary_fields(summary, summary_path, rerun)
    try:
        bench = summary_benchmark(summary, origin=str(summary_path))
    except InputError as exc:
        raise InputError(f"{exc}; {rerun}") from None
    try:
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    except (ValueError, pyogrio.errors.DataSourceError) as exc:
        msg = f"{gpkg}: not a readable GeoPackage ({exc}); {rerun}"
        raise InputError(msg) from None
    if "communes" not in layers:
        found = ", ".join(sorted(layers)) or "none"
        msg = f"{gpkg}: no 'communes' layer (layers: {found}); {rerun}"
        raise InputError(msg)
    try:
        communes = gpd.read_file(gpkg, layer="communes", engine="pyogrio")
        extra = {
            name: gpd.read_file(gpkg, layer=name, engine="pyogrio")
            if name in layers
            else None
            for name in ("points", "uncovered_zones", "proposed_points")
        }
    except (ValueError, pyogrio.errors.DataSourceError) as exc:
        msg = f"{gpkg}: layers unreadable ({exc}); {rerun}"
        raise InputError(msg) from None
    points, zones, proposed = extra.values()
    if proposed_path is not None:
        proposed = read_candidates(proposed_path)
    name = Path(str(inputs.get("communes") or "")).name or folder.name
    title = map_title(name, bench.name, synthetic=synthetic, lang=lang)
    analysis = Analysis(
        communes=communes,
        points=points,
        benchmark=bench,
        levels={},
        gaps=pd.DataFrame(),
        summary=summary,
        zones=zones,
        zone_threshold_km=threshold,
    )
    return write_analysis_map(
        analysis,
        path,
        lang=lang,
        title=title,
        offline=offline,
        synthetic=synthetic,
        proposed=proposed,
        tiles=tiles,
    )


def _summary_fields(
    summary: dict[str, object], path: Path, rerun: str
) -> tuple[dict[str, object], float | None, bool]:
    """Check the fields of ``summary.json`` the map reads; name the first wrong one."""

    def wrong(field: str, wanted: str, value: object) -> InputError:
        names = {"NoneType": "a null", "str": "a string", "int": "an integer"}
        got = names.get(type(value).__name__, "a " + type(value).__name__)
        return InputError(
            f"{path}: field '{field}' must be {wanted}, got {got} ({value!r:.40}); "
            + rerun
        )

    access = summary.get("access") or {}
    if not isinstance(access, dict):
        raise wrong("access", "an object", access)
    inputs = summary.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise wrong("inputs", "an object", inputs)
    if not isinstance(inputs.get("communes") or "", str):
        raise wrong("inputs.communes", "a path", inputs.get("communes"))
    threshold = access.get("zone_threshold_km")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or threshold <= 0
    ):
        raise wrong("access.zone_threshold_km", "a positive number of km", threshold)
    synthetic = summary.get("synthetic_data", False)
    if not isinstance(synthetic, bool):
        raise wrong("synthetic_data", "true or false", synthetic)
    return inputs, None if threshold is None else float(threshold), synthetic
