"""The ``coverage`` command line (click only: parse, call, report, exit codes).

Exit codes: 0 success, 1 runtime failure, 2 bad input or usage. Library errors
(:class:`coverage.errors.CoverageError`) become one-line messages; heavy libraries
are imported inside the commands so ``coverage --help`` starts fast.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .options import (
    benchmark_opt,
    input_opts,
    lang_opt,
    overwrite_opt,
    parse_kinds,
)

__all__ = ["main"]

logger = logging.getLogger("coverage")


class CommandError(click.ClickException):
    """A library error shown as ``Error: message`` with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
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
        coverage analyze
    Then your own data:
        coverage analyze -b communes.gpkg -p points.csv --out results
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


@main.command()
@input_opts
@benchmark_opt
@click.option(
    "--out",
    "-o",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the CSV, JSON and GeoPackage outputs.",
)
@click.option(
    "--map",
    "map_path",
    default="maps/coverage.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the interactive HTML map.",
)
@click.option("--no-map", is_flag=True, help="Do not write the map.")
@click.option(
    "--kinds",
    callback=parse_kinds,
    help="Comma-separated point kinds that count as service points "
    "(default: all, as in the national statistics).",
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
    fix_invalid: bool,
    benchmark: str,
    out_dir: str,
    map_path: str,
    no_map: bool,
    kinds: tuple[str, ...] | None,
    lang: str,
    overwrite: bool,
) -> None:
    """Compute postal benchmark metrics per commune, district and province.

    Loads a commune layer (polygons with population) and service points, assigns
    points to communes, and writes to --out: communes.csv, districts.csv and
    provinces.csv (when those levels exist), gaps.csv (failing communes ranked by
    people affected), points_outside.csv, summary.json and coverage.gpkg; plus an
    interactive map (default maps/coverage.html). With no arguments it runs on the
    bundled synthetic sample.

    \b
    Examples:
        coverage analyze
        coverage analyze -b xa.gpkg -p buu_cuc.csv -B vn-strategy-2025 --lang vi
        coverage analyze -b gadm41_VNM_3.shp -p points.csv \\
            -c population=DS_2019 -c commune_code=GID_3 --out ket_qua --overwrite
    """
    from .benchmarks import load_benchmark
    from .export import OutputSet
    from .pipeline import analyze as run_analysis
    from .pipeline import output_targets, write_outputs
    from .report import format_summary

    verbosity = ctx.obj["verbosity"]
    boundaries, points, is_sample = _resolve_inputs(ctx, boundaries, points)
    bench = _call(ctx, load_benchmark, benchmark)
    final_map = None if no_map else map_path
    outputs = _call(
        ctx, OutputSet, output_targets(out_dir, final_map), overwrite=overwrite
    )

    def on_stage(name: str) -> None:
        if verbosity >= 0:
            click.echo(f"… {name}", err=True)

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
        on_stage=on_stage,
    )
    title = _map_title(boundaries, bench.name, is_sample=is_sample, lang=lang)

    def write() -> list[Path]:
        with outputs:
            return write_outputs(
                result,
                outputs,
                out_dir,
                lang=lang,
                map_path=final_map,
                map_title=title,
            )

    on_stage("writing outputs")
    written = _call(ctx, write)
    if verbosity >= 0:
        click.echo(format_summary(result.summary, lang=lang))
        click.echo("Outputs:")
        for path in written:
            click.echo(f"  {path}")


def _map_title(boundaries: str, benchmark: str, *, is_sample: bool, lang: str) -> str:
    name = Path(boundaries).name
    if lang == "vi":
        title = f"Mạng điểm phục vụ — {name} — chỉ tiêu {benchmark}"
        return title + (" — DỮ LIỆU MẪU TỔNG HỢP (không có thật)" if is_sample else "")
    title = f"Service-point coverage — {name} — benchmark {benchmark}"
    return title + (" — SYNTHETIC sample data (not real)" if is_sample else "")


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
    )
    for problem in report.fatal:
        click.echo(f"error: {problem}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
    if verbosity >= 0:
        for note in report.reading_notes:
            click.echo(f"note: {note}")
    click.echo(report.summary())
    ctx.exit(2 if report.fatal else 0)
