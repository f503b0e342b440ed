"""``coverage validate``: check both input layers, report every problem."""

from __future__ import annotations

import click

from .helpers import resolve_inputs
from .main import call
from .options import input_opts, snap_opt

__all__ = ["validate"]


@click.command()
@input_opts
@snap_opt
@click.pass_context
def validate(
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
    from ..output.report import printable
    from ..validate import check_inputs

    verbosity = ctx.obj["verbosity"]
    boundaries, points, _ = resolve_inputs(ctx, boundaries, points)
    report = call(
        ctx,
        check_inputs,
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
        layer=layer,
        points_layer=points_layer,
        snap_m=snap_m,
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
