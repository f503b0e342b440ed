"""Check both input layers together and report every problem at once.

:func:`check_inputs` reads the commune and service-point layers even when the first
one is faulty, adds the checks that need both (CRS, swapped latitude/longitude,
points outside every commune) and returns an :class:`InputReport`;
:func:`validate_inputs` raises one :class:`ValidationError` listing every fatal
problem, or returns the layers ready for the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from .errors import InputError, ValidationError
from .i18n import Note
from .io import (
    Loaded,
    Problem,
    assign_points,
    check_column_keys,
    load_communes,
    load_points,
)

__all__ = ["InputReport", "ValidatedInputs", "check_inputs", "validate_inputs"]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass
class ValidatedInputs:
    """Both layers read, checked and joined: what the metrics start from.

    Attributes
    ----------
    communes, points : Loaded
        The layers in the canonical model; their ``notes`` say what was detected
        while reading each (encoding, defaults applied, repairs).
    assigned : geopandas.GeoDataFrame
        The points after :func:`coverage.io.assign_points` (``commune_code``,
        ``inside`` and, with declared codes, ``declared_mismatch``).
    notes : list of str
        Every non-fatal finding, one line each: warnings across the layers first
        (points outside every commune, swapped coordinates in a few rows, declared
        codes that disagree), then the reading notes of both layers (encoding,
        defaults applied, repairs; also in ``communes.notes`` and ``points.notes``,
        so do not add those again).
    """

    communes: Loaded
    points: Loaded
    assigned: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class InputReport:
    """Everything :func:`check_inputs` found, fatal or not.

    Attributes
    ----------
    problems : list of Problem
        Fatal problems and warnings (``Problem.fatal`` tells them apart).
    communes, points : Loaded or None
        The layers as read (None when a layer could not be read at all).
    assigned : geopandas.GeoDataFrame or None
        The points assigned to communes, when both layers could be read.
    notes : list of str
        Non-fatal cross-layer findings, one line each.
    """

    boundaries: str
    points_path: str
    problems: list[Problem] = field(default_factory=list)
    communes: Loaded | None = None
    points: Loaded | None = None
    assigned: gpd.GeoDataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> list[Problem]:
        """The problems that stop a run."""
        return [p for p in self.problems if p.fatal]

    @property
    def warnings(self) -> list[str]:
        """Non-fatal findings: warning problems, then cross-layer notes."""
        return [str(p) for p in self.problems if not p.fatal] + self.notes

    @property
    def reading_notes(self) -> list[str]:
        """What was detected while reading (encoding, defaults, repairs)."""
        notes = []
        for path, loaded in (
            (self.boundaries, self.communes),
            (self.points_path, self.points),
        ):
            name = Path(path).name
            for note in loaded.notes if loaded is not None else []:
                if note.startswith(name):
                    notes.append(note)
                elif isinstance(note, Note):
                    notes.append(note.with_prefix(f"{name}: "))
                else:
                    notes.append(f"{name}: {note}")
        return notes

    def summary(self) -> str:
        """One line: ``OK: ...`` or ``FAILED: ...`` with the counts."""
        fatal = self.fatal
        if fatal:
            files: dict[str, int] = {}
            for p in fatal:
                files[p.source or "inputs"] = files.get(p.source or "inputs", 0) + 1
            where = ", ".join(f"{n} in {Path(f).name}" for f, n in files.items())
            return (
                f"FAILED: {len(fatal)} problem(s) ({where}); fix them and run "
                "`coverage validate` again"
            )
        communes = self.communes.frame if self.communes else None
        n_communes = 0 if communes is None else len(communes)
        population = 0 if communes is None else int(communes["population"].sum())
        n_points = 0 if self.assigned is None else len(self.assigned)
        outside = 0 if self.assigned is None else int((~self.assigned["inside"]).sum())
        n_warn = len(self.warnings)
        return (
            f"OK: {n_communes:,} communes (population {population:,}), "
            f"{n_points:,} service points, {outside:,} outside every commune; "
            f"{n_warn} warning(s)"
        )


def _problem_of(exc: InputError, path: str | Path) -> Problem:
    source = str(Path(path))
    text = str(exc)
    if text.startswith(f"{source}: "):
        text = text[len(source) + 2 :]
    return Problem(source, "", text, "")


def _implausible(communes: gpd.GeoDataFrame, path: str | Path) -> list[Problem]:
    """Report a world-sized stray, a polygon holding most others, overlapping copies."""
    from .geo import implausible_communes

    geoms = communes.geometry.to_numpy()
    if len(communes) < 2 or communes.crs is None:
        return []
    if not shapely.is_valid(geoms[~shapely.is_missing(geoms)]).all():
        return []  # invalid geometries are reported already; overlaps mean nothing
    with np.errstate(all="ignore"):
        found = implausible_communes(communes)
    return [Problem(str(Path(path)), "", p.problem, p.fix) for p in found]


def check_inputs(
    boundaries: str | Path,
    points: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    points_crs: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
    layer: str | None = None,
    points_layer: str | None = None,
    snap_m: float = 50.0,
) -> InputReport:
    """Read and check both layers; collect every problem instead of stopping.

    Parameters
    ----------
    boundaries, points
        Paths of the commune layer and the service-point layer.
    columns
        Explicit source column names keyed by canonical name (both layers); with
        an unknown key nothing is read and the report holds that one problem.
    crs, points_crs
        CRS to assume for a layer that declares none.
    fix_invalid
        Repair invalid commune geometries instead of reporting them.
    population_table
        A table of commune code and population for layers without population.
    layer, points_layer
        The layer to read from a multi-layer file (GeoPackage, folder of
        Shapefiles); a file with several layers needs one.
    snap_m
        Points at most this many metres outside every commune are assigned to
        the nearest one (:func:`coverage.io.assign_points`); 0 snaps none.

    Returns
    -------
    InputReport
        Problems (fatal and warnings), the layers as read and the assignment.
    """
    report = InputReport(str(boundaries), str(points))
    try:
        check_column_keys(columns)
    except InputError as exc:
        # a misspelt key would fail both layers alike: say it once, read nothing
        report.problems.append(Problem.from_error(exc))
        return report
    try:
        report.communes, found = load_communes(
            boundaries,
            columns=columns,
            crs=crs,
            layer=layer,
            fix_invalid=fix_invalid,
            population_table=population_table,
        )
        report.problems += found
        if not any(p.fatal for p in found):
            # areas and overlaps of a layer with broken coordinates mean nothing
            report.problems += _implausible(report.communes.frame, boundaries)
    except InputError as exc:
        report.problems.append(_problem_of(exc, boundaries))
    try:
        report.points, found = load_points(
            points, columns=columns, crs=points_crs, layer=points_layer
        )
        report.problems += found
    except InputError as exc:
        report.problems.append(_problem_of(exc, points))
    if report.communes is not None and report.points is not None:
        _cross_check(
            report,
            report.communes,
            report.points,
            is_csv=Path(points).suffix.lower() in _CSV_SUFFIXES,
            snap_m=snap_m,
        )
    return report


def validate_inputs(
    boundaries: str | Path,
    points: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    points_crs: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
    layer: str | None = None,
    points_layer: str | None = None,
    snap_m: float = 50.0,
) -> ValidatedInputs:
    """Read and check both layers; raise once with every fatal problem.

    Parameters
    ----------
    boundaries, points
        Paths of the commune layer and the service-point layer.
    columns
        Explicit source column names keyed by canonical name (both layers).
    crs, points_crs
        CRS to assume for a layer that declares none.
    fix_invalid
        Repair invalid commune geometries instead of reporting them.
    population_table
        A table of commune code and population for layers without population.
    layer, points_layer
        The layer to read from a multi-layer file (GeoPackage, folder of
        Shapefiles); a file with several layers needs one.
    snap_m
        As in :func:`check_inputs`.

    Returns
    -------
    ValidatedInputs

    Raises
    ------
    ValidationError
        Listing every fatal problem of both layers, each with file, row or
        feature, problem and fix.
    """
    report = check_inputs(
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
    if report.fatal:
        raise ValidationError(report.fatal)
    if report.communes is None or report.points is None or report.assigned is None:
        msg = f"{boundaries}, {points}: the layers could not be joined; check both"
        raise InputError(msg)
    return ValidatedInputs(
        report.communes,
        report.points,
        report.assigned,
        report.warnings + report.reading_notes,
    )


def _rows(labels: list[str]) -> str:
    shown = ", ".join(labels[:8])
    return shown + (f" and {len(labels) - 8} more" if len(labels) > 8 else "")


def _cross_check(
    report: InputReport,
    communes_layer: Loaded,
    points_layer: Loaded,
    *,
    is_csv: bool,
    snap_m: float = 50.0,
) -> None:
    """Run the checks that need both layers: assignment, swapped axes, overlap."""
    communes = communes_layer.frame
    points = points_layer.frame
    source = report.points_path
    geoms = communes.geometry.to_numpy()
    usable = (
        ~shapely.is_missing(geoms)
        & ~shapely.is_empty(geoms)
        & np.isin(shapely.get_type_id(geoms), (3, 6))
        & shapely.is_valid(geoms)
    )
    if not usable.any() or len(points) == 0:
        return
    usable_communes = communes.loc[usable]
    pgeoms = points.geometry.to_numpy()
    is_point = (shapely.get_type_id(pgeoms) == 0) & ~shapely.is_empty(pgeoms)
    xy = np.full((len(points), 2), np.nan)
    xy[is_point] = shapely.get_coordinates(pgeoms[is_point])[:, :2]
    geographic = CRS.from_user_input(points.crs).is_geographic
    good = np.isfinite(xy).all(axis=1)
    if geographic:
        good &= (np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90)
    label = (lambda i: f"row {i + 2}") if is_csv else (lambda i: f"feature {i + 1}")

    swapped_inside = np.zeros(len(points), dtype=bool)
    if geographic:
        candidates = np.isfinite(xy).all(axis=1) & (np.abs(xy[:, 0]) <= 90)
        candidates &= np.abs(xy[:, 1]) <= 180
        if candidates.any():
            flipped = gpd.GeoSeries(
                shapely.points(xy[candidates, 1], xy[candidates, 0]), crs=points.crs
            ).to_crs(usable_communes.crs)
            tree = shapely.STRtree(usable_communes.geometry.to_numpy())
            hit, _ = tree.query(flipped.to_numpy(), predicate="intersects")
            swapped_inside[np.flatnonzero(candidates)[np.unique(hit)]] = True

    bad_rows = np.flatnonzero(~good & swapped_inside)
    if len(bad_rows):
        report.problems.append(
            Problem(
                source,
                _rows([label(i) for i in bad_rows]),
                "latitude and longitude are swapped: swapping them puts these points "
                "inside the communes",
                "swap the lat and lon columns (or name them with --column lat=COL "
                "--column lon=COL)",
            )
        )
    assigned, notes = assign_points(points, usable_communes, snap_m=snap_m)
    inside = assigned["inside"].to_numpy() & good
    swapped_outside = np.flatnonzero(good & ~inside & swapped_inside)
    report.assigned = assigned
    if not good.any():
        return
    if not inside.any():
        if len(swapped_outside) * 2 > good.sum():
            report.problems.append(
                Problem(
                    source,
                    "",
                    f"latitude and longitude look swapped: {len(swapped_outside)} of "
                    f"{int(good.sum())} points fall inside the communes only when the "
                    "two are swapped",
                    "swap the lat and lon columns (or name them with --column "
                    "lat=COL --column lon=COL)",
                )
            )
        else:
            report.problems.append(
                Problem(
                    source,
                    "",
                    f"none of the {int(good.sum())} points lies inside any commune of "
                    f"{Path(report.boundaries).name}",
                    "check that both layers cover the same area and declare the right "
                    "CRS (--crs / --points-crs for files without one)",
                )
            )
        return
    if len(swapped_outside):
        rows = _rows([label(i) for i in swapped_outside])
        report.notes.append(
            f"{source}: lat/lon look swapped in {rows}: swapping puts them inside the "
            "communes; fix those rows, else they are counted as outside"
        )
    if good.all():
        report.notes.extend(notes)
    if "declared_commune_code" in assigned.columns:
        codes = set(communes["commune_code"].astype(str))
        declared = assigned["declared_commune_code"].astype(str)
        unknown = ((declared != "") & ~declared.isin(codes)).to_numpy()
        if unknown.any():
            rows = _rows([label(i) for i in np.flatnonzero(unknown)])
            named = ", ".join(sorted(set(declared[unknown]))[:5])
            report.notes.append(
                f"{source}: {rows}: commune code(s) {named} not in "
                f"{Path(report.boundaries).name}; the location was used"
            )
