"""Options shared by the ``coverage`` commands (click decorators).

=================  ==================================  =========================
option             meaning                             used by
=================  ==================================  =========================
--boundaries       commune layer (polygons, population) analyze, validate, plan
--points           service-point layer (CSV or GIS)    analyze, validate, plan
--benchmark        profile name or TOML path           analyze, map, plan
--column KEY=COL   source column for a canonical one   analyze, validate, plan
--layer            layer of a multi-layer commune file analyze, validate, plan
--points-layer     layer of a multi-layer points file  analyze, validate, plan
--crs/--points-crs CRS for a layer that declares none  analyze, validate, plan
--kinds            point kinds that count              analyze, plan
--snap-m           snap points just outside a commune  analyze, validate, plan
--out              output folder                       analyze, plan
--lang             en or vi                            analyze, map, plan
--overwrite        replace existing outputs            analyze, map, plan
--scheduler        Dask scheduler or local[:N]         analyze
--parts            partition folder of the workers     analyze
=================  ==================================  =========================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ..model import DEFAULT_CELL_M

#: A click command function being decorated (click's own ``FC``).
_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "access_opts",
    "benchmark_opt",
    "finite_seconds",
    "input_opts",
    "kinds_opt",
    "lang_opt",
    "map_opts",
    "map_path_opt",
    "offline_map_opt",
    "out_opt",
    "overwrite_opt",
    "parse_columns",
    "parse_kinds",
    "parse_km_list",
    "parse_min_list",
    "parse_road_columns",
    "scheduler_opts",
    "siting_opts",
    "snap_opt",
    "tiles_opt",
    "travel_options",
    "whatif_opt",
]

KIND_CHOICES = (
    "post_office",
    "culture_post",
    "agent",
    "letter_box",
    "delivery",
    "other",
)


def _stack(func: _F, decorators: Sequence[Callable[[_F], _F]]) -> _F:
    for dec in reversed(decorators):
        func = dec(func)
    return func


def parse_columns(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """Turn repeated ``--column KEY=NAME`` into a dict, or raise BadParameter."""
    mapping: dict[str, str] = {}
    for item in values:
        key, sep, name = item.partition("=")
        if not sep or not key.strip() or not name.strip():
            msg = f"{item!r} is not KEY=COLUMN (e.g. population=DS_2019)"
            raise click.BadParameter(msg, ctx=ctx, param=param)
        mapping[key.strip()] = name.strip()
    return mapping


def parse_road_columns(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """Turn repeated ``--roads-column class=COL`` / ``speed=COL`` into a dict."""
    mapping = parse_columns(ctx, param, values)
    unknown = sorted(set(mapping) - {"class", "speed"})
    if unknown:
        msg = f"unknown key(s) {', '.join(unknown)}: use class=COLUMN or speed=COLUMN"
        raise click.BadParameter(msg, ctx=ctx, param=param)
    return mapping


def parse_kinds(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """Split ``--kinds a,b`` and check every name."""
    if not value:
        return None
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KIND_CHOICES]
    if unknown:
        choices = ", ".join(KIND_CHOICES)
        msg = f"unknown kind(s) {', '.join(unknown)}; choose from {choices}"
        raise click.BadParameter(msg, ctx=ctx, param=param)
    return kinds


def input_opts(func: _F) -> _F:
    """Add the options naming the input layers, their columns, CRSs and fixes."""
    decorators = [
        click.option(
            "--boundaries",
            "-b",
            type=click.Path(dir_okay=True),
            help="Commune layer: GeoJSON, GeoPackage, Shapefile (.shp or .zip). "
            "Default: the bundled sample.",
        ),
        click.option(
            "--points",
            "-p",
            type=click.Path(dir_okay=False),
            help="Service points: CSV with lat/lon, GeoJSON, GeoPackage, Shapefile. "
            "Default: the bundled sample.",
        ),
        click.option(
            "--column",
            "-c",
            "columns",
            multiple=True,
            callback=parse_columns,
            metavar="KEY=COLUMN",
            help="Name a source column: population=DS_2019, commune_code=MA, "
            "lat=Y, kind=LOAI ... (repeatable).",
        ),
        click.option(
            "--layer",
            help="Layer of the commune file to read, when it holds several "
            "(GeoPackage, folder of Shapefiles).",
        ),
        click.option(
            "--points-layer",
            help="Layer of the points file to read, when it holds several.",
        ),
        click.option("--crs", help="CRS of the commune layer if it declares none."),
        click.option(
            "--points-crs",
            help="CRS of the points if they declare none (CSV default EPSG:4326).",
        ),
        click.option(
            "--population-table",
            type=click.Path(dir_okay=False),
            help="CSV of commune code and population, joined to a commune layer "
            "without population (e.g. GADM) on the code.",
        ),
        click.option(
            "--fix-invalid",
            is_flag=True,
            help="Repair invalid commune geometries instead of stopping.",
        ),
    ]
    return _stack(func, decorators)


benchmark_opt = click.option(
    "--benchmark",
    "-B",
    default="vn-national-2024",
    show_default=True,
    help="Benchmark profile name (see `coverage benchmarks`) or a TOML file.",
)
lang_opt = click.option(
    "--lang",
    type=click.Choice(["en", "vi"]),
    default="en",
    show_default=True,
    help="Language of the summary, CSV headers and map.",
)
overwrite_opt = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist already."
)


def _positive_list(
    ctx: click.Context,
    param: click.Parameter,
    value: str | None,
    *,
    unit: str,
    what: str,
    example: str,
) -> tuple[float, ...] | None:
    """Split ``2,3,5`` (each may end in ``unit``) into positive finite numbers."""
    if not value:
        return None
    out = []
    for item in value.replace(";", ",").split(","):
        text = item.strip().lower().removesuffix(unit).strip()
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if not number > 0 or number == float("inf"):
            msg = f"{item.strip()!r} is not a positive {what} (e.g. {example})"
            raise click.BadParameter(msg, ctx=ctx, param=param)
        out.append(number)
    return tuple(out) or None


def parse_km_list(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    """Split ``--within 2,3,5`` into positive kilometres, or raise BadParameter."""
    return _positive_list(
        ctx, param, value, unit="km", what="distance in km", example="2,3,5"
    )


def _positive(
    ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    if value is not None and not value > 0:
        raise click.BadParameter(
            f"must be positive, got {value:g}", ctx=ctx, param=param
        )
    return value


def finite_seconds(
    ctx: click.Context, param: click.Parameter, value: float | None
) -> float | None:
    """Accept a finite number of seconds of at least 0.1 (not nan, inf, 0 or less)."""
    if value is not None and not (math.isfinite(value) and value >= 0.1):
        msg = f"{value:g} is not a number of seconds of at least 0.1 (e.g. 60)"
        raise click.BadParameter(msg, ctx=ctx, param=param)
    return value


def access_opts(func: _F) -> _F:
    """Add --cell-m, --within, --zones-km, population source options, --no-access."""
    decorators = [
        click.option(
            "--cell-m",
            type=float,
            default=DEFAULT_CELL_M,
            show_default=True,
            callback=_positive,
            help="Population grid cell size in metres (coarser is faster; 500 for "
            "the whole country).",
        ),
        click.option(
            "--within",
            "within_km",
            callback=parse_km_list,
            metavar="KM[,KM...]",
            help="Distances to report the share of population within "
            "[default: the benchmark's distance rules, else 2,3,5].",
        ),
        click.option(
            "--zones-km",
            type=float,
            callback=_positive,
            help="Distance beyond which populated land is an uncovered zone "
            "[default: the benchmark's first distance rule, else 5 km].",
        ),
        click.option(
            "--population-raster",
            type=click.Path(dir_okay=False),
            help="Population raster (GeoTIFF, e.g. WorldPop) instead of spreading "
            "each commune's population evenly; scaled to the commune figures. "
            "Needs the raster extra: pip install 'coverage-planner[raster]'.",
        ),
        click.option(
            "--settlements",
            type=click.Path(dir_okay=False),
            help="Villages/hamlets with population (CSV with lat/lon and "
            "population, or a point layer) instead of spreading each commune's "
            "population evenly.",
        ),
        click.option(
            "--no-rescale",
            is_flag=True,
            help="Use raster or settlement populations as given instead of scaling "
            "them to each commune's population.",
        ),
        click.option(
            "--no-access",
            is_flag=True,
            help="Skip distances (population surface, zones, catchments).",
        ),
    ]
    return _stack(func, decorators)


def map_path_opt(
    default: str | None = "maps/coverage.html", help: str = ""
) -> Callable[[_F], _F]:
    """Return a --map PATH option with its own default (None: derived)."""
    return click.option(
        "--map",
        "map_path",
        default=default,
        show_default=default is not None,
        type=click.Path(dir_okay=False),
        help=help or "Where to write the interactive HTML map.",
    )


offline_map_opt = click.option(
    "--offline-map",
    is_flag=True,
    help="Inline Leaflet into the map so it opens without internet "
    "(background tiles still need a connection).",
)


tiles_opt = click.option(
    "--tiles",
    metavar="URL|FILE.mbtiles",
    help="Background of the map: a tile URL template (an intranet server, "
    "http://host/tiles/{z}/{x}/{y}.png) or a raster .mbtiles file, unpacked into "
    "<map name>_tiles/ next to the map so it opens without internet. Whatever the "
    "tiles, a light basemap drawn from the communes shows when none load.",
)

whatif_opt = click.option(
    "--whatif/--no-whatif",
    default=None,
    help="Let the planner add, drag and remove points in the map and see the "
    "figures change, and export the edited points as CSV [default: on up to "
    "300,000 population cells, about 6 MB more page].",
)


def map_opts(
    default: str | None = "maps/coverage.html", help: str = ""
) -> Callable[[_F], _F]:
    """Return a decorator adding --map, --no-map, --offline-map, --tiles, --whatif."""

    def decorate(func: _F) -> _F:
        return _stack(
            func,
            [
                map_path_opt(default, help),
                click.option("--no-map", is_flag=True, help="Do not write the map."),
                offline_map_opt,
                tiles_opt,
                whatif_opt,
            ],
        )

    return decorate


def out_opt(default: str, help: str) -> Callable[[_F], _F]:
    """Return an --out/-o DIR option with its own default."""
    return click.option(
        "--out",
        "-o",
        "out_dir",
        default=default,
        show_default=True,
        type=click.Path(file_okay=False),
        help=help,
    )


kinds_opt = click.option(
    "--kinds",
    callback=parse_kinds,
    help="Comma-separated point kinds that count as service points "
    "(default: all, as in the national statistics).",
)


def _snap_metres(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        msg = f"{value:g} is not a number of metres >= 0 (e.g. 50, or 0 to snap none)"
        raise click.BadParameter(msg, ctx=ctx, param=param)
    return value


snap_opt = click.option(
    "--snap-m",
    type=float,
    default=50.0,
    show_default=True,
    callback=_snap_metres,
    metavar="METRES",
    help="Count a point up to this many metres outside every commune (a "
    "boundary sliver, a point just off the coast) in the nearest commune; "
    "0 counts only points inside a commune.",
)


def parse_min_list(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    """Split ``--within-min 15,30,60`` into positive minutes, or raise BadParameter."""
    return _positive_list(
        ctx, param, value, unit="min", what="time in minutes", example="15,30,60"
    )


def travel_options(func: _F) -> _F:
    """Add --roads, --roads-layer, --dem, --barriers(-layer), --mode, ... (minutes)."""
    decorators = [
        click.option(
            "--roads",
            type=click.Path(dir_okay=False),
            help="Road network (.osm.pbf or a line layer with a road class or speed "
            "column): measure travel time in minutes instead of straight lines.",
        ),
        click.option(
            "--roads-layer",
            help="Layer of a multi-layer road file [default: 'roads' if present].",
        ),
        click.option(
            "--roads-column",
            "roads_columns",
            multiple=True,
            callback=parse_road_columns,
            metavar="class=COLUMN|speed=COLUMN",
            help="Name the road layer's class or speed (km/h) column when it is "
            "not under a common name (highway, fclass, loai_duong, maxspeed, toc_do, "
            "...) (repeatable).",
        ),
        click.option(
            "--roads-class",
            "roads_classes",
            multiple=True,
            callback=parse_columns,
            metavar="VALUE=CLASS",
            help="Map a value of the class column to a road class of the profile, "
            "e.g. --roads-class DH=tertiary --roads-class 'Đường xã=unclassified' "
            "(repeatable).",
        ),
        click.option(
            "--dem",
            type=click.Path(dir_okay=False),
            help="Elevation GeoTIFF: off-road walking speed follows the slope "
            "(Tobler); without it the ground is flat. Needs --roads.",
        ),
        click.option(
            "--barriers",
            type=click.Path(dir_okay=False),
            help="Polygons (rivers, lakes) crossed only on roads. Needs --roads.",
        ),
        click.option(
            "--barriers-layer",
            help="Layer of the barrier file [default: 'barriers' if present].",
        ),
        click.option(
            "--mode",
            type=click.Choice(["walk", "motorbike", "car"]),
            help="Travel mode [default: the benchmark's time rule, else motorbike].",
        ),
        click.option(
            "--travel-profile",
            type=click.Path(dir_okay=False),
            help="Your own TOML of speeds per road class (may start from a shipped "
            "mode with base = 'motorbike').",
        ),
        click.option(
            "--within-min",
            callback=parse_min_list,
            metavar="MIN[,MIN...]",
            help="Travel times to report the share of population within "
            "[default: the benchmark's time rules, else 15,30,60].",
        ),
        click.option(
            "--zones-min",
            type=float,
            callback=_positive,
            help="Travel time beyond which populated land is an uncovered zone "
            "[default: the benchmark's first time rule, else 60 min].",
        ),
    ]
    return _stack(func, decorators)


def scheduler_opts(func: _F) -> _F:
    """Add --scheduler and --parts (distributed runs, the dask extra)."""
    decorators = [
        click.option(
            "--scheduler",
            metavar="ADDRESS|local[:N]",
            help="Compute the population surface and distances on a Dask cluster, "
            "one task per province: a scheduler address (tcp://HOST:8786) or "
            "local[:N] for N worker processes here. Needs the dask extra: "
            "pip install 'coverage-planner[dask]'. Results are identical.",
        ),
        click.option(
            "--parts",
            type=click.Path(file_okay=False),
            help="With --scheduler: the workers read the communes from this "
            "folder written by `coverage partition` (default: they read "
            "--boundaries/--points, which must be on a path every worker sees).",
        ),
    ]
    return _stack(func, decorators)


def siting_opts(command: str) -> Callable[[_F], _F]:
    """Capacity, access-score (analyze) and objective (plan) options.

    ``--capacity-column NAME`` (both), ``--access-score`` (``command="analyze"``),
    ``--objective``, ``--respect-capacity`` and ``--new-capacity`` (``"plan"``).
    """
    capacity = click.option(
        "--capacity-column",
        metavar="NAME",
        help="Points' capacity column (counters, staff or dossiers per day) "
        "[default: recognised as capacity, suc_chua, counters, so_quay, n_staff, "
        "dossiers_per_day...; else the benchmark's [capacity] per kind]. Load = "
        "population served / (capacity x people_per_unit); above 1 = overloaded.",
    )
    if command == "analyze":
        return lambda func: _stack(
            func,
            [
                capacity,
                click.option(
                    "--access-score",
                    type=click.Choice(["e2sfca", "2sfca"]),
                    help="Floating-catchment access score per cell and commune: "
                    "R_j = S_j / sum_i P_i W(d_ij) per point (S_j = capacity, or 1), "
                    "A_i = sum_j R_j W(d_ij) per cell, population-weighted per "
                    "commune (access_score, access_score_ratio to the area mean). "
                    "2sfca: W = 1 up to the largest --within; e2sfca: W = 1, 0.68, "
                    "0.22 in three zones (three --within values are the edges, "
                    "else the largest split in thirds). With --roads the same in "
                    "travel minutes of --within-min; also per district and province.",
                ),
            ],
        )
    return lambda func: _stack(
        func,
        [
            click.option(
                "--objective",
                type=click.Choice(["cover", "count", "median", "center"]),
                help="cover: most people within the distance with --add K new "
                "points (max sum P_i covered); count: fewest new points meeting "
                "--target; median: K new points minimising the population-weighted "
                "mean distance sum P_i d_i / sum P_i (p-median); center: K new "
                "points minimising the largest distance max d_i (p-center). "
                "[default: cover with --add, count with --target]",
            ),
            capacity,
            click.option(
                "--respect-capacity",
                is_flag=True,
                help="With --add K: capacitated covering, every point serves at "
                "most its capacity within the distance (people may be split).",
            ),
            click.option(
                "--new-capacity",
                type=click.FloatRange(min=0.0),
                help="Capacity of each new point, in the capacity column's unit "
                "[default: the median of the existing points].",
            ),
        ],
    )
