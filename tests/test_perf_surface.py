"""The population grid follows the communes, not the layer's bounding box."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from coverage.access import build_population_grid
from coverage.access.core import _assign_to_communes

UTM = "EPSG:32648"
X0, Y0 = 600_000.0, 2_300_000.0


def _reference_cells(geoms: np.ndarray, cell_m: float) -> tuple[np.ndarray, ...]:
    """Every centre of the layer's bounding box against every commune (the old way)."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    ncol = int(np.ceil((maxx - minx) / cell_m))
    nrow = int(np.ceil((maxy - miny) / cell_m))
    gx, gy = np.meshgrid(np.arange(ncol), np.arange(nrow))
    gx, gy = gx.ravel(), gy.ravel()
    loc, com = _assign_to_communes(
        geoms, minx + (gx + 0.5) * cell_m, miny + (gy + 0.5) * cell_m
    )
    return gx[loc], gy[loc], com


def test_invalid_and_far_communes_give_the_bounding_box_answer() -> None:
    bowtie = Polygon(
        [(X0, Y0), (X0 + 3000, Y0 + 3000), (X0 + 3000, Y0), (X0, Y0 + 3000)]
    )
    far_islets = MultiPolygon(
        [
            box(X0 + 90_000, Y0 + 1_000, X0 + 91_700, Y0 + 2_300),
            box(X0 + 140_000, Y0 - 40_000, X0 + 141_100, Y0 - 39_100),
        ]
    )
    geoms = [
        box(X0 - 5000, Y0 - 5000, X0 + 5000, Y0 + 5000),
        bowtie,  # invalid, overlaps the first: shared centres go to the first
        box(X0 + 5000, Y0 - 5000, X0 + 9000, Y0 + 5000),
        far_islets,
        box(X0 + 7000, Y0, X0 + 12_000, Y0 + 2000),  # overlaps the third
    ]
    layer = gpd.GeoDataFrame(
        {"commune_code": list("ABCDE"), "population": [100, 50, 70, 20, 30]},
        geometry=geoms,
        crs=UTM,
    )
    s = build_population_grid(layer, cell_m=250.0)
    cells = s.footprint == 0
    gx, gy, com = _reference_cells(np.asarray(geoms, dtype=object), 250.0)
    np.testing.assert_array_equal(s.ix[cells], gx)
    np.testing.assert_array_equal(s.iy[cells], gy)
    np.testing.assert_array_equal(s.commune[cells], com)
    assert s.origin_m == (X0 - 5000, Y0 - 40_000)
    assert np.bincount(s.commune, weights=s.pop).tolist() == [100, 50, 70, 20, 30]
