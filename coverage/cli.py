"""The ``coverage`` command line (click only: parse, call, report, exit codes).

Exit codes: 0 success, 1 runtime failure, 2 bad input or usage. Library errors
(:class:`coverage.errors.CoverageError`) become one-line messages; heavy libraries
are imported inside the commands so ``coverage --help`` starts fast.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .model import DEFAULT_PLAN_CELL_M
from .options import (
    access_opts,
    benchmark_opt,
    input_opts,
    kinds_opt,
    lang_opt,
    map_opts,
    map_path_opt,
    offline_map_opt,
    out_opt,
    overwrite_opt,
)

__all__ = ["main"]

logger = logging.getLogger("coverage")


class CommandError(click.ClickException):
    """A library error shown as ``Error: message`` with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        from .output.report import printable

        super().__init__(printable(message))
        self.exit_code = exit_code


def _translate(ctx: click.Context, exc: BaseException) -> click.ClickException:
    from .errors import CoverageError

    if isinstance(exc, CoverageError):
        return CommandError(str(exc), exc.exit_code)
    if isinstance(exc, MemoryError):
        return CommandError(
            "out of memory; try a coarser --cell-m or run province by province", 1
        )
    verbose = (ctx.find_root().obj or {}).get("verbosity", 0)
    if verbose > 0:
        traceback.print_exception(exc, file=sys.stderr)
    detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return CommandError(
        f"unexpected failure ({detail}); run again with -v for details and report it",
        1,
    )


def _call(ctx: click.Context, func, *args, **kwargs):
    """Run ``func`` and turn any failure into a clean click error."""
    try:
        return func(*args, **kwargs)
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("Interrupted: previous outputs were left unchanged.", err=True)
        ctx.exit(130)
    except Exception as exc:  # every failure must end as a message, not a traceback
        raise _translate(ctx, exc) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.option(
    "-q", "--quiet", count=True, help="Less output (no summary, no progress)."
)
@click.version_option(__version__, prog_name="coverage-planner")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int) -> None:
    """Coverage of postal and public service points: metrics, gaps, maps, plans.

    \b
    Start with the bundled synthetic sample:
        coverage analyze                  metrics, distances, gaps, maps/coverage.html
        coverage plan --add 10            where 10 new points help most
    Then your own data:
        coverage validate -b communes.gpkg -p points.csv
        coverage analyze -b communes.gpkg -p points.csv --out results --lang vi
        coverage map --from results --offline-map
        coverage benchmarks
    """
    verbosity = verbose - quiet
    ctx.obj = {"verbosity": verbosity}
    logging.basicConfig(
        stream=sys.stderr,
        level=max(logging.DEBUG, logging.WARNING - 10 * verbosity),
        format="%(levelname)s: %(message)s",
    )


def _resolve_inputs(
    ctx: click.Context, boundaries: str | None, points: str | None
) -> tuple[str, str, bool]:
    from .pipeline import find_sample

    if boundaries is None and points is None:
        sample = find_sample()
        if sample is None:
            raise click.UsageError(
                "no --boundaries/--points given and the bundled sample (data/) was "
                "not found; run from the project folder or pass both files",
                ctx=ctx,
            )
        return str(sample[0]), str(sample[1]), True
    if boundaries is None or points is None:
        missing = "--boundaries" if boundaries is None else "--points"
        raise click.UsageError(f"{missing} is needed too", ctx=ctx)
    return boundaries, points, False


