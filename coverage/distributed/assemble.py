"""The client's side of a distributed run: the national frame and the gathering.

:func:`national_frame` fixes what every task shares (metric CRS, lattice origin,
point coordinates) with the single-process functions themselves;
:func:`assemble` puts the cells of every province back into the national order
and aggregates them as :func:`coverage.access.compute_access` does, so the
result is the single-process :class:`~coverage.access.AccessResult`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import CoverageError

if TYPE_CHECKING:
    import geopandas as gpd

    from ..access import AccessResult
    from .tasks import ProvinceCells

__all__ = ["IncompleteError", "assemble", "national_frame"]

#: A lattice this coarse has one cell, whose centre lies outside every commune:
#: building it costs little more than projecting the communes.
_PROBE_CELL_M = 1e12


class IncompleteError(CoverageError, RuntimeError):
    """The gathered cells do not make up the national surface (exit 1)."""

    exit_code = 1


def national_frame(
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_km: Sequence[float],
) -> AccessResult:
    """Return an access result whose only locations are one per commune.

    :func:`~coverage.access.build_population_grid` on a one-cell lattice gives
    the national metric CRS, the lattice origin (its own rule: the lower-left
    corner of the populated communes), the commune geometries and the unplaced
    population; :func:`~coverage.access.compute_access` on it gives the usable
    points, their identifiers and metric coordinates in layer order, the
    checked thresholds and the groups. :func:`assemble` replaces the locations.

    Raises
    ------
    InputError
        As the single run would: no usable point, bad population or thresholds.
    """
    from ..access import build_population_grid, compute_access

    probe = build_population_grid(communes, cell_m=_PROBE_CELL_M)
    return compute_access(communes, points, thresholds_km=thresholds_km, surface=probe)


def assemble(
    frame: AccessResult, parts: Sequence[ProvinceCells], *, cell_m: float
) -> AccessResult:
    """Join the provinces' cells into the national surface and aggregate them.

    The cells go back into the order :func:`~coverage.access.build_population_grid`
    gives them (grid cells row by row, then the communes too small for a cell in
    layer order), so every sum runs in the same order as in one process.

    Raises
    ------
    IncompleteError
        When a commune's cells are missing or were computed twice (its population
        on the cells differs from its population).
    """
    probe = frame.surface
    n = len(probe.codes)

    def cat(name: str, dtype: type) -> np.ndarray:
        arrays: list[np.ndarray] = [
            np.asarray(getattr(p, name), dtype=dtype) for p in parts
        ]
        return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)

    footprint = cat("footprint", np.int8)
    ix, iy, commune = cat("ix", np.int64), cat("iy", np.int64), cat("commune", np.int64)
    grid = np.flatnonzero(ix >= 0)
    other = np.flatnonzero(ix < 0)
    order = np.concatenate(
        [
            grid[np.lexsort((ix[grid], iy[grid]))],
            other[np.argsort(commune[other], kind="stable")],
        ]
    )
    pop = cat("pop", np.float64)[order]
    commune = commune[order]
    expected = np.bincount(probe.commune, weights=probe.pop, minlength=n)
    got = np.bincount(commune, weights=pop, minlength=n)
    wrong = np.flatnonzero(np.abs(got - expected) > 1e-6 * np.maximum(1.0, expected))
    if len(wrong):
        listed = ", ".join(str(c) for c in probe.codes[wrong][:5])
        msg = (
            f"the cells gathered from the workers do not cover {len(wrong)} "
            f"commune(s) exactly ({listed}); no output was written"
        )
        raise IncompleteError(msg)
    surface = dataclasses.replace(
        probe,
        x_m=cat("x_m", np.float64)[order],
        y_m=cat("y_m", np.float64)[order],
        pop=pop,
        commune=commune,
        footprint=footprint[order],
        ix=ix[order],
        iy=iy[order],
        cell_m=float(cell_m),
    )
    result = dataclasses.replace(
        frame,
        surface=surface,
        dist_m=cat("dist_m", np.float64)[order],
        nearest_idx=cat("nearest", np.int64)[order],
        notes=list(surface.notes),
    )
    # the commune table of compute_access: its aggregation, code and unplaced
    table = result.aggregate_by(np.arange(n), index=pd.RangeIndex(n))
    table.insert(0, "commune_code", surface.codes)
    table.insert(2, "pop_unplaced", surface.pop_unplaced)
    result.communes = table.reset_index(drop=True)
    return result
