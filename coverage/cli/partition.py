"""``coverage partition``: one GeoParquet of communes per province, for workers."""

from __future__ import annotations

from pathlib import Path

import click

from .helpers import echo_outputs, guard_run, input_paths, resolve_inputs
from .main import BadInputError, call
from .options import input_opts, out_opt, overwrite_opt

__all__ = ["partition"]


@click.command()
@input_opts
@out_opt("parts", "Partition folder (communes/<province>.parquet, manifest.json).")
@overwrite_opt
@click.pass_context
def partition(
    ctx: click.Context,
    boundaries: str | None,
    points: str | None,
    columns: dict[str, str],
    crs: str | None,
    points_crs: str | None,
    population_table: str | None,
    fix_invalid: bool,
    layer: str | None,
    points_layer: str | None,
    out_dir: str,
    overwrite: bool,
) -> None:
    """Split the validated communes by province for `coverage analyze --scheduler`.

    Writes OUT/communes/<province>.parquet (GeoParquet: the province's communes
    and the neighbouring communes a worker needs) and OUT/manifest.json. Put the
    folder where every Dask worker can read it and pass it as --parts; the run
    checks that the partition matches its --boundaries. Needs the dask extra
    (pyarrow): pip install 'coverage-planner[dask]'.

    \b
    Examples:
        coverage partition -b /shared/xa.gpkg -p /shared/diem.csv --out /shared/parts
        coverage analyze -b /shared/xa.gpkg -p /shared/diem.csv --by province \\
            --scheduler tcp://10.0.0.5:8786 --parts /shared/parts
    """
    from ..distributed import require_dask
    from ..distributed.partition import partition_targets, write_partition
    from ..output.files import OutputSet
    from ..pipeline.analyze import load_inputs

    verbosity = ctx.obj["verbosity"]
    boundaries, points, _ = resolve_inputs(ctx, boundaries, points)
    call(ctx, require_dask)
    inputs = input_paths(
        boundaries=boundaries, points=points, population_table=population_table
    )
    folder = Path(out_dir)
    guard_run(
        ctx,
        targets=[("--out", folder / "manifest.json"), ("--out", folder / "communes")],
        inputs=inputs,
    )
    if (Path(out_dir) / "communes").exists() and not overwrite:
        raise BadInputError(
            f"{Path(out_dir) / 'communes'}: output exists already; pass "
            "--overwrite to replace it or choose another --out folder"
        )
    communes, _, _ = call(
        ctx,
        load_inputs,
        boundaries,
        points,
        columns=columns,
        crs=crs,
        points_crs=points_crs,
        fix_invalid=fix_invalid,
        population_table=population_table,
        layer=layer,
        points_layer=points_layer,
    )
    targets = call(ctx, partition_targets, communes, out_dir)
    outputs = call(ctx, OutputSet, targets, overwrite=overwrite)

    def write() -> list[Path]:
        with outputs:
            write_partition(communes, outputs, out_dir)
            return outputs.commit()

    written = call(ctx, write)
    if verbosity >= 0:
        n = len(written) - 1
        click.echo(f"{len(communes):,} communes in {n} province file(s)")
        echo_outputs(written[:1])
        click.echo(f"  … and {n} province files under {Path(out_dir) / 'communes'}")
