"""``coverage analyze``: metrics, distance access, gaps, tables and the map."""

from __future__ import annotations

from pathlib import Path

import click

from .helpers import Progress, echo_outputs, map_title_for, resolve_inputs
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
    siting_opts,
)

__all__ = ["analyze"]


@click.command()
@input_opts
@benchmark_opt
@out_opt("out", "Folder for the CSV, JSON and GeoPackage outputs.")
@map_opts()
@kinds_opt
@access_opts
@siting_opts("analyze")
@click.option(
    "--by",
    type=click.Choice(["province"]),
    help="Also write one set of CSVs and one map per province "
    "(OUT/by_province/<province>/, next to the map: by_province/<province>.html).",
)
@lang_opt
@overwrite_opt
@click.pass_context
def analyze(
    ctx: click.Context,
    boundaries: str | None,
    points: str | None,
    columns: dict[str, str],
    crs: str | None,
    points_crs: str | None,
    population_table: str | None,
    fix_invalid: bool,
    benchmark: str,
    out_dir: str,
    map_path: str,
    no_map: bool,
    offline_map: bool,
    kinds: tuple[str, ...] | None,
    cell_m: float,
    within_km: tuple[float, ...] | None,
    zones_km: float | None,
    population_raster: str | None,
    settlements: str | None,
    no_rescale: bool,
    no_access: bool,
    capacity_column: str | None,
    access_score: str | None,
    by: str | None,
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
    coverage.gpkg; plus an interactive map (default maps/coverage.html). With no
    arguments it runs on the bundled synthetic sample.

    \b
    Examples:
        coverage analyze
        coverage analyze -b xa.gpkg -p buu_cuc.csv -B vn-strategy-2025 --lang vi
        coverage analyze -b gadm41_VNM_3.shp -p points.csv \\
            -c population=DS_2019 -c commune_code=GID_3 --out ket_qua --overwrite
        coverage analyze -b vn_xa.gpkg -p diem.csv --cell-m 500 --by province
        coverage analyze -B nl-5km --within 1,2,5 --offline-map
        coverage analyze --access-score e2sfca --within 2,3,5
    """
    from ..benchmarks import load_benchmark
    from ..model import AccessOptions
    from ..output.files import OutputSet
    from ..output.report import format_summary, printable
    from ..output.write import count_write_stages, output_targets, write_analysis
    from ..pipeline import analyze as run_analysis
    from ..pipeline import count_stages, province_map_path

    verbosity = ctx.obj["verbosity"]
    if capacity_column is not None:
        columns = {**columns, "capacity": capacity_column}
    boundaries, points, is_sample = resolve_inputs(ctx, boundaries, points)
    bench = call(ctx, load_benchmark, benchmark)
    final_map = None if no_map else map_path
    by_province = by == "province"
    targets = output_targets(out_dir, final_map)
    if by_province and final_map is not None:
        targets.append(province_map_path(final_map))
    outputs = call(ctx, OutputSet, targets, overwrite=overwrite)
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
    writes = count_write_stages(by_province=by_province, with_map=final_map is not None)
    progress = Progress(verbosity, count_stages(options) + writes)
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
        access=options,
        on_stage=progress,
    )
    from ..pipeline.scores import apply_scores

    call(
        ctx,
        apply_scores,
        result,
        access_score=access_score,
        thresholds_km=within_km,
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
                synthetic=is_sample,
                on_stage=progress,
                track=progress.track,
            )

    written = call(ctx, write)
    if verbosity >= 0:
        click.echo(printable(format_summary(result.summary, lang=lang)))
        shown = [p for p in written if "by_province" not in p.parts]
        echo_outputs(shown)
        if len(shown) < len(written):
            n = len(written) - len(shown)
            click.echo(f"  … and {n} per-province files under {out_dir}/by_province")