class _Progress:
    """Stage lines on stderr (``[  1.2 s] distances ...``); silent with -q."""

    def __init__(self, verbosity: int, total: int | None = None) -> None:
        import time

        self._clock = time.perf_counter
        self.t0 = self._clock()
        self.enabled = verbosity >= 0
        self.total = total
        self.done = 0

    def __call__(self, name: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        step = ""
        if self.total:
            width = len(str(self.total))
            step = f"{min(self.done, self.total):>{width}}/{self.total} "
        click.echo(f"[{step}{self._clock() - self.t0:6.1f} s] {name} …", err=True)

    def items(self, iterable, *, label: str, length: int):
        """Iterate with a progress bar on stderr (plain iteration when quiet)."""
        if not self.enabled:
            return contextlib.nullcontext(iterable)
        return click.progressbar(
            iterable, length=length, label=label, file=sys.stderr, show_pos=True
        )


def _access_options(
    no_access: bool,
    cell_m: float,
    within_km: tuple[float, ...] | None,
    zones_km: float | None,
    population_raster: str | None,
    settlements: str | None = None,
    no_rescale: bool = False,
):
    from .pipeline import AccessOptions

    return AccessOptions(
        enabled=not no_access,
        cell_m=cell_m,
        thresholds_km=within_km,
        zone_threshold_km=zones_km,
        raster=population_raster,
        settlements=settlements,
        rescale=not no_rescale,
    )


def _echo_outputs(written: list[Path]) -> None:
    click.echo("Outputs:")
    for path in written:
        click.echo(f"  {path}")


@main.command()
@input_opts
@benchmark_opt
@out_opt("out", "Folder for the CSV, JSON and GeoPackage outputs.")
@map_opts()
@kinds_opt
@access_opts
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
    """
    from .benchmarks import load_benchmark
    from .output.files import OutputSet
    from .output.report import format_summary, printable
    from .pipeline import analyze as run_analysis
    from .pipeline import (
        count_stages,
        output_targets,
        province_map_path,
        province_targets,
        split_by_province,
        write_outputs,
        write_province_map,
        write_province_outputs,
    )

    verbosity = ctx.obj["verbosity"]
    boundaries, points, is_sample = _resolve_inputs(ctx, boundaries, points)
    bench = _call(ctx, load_benchmark, benchmark)
    final_map = None if no_map else map_path
    targets = output_targets(out_dir, final_map)
    if by and final_map is not None:
        targets.append(province_map_path(final_map))
    outputs = _call(ctx, OutputSet, targets, overwrite=overwrite)
    if by and (Path(out_dir) / "by_province").exists() and not overwrite:
        raise CommandError(
            f"{Path(out_dir) / 'by_province'}: output exists already; pass "
            "--overwrite to replace it or choose another --out folder",
            2,
        )
    options = _access_options(
        no_access,
        cell_m,
        within_km,
        zones_km,
        population_raster,
        settlements,
        no_rescale,
    )
    extra = 1 + (2 if by and final_map is not None else 1 if by else 0)
    progress = _Progress(verbosity, count_stages(options) + extra)
    result = _call(
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
    title = _map_title(boundaries, bench.name, is_sample=is_sample, lang=lang)

    def write() -> list[Path]:
        with outputs:
            if by:
                map_dir = None if final_map is None else Path(final_map).parent
                per_province = province_targets(
                    result,
                    out_dir,
                    None if map_dir is None else map_dir / "by_province",
                )
                outputs.add(f for files in per_province.values() for f in files)
                parts = split_by_province(result)
                progress(f"writing {len(parts)} province(s)")
                with progress.items(
                    parts.items(), label="provinces", length=len(parts)
                ) as bar:
                    for name, part in bar:
                        write_province_outputs(
                            part,
                            outputs,
                            per_province[name],
                            lang=lang,
                            title=f"{name} — {title}",
                            offline_map=offline_map,
                            synthetic=is_sample,
                        )
                if final_map is not None:
                    progress("national map of provinces")
                    path = province_map_path(final_map)
                    write_province_map(
                        result,
                        outputs.path(path),
                        lang=lang,
                        title=title,
                        offline=offline_map,
                        synthetic=is_sample,
                    )
            progress("writing tables" + (" and the map" if final_map else ""))
            return write_outputs(
                result,
                outputs,
                out_dir,
                lang=lang,
                map_path=final_map,
                map_title=title,
                offline_map=offline_map,
                synthetic=is_sample,
            )

    written = _call(ctx, write)
    if verbosity >= 0:
        click.echo(printable(format_summary(result.summary, lang=lang)))
        shown = [p for p in written if "by_province" not in p.parts]
        _echo_outputs(shown)
        if len(shown) < len(written):
            n = len(written) - len(shown)
            click.echo(f"  … and {n} per-province files under {out_dir}/by_province")


def _map_title(boundaries: str, benchmark: str, *, is_sample: bool, lang: str) -> str:
    from .pipeline import map_title

    return map_title(Path(boundaries).name, benchmark, synthetic=is_sample, lang=lang)


@main.command("map")
@click.option(
    "--from",
    "from_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder of a previous `coverage analyze` (or `coverage plan`).",
)
@map_path_opt()
@offline_map_opt
@click.option(
    "--proposed",
    type=click.Path(dir_okay=False),
    help="Proposed points to show (proposed_points.csv of `coverage plan`); "
    "default: the ones in the folder, if any.",
)
@lang_opt
@overwrite_opt
@click.pass_context
def map_(
    ctx: click.Context,
    from_dir: str,
    map_path: str,
    offline_map: bool,
    proposed: str | None,
    lang: str,
    overwrite: bool,
) -> None:
    """Redraw the gap map from a previous run's outputs, without recomputing.

    Reads FROM/coverage.gpkg and FROM/summary.json (and the proposals of a plan,
    when present), so the language or the offline mode can change in a second.

    \b
    Examples:
        coverage map --from out --lang vi --map maps/ban_do.html
        coverage map --from out/plan --map maps/plan.html --overwrite
    """
    from .output.files import OutputSet
    from .pipeline import redraw_map

    outputs = _call(ctx, OutputSet, [Path(map_path)], overwrite=overwrite)

    def run() -> list[Path]:
        with outputs:
            redraw_map(
                from_dir,
                outputs.path(Path(map_path)),
                lang=lang,
                offline=offline_map,
                proposed_path=proposed,
            )
            return outputs.commit()

    written = _call(ctx, run)
    if ctx.obj["verbosity"] >= 0:
        _echo_outputs(written)


@main.command()
@input_opts
@benchmark_opt
@click.option(
    "--add",
    "-k",
    type=click.IntRange(min=1),
    help="Number of new points: place them where they bring the most people "
    "within the coverage distance.",
)
@click.option(
    "--target",
    help="Fewest new points meeting a rule: 'all' (every populated cell within "
    "the distance), a share such as '95%', or 'communes' (every commune with a "
    "point).",
)
@click.option(
    "--radius-km",
    type=float,
    help="Coverage distance [default: the benchmark radius, e.g. 2.9 km, or its "
    "first distance rule].",
)
@click.option(
    "--candidates",
    type=click.Path(dir_okay=False),
    help="Candidate sites (CSV with lat/lon or a point layer) instead of generated "
    "ones.",
)
@click.option(
    "--candidate-source",
    type=click.Choice(["cells", "centres", "settlements"]),
    default="cells",
    show_default=True,
    help="Generated candidates: populated grid cells, one point per commune, or "
    "the villages of --settlements.",
)
@click.option(
    "--settlements",
    type=click.Path(dir_okay=False),
    help="Villages/hamlets with population (CSV with lat/lon and population): "
    "they place the demand, and can be the candidates.",
)
@click.option(
    "--max-candidates",
    type=click.IntRange(min=1),
    default=3000,
    show_default=True,
    help="Most generated candidate cells (the most populated cell per block).",
)
@click.option(
    "--exclude",
    type=click.Path(dir_okay=False),
    help="Polygons where no new point may go (GeoJSON, GPKG, Shapefile).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "exact", "greedy"]),
    default="auto",
    show_default=True,
    help="exact: MILP (HiGHS) with a time limit; greedy: lazy greedy with a "
    "proven bound; auto: exact unless the instance is very large.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Solver time limit in seconds.",
)
@out_opt("out/plan", "Folder for proposed_points.csv, before_after.csv and plan.json.")
@map_opts("maps/plan.html", "Map with the proposed points.")
@kinds_opt
@click.option(
    "--cell-m",
    type=click.FloatRange(min=1.0),
    default=DEFAULT_PLAN_CELL_M,
    show_default=True,
    help="Population grid cell size in metres (the demand of the optimiser; "
    "500 m keeps exact solutions fast for radii of 2 km and more).",
)
@lang_opt
@overwrite_opt
@click.pass_context
def plan(
    ctx: click.Context,
    boundaries: str | None,
    points: str | None,
    columns: dict[str, str],
    crs: str | None,
    points_crs: str | None,
    population_table: str | None,
    fix_invalid: bool,
    benchmark: str,
    add: int | None,
    target: str | None,
    radius_km: float | None,
    candidates: str | None,
    candidate_source: str,
    settlements: str | None,
    max_candidates: int,
    exclude: str | None,
    method: str,
    time_limit: float,
    out_dir: str,
    map_path: str,
    no_map: bool,
    offline_map: bool,
    kinds: tuple[str, ...] | None,
    cell_m: float,
    lang: str,
    overwrite: bool,
) -> None:
    """Choose where to add service points, keeping every existing one.

    --add K places K new points where they bring the most people within the
    coverage distance (maximal covering); --target RULE finds the fewest new
    points that meet a rule (set covering). Solved exactly with HiGHS within
    --time-limit, or by a lazy greedy that reports the gap it can prove; the
    status says which. Writes proposed_points.csv (rank, lat/lon, commune, newly
    covered and running total population), before_after.csv (per commune: points,
    radius, people per point and share within the distance, before and after),
    plan.json, plan.gpkg and a map with the proposals.

    \b
    Examples:
        coverage plan --add 10
        coverage plan --target 95% --radius-km 5
        coverage plan -b xa.gpkg -p diem.csv --target communes
        coverage plan --add 20 --candidates sites.csv --exclude protected.gpkg
    """
    from .benchmarks import load_benchmark
    from .output.files import OutputSet
    from .pipeline import (
        AccessOptions,
        count_stages,
        plan_targets,
        run_plan,
        write_plan,
    )
    from .pipeline import analyze as run_analysis

    if (add is None) == (target is None):
        raise click.UsageError("give exactly one of --add K or --target RULE", ctx=ctx)
    if candidate_source == "settlements" and settlements is None:
        raise click.UsageError(
            "--candidate-source settlements needs --settlements FILE", ctx=ctx
        )
    verbosity = ctx.obj["verbosity"]
    boundaries, points, is_sample = _resolve_inputs(ctx, boundaries, points)
    bench = _call(ctx, load_benchmark, benchmark)
    final_map = None if no_map else map_path
    outputs = _call(
        ctx, OutputSet, plan_targets(out_dir, final_map), overwrite=overwrite
    )
    plan_access = AccessOptions(
        cell_m=cell_m, catchments=False, settlements=settlements
    )
    progress = _Progress(verbosity, count_stages(plan_access) + 3)
    analysis = _call(
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
        access=plan_access,
        on_stage=progress,
    )
    run = _call(
        ctx,
        run_plan,
        analysis,
        add=add,
        target=target,
        radius_km=radius_km,
        candidates_path=candidates,
        candidate_source=candidate_source,
        settlements_path=settlements,
        max_candidates=max_candidates,
        exclude_path=exclude,
        columns=columns,
        kinds=kinds,
        cell_m=cell_m,
        time_limit_s=time_limit,
        method=method,
        on_stage=progress,
    )
    title = _map_title(boundaries, bench.name, is_sample=is_sample, lang=lang)

    def write() -> list[Path]:
        with outputs:
            progress("writing the plan")
            return write_plan(
                analysis,
                run,
                outputs,
                out_dir,
                lang=lang,
                map_path=final_map,
                map_title=title,
                offline_map=offline_map,
                synthetic=is_sample,
            )

    written = _call(ctx, write)
    if verbosity >= 0:
        from .output.report import format_plan, printable

        click.echo(printable(format_plan(run.summary, run.proposed, lang=lang)))
        _echo_outputs(written)


@main.command()
@click.pass_context
def benchmarks(ctx: click.Context) -> None:
    """List the benchmark profiles shipped with the tool, with values and sources.

    \b
    Example:
        coverage benchmarks
        coverage analyze --benchmark vn-strategy-2025
    """
    from .benchmarks import list_benchmarks

    for bench in _call(ctx, list_benchmarks):
        click.echo(f"{bench.name}")
        click.echo(f"    {bench.title}")
        values = []
        if bench.radius_km is not None:
            values.append(f"radius ≤ {bench.radius_km:g} km")
        if bench.people_per_point is not None:
            values.append(f"people per point ≤ {bench.people_per_point:,.0f}")
        if bench.require_staffed:
            values.append("every commune has a staffed point")
        for rule in bench.distance_rules:
            scope = "" if rule.scope == "all" else f" ({rule.scope} population)"
            values.append(f"{rule.min_share:.1%} within {rule.distance_km:g} km{scope}")
        click.echo(f"    values: {'; '.join(values) or '—'}")
        for source in bench.sources:
            click.echo(f"    source: {source}")


@main.command()
@input_opts
@click.pass_context
def validate(
    ctx: click.Context,
    boundaries: str | None,
    points: str | None,
    columns: dict[str, str],
    crs: str | None,
    points_crs: str | None,
    population_table: str | None,
    fix_invalid: bool,
) -> None:
    """Check both input layers and report every problem at once.

    Each line names the file, the row or feature, the problem and the fix.
    Exits with 2 when any problem is fatal (``coverage analyze`` would stop),
    0 otherwise; warnings (points outside every commune, ...) do not fail.

    \b
    Examples:
        coverage validate -b xa.gpkg -p buu_cuc.csv
        coverage validate -b xa.shp -p points.csv --crs EPSG:32648 --fix-invalid
    """
    from .output.report import printable
    from .validate import check_inputs

    verbosity = ctx.obj["verbosity"]
    boundaries, points, _ = _resolve_inputs(ctx, boundaries, points)
    report = _call(
        ctx,
        check_inputs,
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
    )
    for problem in report.fatal:
        click.echo(printable(f"error: {problem}"))
    for warning in report.warnings:
        click.echo(printable(f"warning: {warning}"))
    if verbosity >= 0:
        for note in report.reading_notes:
            click.echo(printable(f"note: {note}"))
    click.echo(report.summary())
    ctx.exit(2 if report.fatal else 0)
