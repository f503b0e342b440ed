"""``coverage analyze``: metrics, distance access, gaps, tables and the map."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .helpers import (
    Progress,
    default_map_path,
    echo_outputs,
    guard_run,
    input_paths,
    map_title_for,
    resolve_inputs,
)
from .main import BadInputError, call
from .options import (
    access_opts,
    benchmark_opt,
    input_opts,
    kinds_opt,
    lang_opt,
    map_opts,
    out_opt,
    overwrite_opt,
    scheduler_opts,
    siting_opts,
    snap_opt,
    travel_options,
)

if TYPE_CHECKING:
    from ..distributed import DaskAccess
    from ..distributed.cluster import Tracker

__all__ = ["analyze"]


@click.command()
@input_opts
@snap_opt
@benchmark_opt
@out_opt("out", "Folder for the CSV, JSON and GeoPackage outputs.")
@map_opts(
    None,
    "Where to write the interactive HTML map [default: maps/<name of the --out "
    "folder>.html; maps/coverage.html for --out out].",
)
@kinds_opt
@access_opts
@travel_options
@siting_opts("analyze")
@click.option(
    "--by",
    type=click.Choice(["province"]),
    help="Also write one set of CSVs and one map per province "
    "(OUT/by_province/<province>/, next to the map: by_province/<province>.html).",
)
@scheduler_opts
@lang_opt
@overwrite_opt
@click.pass_context
def analyze(
    ctx: click.Context,
    boundaries: str | None,
    points: str | None,
    columns: dict[str, str],
    layer: str | None,
    points_layer: str | None,
    crs: str | None,
    points_crs: str | None,
    population_table: str | None,
    fix_invalid: bool,
    snap_m: float,
    benchmark: str,
    out_dir: str,
    map_path: str | None,
    no_map: bool,
    offline_map: bool,
    tiles: str | None,
    whatif: bool | None,
    kinds: tuple[str, ...] | None,
    cell_m: float,
    within_km: tuple[float, ...] | None,
    zones_km: float | None,
    population_raster: str | None,
    settlements: str | None,
    no_rescale: bool,
    no_access: bool,
    roads: str | None,
    roads_layer: str | None,
    dem: str | None,
    barriers: str | None,
    barriers_layer: str | None,
    roads_columns: dict[str, str],
    roads_classes: dict[str, str],
    mode: str | None,
    travel_profile: str | None,
    within_min: tuple[float, ...] | None,
    zones_min: float | None,
    capacity_column: str | None,
    access_score: str | None,
    by: str | None,
    scheduler: str | None,
    parts: str | None,
    lang: str,
    overwrite: bool,
) -> None:
    """Compute postal benchmark metrics, distance access and gaps; draw the map.

    Validates and loads a commune layer (polygons with population) and service
    points, assigns points to communes, measures how far people live from the
    nearest point, and writes to --out: communes.csv, districts.csv and
    provinces.csv (when those levels exist), gaps.csv (failing communes ranked by
    people affected), uncovered_zones.csv, catchments.csv, distance_rules.csv
    (benchmarks with distance rules), points_outside.csv, summary.json and
    coverage.gpkg; plus an interactive map (default maps/<out folder name>.html,
    maps/coverage.html for the default --out out). With no
    arguments it runs on the bundled synthetic sample.

    \b
    Examples:
        coverage analyze
        coverage analyze -b xa.gpkg -p buu_cuc.csv -B vn-strategy-2025 --lang vi
        coverage analyze -b gadm41_VNM_3.shp -p points.csv \\
            -c population=DS_2019 -c commune_code=GID_3 --out ket_qua --overwrite
        coverage analyze -b vn_xa.gpkg -p diem.csv --cell-m 500 --by province
        coverage analyze -B nl-5km --within 1,2,5 --offline-map
        coverage analyze --roads data/roads/roads.gpkg --dem data/dem/dem.tif \\
            --barriers data/roads/roads.gpkg --mode motorbike
        coverage analyze -b /shared/xa.gpkg -p /shared/diem.csv --by province \\
            --scheduler tcp://10.0.0.5:8786
        coverage analyze --access-score e2sfca --within 2,3,5
    """
    from ..benchmarks import load_benchmark
    from ..i18n import format_text, label
    from ..model import AccessOptions, TravelOptions
    from ..output.files import OutputSet
    from ..output.report import format_summary, printable
    from ..output.write import (
        count_write_stages,
        is_mbtiles,
        map_tiles_dir,
        output_targets,
        write_analysis,
    )
    from ..pipeline import analyze as run_analysis
    from ..pipeline import count_stages, province_map_path

    verbosity = ctx.obj["verbosity"]
    if capacity_column is not None:
        columns = {**columns, "capacity": capacity_column}
    boundaries, points, is_sample = resolve_inputs(ctx, boundaries, points)
    final_map = None if no_map else Path(map_path or default_map_path(out_dir))
    by_province = by == "province"
    targets = [("--out", t) for t in output_targets(out_dir, None)]
    if final_map is not None:
        targets.append(("--map", final_map))
        tiles_dir = map_tiles_dir(final_map, tiles)
        if tiles_dir is not None:
            targets.append(("--tiles", tiles_dir))
        if by_province:
            targets.append(("--map", province_map_path(final_map)))
    folders = [("--out", Path(out_dir) / "by_province")] if by_province else []
    if by_province and final_map is not None:
        folders.append(("--map", final_map.parent / "by_province"))
    inputs = input_paths(
        tiles=tiles if is_mbtiles(tiles) else None,
        boundaries=boundaries,
        points=points,
        population_table=population_table,
        population_raster=population_raster,
        settlements=settlements,
        benchmark=benchmark,
    )
    guard_run(ctx, targets=targets, inputs=inputs, folders=folders)
    bench = call(ctx, load_benchmark, benchmark)
    outputs = call(
        ctx,
        OutputSet,
        [t for _, t in targets],
        overwrite=overwrite,
        options={t: o for o, t in targets},
    )
    if by_province and (Path(out_dir) / "by_province").exists() and not overwrite:
        raise BadInputError(
            f"{Path(out_dir) / 'by_province'}: output exists already; pass "
            "--overwrite to replace it or choose another --out folder"
        )
    options = AccessOptions(
        enabled=not no_access,
        cell_m=cell_m,
        thresholds_km=within_km,
        zone_threshold_km=zones_km,
        raster=population_raster,
        settlements=settlements,
        rescale=not no_rescale,
    )
    travel = TravelOptions(
        roads=roads,
        roads_layer=roads_layer,
        dem=dem,
        barriers=barriers,
        barriers_layer=barriers_layer,
        class_column=roads_columns.get("class"),
        speed_column=roads_columns.get("speed"),
        class_map=roads_classes,
        mode=mode,
        profile=travel_profile,
        thresholds_min=within_min,
        zone_threshold_min=zones_min,
    )
    writes = count_write_stages(by_province=by_province, with_map=final_map is not None)
    progress = Progress(verbosity, count_stages(options, travel) + writes)
    distances = None
    if scheduler is not None:
        distances = _dask_access(
            ctx,
            scheduler,
            parts,
            boundaries=boundaries,
            points=points,
            columns=columns,
            crs=crs,
            points_crs=points_crs,
            fix_invalid=fix_invalid,
            population_table=population_table,
            track=progress.track,
        )
    elif parts is not None:
        raise click.UsageError("--parts needs --scheduler", ctx=ctx)
    result = call(
        ctx,
        run_analysis,
        boundaries,
        points,
        benchmark=bench,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        kinds=kinds,
        fix_invalid=fix_invalid,
        population_table=population_table,
        layer=layer,
        points_layer=points_layer,
        snap_m=snap_m,
        access=options,
        on_stage=progress,
        travel=travel,
        distances=distances,
    )
    from ..pipeline.scores import apply_scores

    call(
        ctx,
        apply_scores,
        result,
        access_score=access_score,
        thresholds_km=within_km,
        thresholds_min=within_min,
        kinds=kinds,
    )
    title = map_title_for(boundaries, bench.name, is_sample=is_sample, lang=lang)

    def write() -> list[Path]:
        with outputs:
            return write_analysis(
                result,
                outputs,
                out_dir,
                by_province=by_province,
                lang=lang,
                map_path=final_map,
                map_title=title,
                offline_map=offline_map,
                tiles=tiles,
                whatif=whatif,
                synthetic=is_sample,
                on_stage=progress,
                track=progress.track,
            )

    written = call(ctx, write)
    if verbosity >= 0:
        text = format_summary(result.summary, lang=lang, benchmark=bench)
        click.echo(printable(text))
        shown = [p for p in written if "by_province" not in p.parts]
        echo_outputs(shown, lang=lang)
        if len(shown) < len(written):
            n = len(written) - len(shown)
            folder = f"{out_dir}/by_province"
            more = label("cli.per_province", lang)
            click.echo(f"  {format_text(more, lang, n=n, folder=folder)}")


def _dask_access(
    ctx: click.Context,
    scheduler: str,
    parts: str | None,
    *,
    boundaries: str,
    points: str,
    columns: dict[str, str],
    crs: str | None,
    points_crs: str | None,
    fix_invalid: bool,
    population_table: str | None,
    track: Tracker | None,
) -> DaskAccess:
    """Return the distance engine of --scheduler (imports coverage.distributed)."""
    from ..distributed import (
        DaskAccess,
        PartitionInputs,
        SharedInputs,
        parse_scheduler,
        require_dask,
    )

    call(ctx, require_dask)
    call(ctx, parse_scheduler, scheduler)
    source: SharedInputs | PartitionInputs
    if parts is not None:
        source = PartitionInputs(str(Path(parts).resolve()))
    else:
        source = SharedInputs(
            boundaries=str(Path(boundaries).resolve()),
            points=str(Path(points).resolve()),
            columns=tuple(sorted(columns.items())),
            crs=crs,
            points_crs=points_crs,
            fix_invalid=fix_invalid,
            population_table=None
            if population_table is None
            else str(Path(population_table).resolve()),
        )
    return DaskAccess(scheduler=scheduler, source=source, track=track)
