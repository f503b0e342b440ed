"""``coverage map``: redraw the map of a previous run without recomputing."""

from __future__ import annotations

from pathlib import Path

import click

from .helpers import default_map_path, echo_outputs, guard_run, input_paths
from .main import call
from .options import lang_opt, map_path_opt, offline_map_opt, overwrite_opt, tiles_opt

__all__ = ["map_"]


@click.command("map")
@click.option(
    "--from",
    "from_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder of a previous `coverage analyze` (or `coverage plan`).",
)
@map_path_opt(
    None,
    "Where to write the map [default: maps/<name of the --from folder>.html; "
    "maps/coverage.html for --from out].",
)
@offline_map_opt
@tiles_opt
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
    map_path: str | None,
    offline_map: bool,
    tiles: str | None,
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
    from ..output.files import OutputSet
    from ..output.write import is_mbtiles, map_tiles_dir, redraw_map

    target = Path(map_path or default_map_path(from_dir))
    mbtiles = tiles if is_mbtiles(tiles) else None
    inputs = input_paths(**{"from": from_dir, "proposed": proposed, "tiles": mbtiles})
    targets = [("--map", target)]
    tiles_dir = map_tiles_dir(target, tiles)
    if tiles_dir is not None:
        targets.append(("--tiles", tiles_dir))
    guard_run(ctx, targets=targets, inputs=inputs)
    outputs = call(
        ctx,
        OutputSet,
        [t for _, t in targets],
        overwrite=overwrite,
        options={t: o for o, t in targets},
    )

    def run() -> list[Path]:
        with outputs:
            redraw_map(
                from_dir,
                outputs.path(target),
                lang=lang,
                offline=offline_map,
                proposed_path=proposed,
                tiles=tiles,
            )
            if tiles_dir is not None:
                outputs.path(tiles_dir)  # unpacked beside the map
            return outputs.commit()

    written = call(ctx, run)
    if ctx.obj["verbosity"] >= 0:
        echo_outputs(written, lang=lang)
