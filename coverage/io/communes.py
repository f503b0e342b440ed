"""Reading the commune layer: codes, names, population and polygon checks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError, ValidationError
from ..i18n import Note
from .columns import (
    COMMUNE_ALIASES,
    _blank_cells,
    _code_text,
    _map_columns,
    normalise_key,
    parse_number,
)
from .files import _apply_crs, _check_path, _read_spatial, read_table
from .problems import (
    Loaded,
    Problem,
    _more,
    _shown,
    _warning_notes,
    _warnings_caught,
)

__all__ = [
    "MAX_POPULATION",
    "load_communes",
    "read_communes",
]

# More people than live on Earth: the column is not a population count.
MAX_POPULATION = 1e10

# A million kilometres in metres: no map coordinate of a commune comes near it.
MAX_COORDINATE = 1e9


def read_communes(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
) -> Loaded:
    """Read a commune layer into the canonical model and validate it.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped) or any file GDAL reads.
    columns
        Explicit source column names keyed by canonical name (``commune_code``,
        ``commune_name``, ``district_name``, ``province_name``, ``population``).
    crs
        CRS to assume when the file declares none.
    layer
        Layer name in a multi-layer file.
    fix_invalid
        Repair invalid geometries with ``shapely.make_valid`` instead of failing.

    Returns
    -------
    Loaded
        The canonical frame (in its source CRS) and notes.

    Raises
    ------
    InputError, CRSError, ValidationError
        With every problem found, each naming the feature and the fix.
    """
    loaded, problems = load_communes(
        path,
        columns=columns,
        crs=crs,
        layer=layer,
        fix_invalid=fix_invalid,
        population_table=population_table,
    )
    if problems:
        raise ValidationError(problems)
    return loaded


def _join_population_table(
    layer_codes: pd.Series,
    path: str | Path,
    columns: dict[str, str] | None,
    *,
    source: str,
) -> tuple[pd.Series, list[str], list[Problem]]:
    """Look up the population of each feature in a table keyed by commune code."""
    table_path = _check_path(path)
    table_source = str(table_path)
    table, notes = read_table(table_path)
    present = {normalise_key(c) for c in table.columns}
    wanted = {
        k: v
        for k, v in (columns or {}).items()
        if k in ("commune_code", "population")
        and (v in table.columns or normalise_key(v) in present)
    }
    mapping = _map_columns(
        list(table.columns),
        {k: COMMUNE_ALIASES[k] for k in ("commune_code", "population")},
        wanted,
        source=table_source,
    )
    missing = [k for k in ("commune_code", "population") if k not in mapping]
    if missing:
        msg = (
            f"{table_source}: no {' or '.join(missing)} column found in the "
            f"population table (columns: {', '.join(map(str, table.columns[:12]))}); "
            "name it with --column commune_code=COL / --column population=COL"
        )
        raise InputError(msg)

    codes = _code_text(table[mapping["commune_code"]]).fillna("")
    problems: list[Problem] = []
    dup = codes.duplicated(keep=False) & (codes != "")
    for code, grp in codes[dup].groupby(codes[dup]):
        rows = ", ".join(f"row {i + 2}" for i in grp.index[:5])
        problems.append(
            Problem(
                table_source,
                rows,
                f"commune code {_shown(code)} appears {len(grp)} times",
                "keep one population per commune",
            )
        )
    values = table[mapping["population"]].set_axis(codes.to_numpy())
    values = values[~codes.duplicated().to_numpy()]
    layer_keys = _code_text(layer_codes).fillna("")
    joined = values.reindex(layer_keys.to_numpy())
    unmatched = np.flatnonzero(~layer_keys.isin(codes).to_numpy())
    for i in unmatched[:20]:
        problems.append(
            Problem(
                table_source,
                "",
                f"no population for commune code {_shown(layer_keys.iloc[i])} "
                f"(feature {i + 1} of {Path(source).name})",
                "add the commune to the table, or check that both use the same codes",
            )
        )
    if len(unmatched) > 20:
        problems.append(_more(table_source, len(unmatched) - 20, "codes like these"))
    extra = int((~codes.isin(layer_keys) & (codes != "")).sum())
    notes.append(
        Note(
            "population_table",
            file=table_path.name,
            matched=len(layer_keys) - len(unmatched),
            total=len(layer_keys),
            extra=Note("population_table.extra", n=extra) if extra else "",
        )
    )
    return pd.Series(joined.to_numpy(), index=layer_codes.index), notes, problems


def load_communes(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
) -> tuple[Loaded, list[Problem]]:
    """Read a commune layer and return it with the problems found, without raising.

    Used by :func:`coverage.validate.validate_inputs` to report the problems of
    both layers together; the frame keeps the faulty features so that cross-layer
    checks can still run.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped) or any file GDAL reads.
    columns
        Explicit source column names keyed by canonical name (``commune_code``,
        ``commune_name``, ``district_name``, ``province_name``, ``population``).
    crs
        CRS to assume when the file declares none.
    layer
        Layer name in a multi-layer file.
    fix_invalid
        Repair invalid geometries with ``shapely.make_valid`` instead of failing.
    population_table
        A table (CSV) of commune code and population joined to the layer on the
        code, for layers without population such as GADM; it replaces a population
        column of the layer.

    Returns
    -------
    (Loaded, list of Problem)
        The canonical frame (in its source CRS) with notes, and every problem.

    Raises
    ------
    InputError, CRSError
        When the layer cannot be read at all (missing file, no population column).
    """
    with _warnings_caught() as caught:
        loaded, problems = _load_communes(
            path,
            columns=columns,
            crs=crs,
            layer=layer,
            fix_invalid=fix_invalid,
            population_table=population_table,
        )
    loaded.notes.extend(_warning_notes(caught, source=str(path)))
    return loaded, problems


def _load_communes(
    path: str | Path,
    *,
    columns: dict[str, str] | None,
    crs: str | None,
    layer: str | None,
    fix_invalid: bool,
    population_table: str | Path | None,
) -> tuple[Loaded, list[Problem]]:
    path = _check_path(path)
    source = str(path)
    gdf = _read_spatial(path, layer=layer)
    _apply_crs(gdf, crs, source=source)
    layer_columns = dict(columns or {})
    if population_table is not None:
        # the population comes from the table: a --column population names its column
        layer_columns.pop("population", None)
    mapping = _map_columns(
        [c for c in gdf.columns if c != gdf.geometry.name],
        COMMUNE_ALIASES,
        layer_columns,
        source=source,
    )
    notes: list[str] = []
    if len(gdf) == 0:
        msg = f"{source}: the layer has no features; export the communes again"
        raise InputError(msg)
    table_problems: list[Problem] = []
    unmatched_in_table = np.zeros(len(gdf), dtype=bool)
    if population_table is not None:
        if "commune_code" not in mapping:
            msg = (
                f"{source}: a population table is joined on the commune code, but "
                "the layer has no code column; name it with --column "
                "commune_code=COLUMN"
            )
            raise InputError(msg)
        joined, table_notes, table_problems = _join_population_table(
            gdf[mapping["commune_code"]], population_table, columns, source=source
        )
        gdf = gdf.assign(__population__=joined)
        mapping["population"] = "__population__"
        unmatched_in_table = joined.isna().to_numpy() & ~_blank_cells(
            gdf[mapping["commune_code"]]
        )
        notes.extend(table_notes)
    if "population" not in mapping:
        msg = (
            f"{source}: no population column found (looked for "
            f"{', '.join(COMMUNE_ALIASES['population'][:5])}, ...); name it with "
            "--column population=YOUR_COLUMN"
        )
        raise InputError(msg)
    problems: list[Problem] = list(table_problems)
    out = pd.DataFrame(index=gdf.index)
    feature = pd.Series(np.arange(1, len(gdf) + 1), index=gdf.index)
    if "commune_code" in mapping:
        codes = _code_text(gdf[mapping["commune_code"]])
    else:
        codes = pd.Series([f"F{i:05d}" for i in feature], index=gdf.index)
        notes.append(Note("no_column.commune_code"))
    out["commune_code"] = codes.astype(str)
    if "commune_name" in mapping:
        out["commune_name"] = (
            gdf[mapping["commune_name"]]
            .astype("string")
            .fillna("")
            .str.strip()
            .str.normalize("NFC")
        ).astype(str)
    else:
        out["commune_name"] = out["commune_code"]
        notes.append(Note("no_column.commune_name"))
    for level in ("district_name", "province_name"):
        if level in mapping:
            out[level] = (
                gdf[mapping[level]]
                .astype("string")
                .fillna("")
                .str.strip()
                .str.normalize("NFC")
                .astype(str)
            )
    blank = codes.isna() | (codes == "")
    for i in feature[blank.to_numpy()]:
        problems.append(
            Problem(source, f"feature {i}", "empty commune code", "fill in the code")
        )
    dup = out["commune_code"].duplicated(keep=False) & ~blank
    for code, grp in out.loc[dup, "commune_code"].groupby(out.loc[dup, "commune_code"]):
        rows = ", ".join(str(f) for f in feature[grp.index][:5])
        problems.append(
            Problem(
                source,
                f"features {rows}",
                f"commune code {_shown(code)} appears {len(grp)} times",
                "codes must be unique; fix the codes or dissolve the duplicates",
            )
        )
    pop, bad = parse_number(gdf[mapping["population"]], integer=True)
    infinite = np.isinf(pop.to_numpy())
    bad = bad | infinite
    pop = pop.where(~infinite)
    name_of = out["commune_name"].to_numpy()
    raw_pop = gdf[mapping["population"]]
    if not pd.api.types.is_numeric_dtype(raw_pop):
        grouped = (
            raw_pop.astype("string")
            .str.strip()
            .str.fullmatch(r"-?\d{1,3}([.,]\d{3})+")
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        if grouped.any():
            notes.append(
                Note(
                    "population_separators",
                    n=int(grouped.sum()),
                    raw=raw_pop[grouped].iloc[0],
                    value=float(pop[grouped].iloc[0]),
                )
            )
    for i in np.flatnonzero(bad)[:20]:
        raw_value = gdf[mapping["population"]].iloc[i]
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {_shown(raw_value)} is not a number",
                "write a whole number such as 12345",
            )
        )
    missing = pop.isna().to_numpy() & ~bad & ~unmatched_in_table
    for i in np.flatnonzero(missing)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                "population is missing",
                "fill it in (0 if nobody lives there)",
            )
        )
    negative = (pop < 0).to_numpy()
    for i in np.flatnonzero(negative)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {pop.iloc[i]:g} is negative",
                "population must be 0 or more",
            )
        )
    huge = (pop > MAX_POPULATION).to_numpy()
    for i in np.flatnonzero(huge)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {pop.iloc[i]:.4g} is more than the world's population",
                "check the column (is it an area, a code or a typo?)",
            )
        )
    problems.extend(
        _more(source, n, "features with this population problem")
        for n in (bad.sum() - 20, missing.sum() - 20, negative.sum() - 20)
        if n > 0
    )
    pop = pop.where(~huge, 0)
    out["population"] = pop.fillna(0).clip(lower=0).round().astype("int64").to_numpy()
    geoms = gdf.geometry.to_numpy()
    geoms, geom_problems, geom_notes = _check_polygons(
        geoms, name_of, source=source, fix_invalid=fix_invalid
    )
    problems.extend(geom_problems)
    notes.extend(geom_notes)
    if CRS.from_user_input(gdf.crs).is_geographic:
        xy = shapely.bounds(geoms)
        beyond = (np.abs(xy[:, [0, 2]]) > 180).any(axis=1) | (
            np.abs(xy[:, [1, 3]]) > 90
        ).any(axis=1)
        if beyond.any():
            problems.append(
                Problem(
                    source,
                    f"{int(beyond.sum())} feature(s)",
                    "coordinates are not degrees although the layer declares "
                    f"{gdf.crs.to_string()[:40]} (metres of a projected CRS?)",
                    "export the layer again with its real CRS",
                )
            )
    frame = gpd.GeoDataFrame(out, geometry=geoms, crs=gdf.crs).reset_index(drop=True)
    return Loaded(frame, notes, mapping), problems


def _check_polygons(
    geoms: np.ndarray,
    names: np.ndarray,
    *,
    source: str,
    fix_invalid: bool,
) -> tuple[np.ndarray, list[Problem], list[str]]:
    problems: list[Problem] = []
    notes: list[str] = []
    geoms = np.asarray(geoms, dtype=object).copy()

    def report(mask: np.ndarray, problem, fix: str) -> None:
        for i in np.flatnonzero(mask)[:20]:
            text = problem(i) if callable(problem) else problem
            problems.append(Problem(source, f"feature {i + 1} ({names[i]})", text, fix))
        if mask.sum() > 20:
            problems.append(_more(source, mask.sum() - 20, "features like these"))

    missing = shapely.is_missing(geoms)
    empty = shapely.is_empty(geoms) & ~missing
    report(missing, "has no geometry", "draw its boundary or remove the feature")
    report(empty, "has an empty geometry", "draw its boundary or remove the feature")
    present = ~missing & ~empty
    unusable, vertex = _unusable_vertices(geoms, present)
    report(
        unusable,
        lambda i: (
            f"a vertex has unusable coordinates ({vertex[i][0]:g}, {vertex[i][1]:g}):"
            " NaN, infinite or beyond any map"
        ),
        "correct or delete that vertex in your GIS, or remove the feature",
    )
    present &= ~unusable
    types = shapely.get_type_id(geoms)
    collections = present & (types == 7)
    if fix_invalid and collections.any():
        parts, index = shapely.get_parts(geoms[collections], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (3, 6))
        merged = np.asarray([shapely.Polygon()] * int(collections.sum()), dtype=object)
        if keep.any():
            built = shapely.multipolygons(
                shapely.get_parts(parts[keep]), indices=index[keep]
            )
            merged[: len(built)] = built
        geoms[collections] = merged
        notes.append(Note("geometry_collections", n=int(collections.sum())))
        lost = np.zeros(len(geoms), dtype=bool)
        lost[collections] = shapely.is_empty(merged)
        report(
            lost,
            "geometry collection holds no polygon",
            "draw its boundary or remove the feature",
        )
        present &= ~lost
        types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, (3, 6))
    report(
        wrong,
        lambda i: (
            f"geometry is a {_TYPE_NAMES.get(int(types[i]), 'non-polygon')}, "
            "not a polygon"
        ),
        "communes must be polygons; redraw or remove the feature"
        + (
            " (--fix-invalid keeps the polygons of a collection)"
            if not fix_invalid
            else ""
        ),
    )
    checkable = present & ~wrong
    zero = np.zeros(len(geoms), dtype=bool)
    # A bow-tie has zero signed area too: only what make_valid keeps tells them apart.
    zero[checkable] = ~(shapely.area(geoms[checkable]) > 0)
    zero[zero] = ~(shapely.area(shapely.make_valid(geoms[zero])) > 0)
    report(
        zero,
        "has zero area (its corners lie on one line or one point)",
        "draw its real boundary or remove the feature",
    )
    checkable &= ~zero
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[checkable] = ~shapely.is_valid(geoms[checkable])
    if invalid.any() and fix_invalid:
        repaired = shapely.make_valid(geoms[invalid], method="structure")
        polygonal = [
            g
            if shapely.get_type_id(g) in (3, 6)
            else shapely.union_all(
                [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
            )
            for g in repaired
        ]
        fixed = np.empty(len(polygonal), dtype=object)
        fixed[:] = polygonal
        geoms[invalid] = fixed
        notes.append(Note("geometry_repaired", n=int(invalid.sum())))
        lost = np.zeros(len(geoms), dtype=bool)
        lost[invalid] = ~(shapely.area(geoms[invalid]) > 0)
        report(
            lost,
            "invalid geometry could not be repaired (nothing of its area is left)",
            "draw its boundary again or remove the feature",
        )
    elif invalid.any():
        reasons = dict(
            zip(
                np.flatnonzero(invalid),
                shapely.is_valid_reason(geoms[invalid]),
                strict=True,
            )
        )
        report(
            invalid,
            lambda i: f"invalid geometry ({reasons[i]})",
            "repair it in your GIS or run with --fix-invalid",
        )
    return geoms, problems, notes


def _unusable_vertices(
    geoms: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Features with a NaN, infinite or absurdly large vertex, and that vertex.

    GEOS fails (or numpy overflows) on such coordinates, so they are caught here
    before any geometric check runs.
    """
    rows = np.flatnonzero(present)
    coords, owner = shapely.get_coordinates(geoms[rows], return_index=True)
    bad = ~(np.abs(coords) <= MAX_COORDINATE).all(axis=1)
    features, first = np.unique(rows[owner[bad]], return_index=True)
    unusable = np.zeros(len(geoms), dtype=bool)
    unusable[features] = True
    return unusable, dict(zip(features.tolist(), coords[bad][first], strict=True))


_TYPE_NAMES = {
    0: "point",
    1: "line",
    2: "ring",
    3: "polygon",
    4: "multi-point",
    5: "multi-line",
    6: "multi-polygon",
    7: "geometry collection",
}
