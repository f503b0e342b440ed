"""``coverage plan``: where to add service points, keeping the existing ones."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ..model import DEFAULT_PLAN_CELL_M
from .helpers import (
    Progress,
    default_map_path,
    echo_outputs,
    guard_run,
    input_paths,
    map_title_for,
    resolve_inputs,
)
from .main import call
from .options import (
    benchmark_opt,
    finite_seconds,
    input_opts,
    kinds_opt,
    lang_opt,
    map_opts,
    out_opt,
    overwrite_opt,
    siting_opts,
    snap_opt,
    travel_options,
)

__all__ = ["plan"]


@click.command()
@input_opts
@snap_opt
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
    help="Most populated candidate cells offered (the most populated cell per "
    "block); for --add/--target, cells are added so every populated cell is "
    "within reach of a candidate or an existing point (reported in the detail).",
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
    type=float,
    callback=finite_seconds,
    default=60.0,
    show_default=True,
    help="Time limit of the whole solve in seconds.",
)
@siting_opts("plan")
@out_opt("out/plan", "Folder for proposed_points.csv, before_after.csv and plan.json.")
@map_opts(
    None,
    "Map with the proposed points [default: maps/<name of the --out folder>.html, "
    "maps/plan.html for --out out/plan].",
)
@kinds_opt
@click.option(
    "--cell-m",
    type=click.FloatRange(min=1.0),
    default=DEFAULT_PLAN_CELL_M,
    show_default=True,
    help="Population grid cell size in metres (the demand of the optimiser; "
    "500 m keeps exact solutions fast for radii of 2 km and more).",
)
@travel_options
@lang_opt
@overwrite_opt
@click.pass_context
def plan(
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
    add: int | None,
    target: str | None,
    radius_km: float | None,
    candidates: str | None,
    candidate_source: Literal["cells", "centres", "settlements"],
    settlements: str | None,
    max_candidates: int,
    exclude: str | None,
    method: Literal["auto", "exact", "greedy"],
    time_limit: float,
    objective: str | None,
    capacity_column: str | None,
    respect_capacity: bool,
    new_capacity: float | None,
    out_dir: str,
    map_path: str | None,
    no_map: bool,
    offline_map: bool,
    tiles: str | None,
    whatif: bool | None,
    kinds: tuple[str, ...] | None,
    cell_m: float,
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
    lang: str,
    overwrite: bool,
) -> None:
    """Choose where to add service points, keeping every existing one.

    --add K places K new points where they bring the most people within the
    coverage distance (maximal covering); --target RULE finds the fewest new
    points that meet a rule (set covering). Solved exactly with HiGHS within
    --time-limit, or by a lazy greedy that reports the gap it can prove; the
    status says which. --objective median minimises the population-weighted
    mean distance sum P_i d_i / sum P_i with --add K new points (p-median: the
    shortest average trip); center minimises the largest distance max d_i
    (p-center: nobody very far); cover and count are --add and --target. With
    --respect-capacity each point serves at most its capacity (capacitated
    covering). Writes proposed_points.csv (rank, lat/lon, commune, newly
    covered and running total population), before_after.csv (per commune: points,
    radius, people per point and share within the distance, before and after),
    plan.json, plan.gpkg and a map with the proposals.

    \b
    Examples:
        coverage plan --add 10
        coverage plan --target 95% --radius-km 5
        coverage plan -b xa.gpkg -p diem.csv --target communes
        coverage plan --add 20 --candidates sites.csv --exclude protected.gpkg
        coverage plan --add 10 --roads data/roads/roads.gpkg --within-min 30
        coverage plan --add 5 --objective median
        coverage plan --add 5 --respect-capacity --capacity-column so_quay
    """
    from ..benchmarks import load_benchmark
    from ..model import AccessOptions, TravelOptions
    from ..output.files import OutputSet
    from ..output.write import (
        count_write_stages,
        is_mbtiles,
        map_tiles_dir,
        plan_targets,
        write_plan,
    )
    from ..pipeline import analyze as run_analysis
    from ..pipeline import count_plan_stages, count_stages, run_plan

    if (add is None) == (target is None):
        raise click.UsageError("give exactly one of --add K or --target RULE", ctx=ctx)
    if candidate_source == "settlements" and settlements is None:
        raise click.UsageError(
            "--candidate-source settlements needs --settlements FILE", ctx=ctx
        )
    _check_objective(ctx, objective, add=add, target=target, capacity=respect_capacity)
    if capacity_column is not None:
        columns = {**columns, "capacity": capacity_column}
    verbosity = ctx.obj["verbosity"]
    boundaries, points, is_sample = resolve_inputs(ctx, boundaries, points)
    final_map = None if no_map else Path(map_path or default_map_path(out_dir))
    targets = [("--out", t) for t in plan_targets(out_dir, None)]
    if final_map is not None:
        targets.append(("--map", final_map))
        tiles_dir = map_tiles_dir(final_map, tiles)
        if tiles_dir is not None:
            targets.append(("--tiles", tiles_dir))
    inputs = input_paths(
        tiles=tiles if is_mbtiles(tiles) else None,
        boundaries=boundaries,
        points=points,
        population_table=population_table,
        settlements=settlements,
        candidates=candidates,
        exclude=exclude,
        benchmark=benchmark,
    )
    guard_run(ctx, targets=targets, inputs=inputs)
    bench = call(ctx, load_benchmark, benchmark)
    outputs = call(
        ctx,
        OutputSet,
        [t for _, t in targets],
        overwrite=overwrite,
        options={t: o for o, t in targets},
    )
    plan_access = AccessOptions(
        cell_m=cell_m, catchments=False, settlements=settlements
    )
    if within_min is not None and len(within_min) > 1:
        raise click.UsageError(
            "coverage plan takes one --within-min time (e.g. 30)", ctx=ctx
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
    stages = (
        count_stages(plan_access, travel) + count_plan_stages() + count_write_stages()
    )
    progress = Progress(verbosity, stages)
    analysis = call(
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
        access=plan_access,
        on_stage=progress,
        travel=travel,
    )
    run = call(
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
        time_limit_s=time_limit,
        method=method,
        on_stage=progress,
        within_min=within_min[0] if within_min else None,
        objective=objective,
        respect_capacity=respect_capacity,
        new_capacity=new_capacity,
    )
    title = map_title_for(boundaries, bench.name, is_sample=is_sample, lang=lang)

    def write() -> list[Path]:
        with outputs:
            return write_plan(
                analysis,
                run,
                outputs,
                out_dir,
                lang=lang,
                map_path=final_map,
                map_title=title,
                offline_map=offline_map,
                tiles=tiles,
                whatif=whatif,
                synthetic=is_sample,
                on_stage=progress,
            )

    written = call(ctx, write)
    if verbosity >= 0:
        from ..output.report import format_plan, printable

        click.echo(printable(format_plan(run.summary, run.proposed, lang=lang)))
        echo_outputs(written, lang=lang)


def _check_objective(
    ctx: click.Context,
    objective: str | None,
    *,
    add: int | None,
    target: str | None,
    capacity: bool,
) -> None:
    needs = {"cover": "--add K", "count": "--target RULE", "median": "--add K"}
    needs["center"] = "--add K"
    if objective is not None and (add is None) == (needs[objective] == "--add K"):
        raise click.UsageError(
            f"--objective {objective} needs {needs[objective]}", ctx=ctx
        )
    if capacity and (add is None or objective not in (None, "cover")):
        raise click.UsageError(
            "--respect-capacity is capacitated covering: use it with --add K "
            "(objective cover)",
            ctx=ctx,
        )
