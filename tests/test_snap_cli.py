"""--snap-m: how far outside every commune a point still counts in the nearest one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from common import points_in, square_communes, write_points_csv
from shapely.geometry import Point

from coverage.cli import main


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, Path]:
    """Two 10 km squares; commune B has no point inside, one 30 m below its edge."""
    communes = square_communes(
        [
            {"commune_code": "A", "commune_name": "Xã A", "population": 5000},
            {"commune_code": "B", "commune_name": "Xã B", "population": 5000},
        ]
    )
    path = tmp_path / "communes.geojson"
    communes.to_crs(4326).to_file(path, driver="GeoJSON")
    points = points_in([0, 1])
    points.loc[1, "geometry"] = Point(15_000, -30)
    return path, write_points_csv(points, tmp_path / "points.csv")


def _points_of_b(tmp_path: Path, layers: tuple[Path, Path], *extra: str) -> int:
    out = tmp_path / ("out" + "_".join(extra))
    args = ["analyze", "-b", str(layers[0]), "-p", str(layers[1]), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--no-map", "--no-access", *extra])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "communes.csv", dtype={"commune_code": str})
    return int(table.set_index("commune_code").loc["B", "n_points"])


def test_a_point_30_m_outside_counts_by_default_not_with_snap_10(tmp_path, layers):
    assert _points_of_b(tmp_path, layers) == 1
    assert _points_of_b(tmp_path, layers, "--snap-m", "10") == 0
    assert _points_of_b(tmp_path, layers, "--snap-m", "0") == 0


@pytest.mark.parametrize("command", ["analyze", "plan", "validate"])
def test_snap_m_is_an_option_of_every_command_reading_points(command, layers):
    result = CliRunner().invoke(main, [command, "--help"])
    assert "--snap-m" in result.output
    args = [command, "-b", str(layers[0]), "-p", str(layers[1]), "--snap-m", "-1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--snap-m" in result.output and "metres >= 0" in result.output


def test_validate_reports_the_point_outside_with_snapping_off(layers):
    args = ["validate", "-b", str(layers[0]), "-p", str(layers[1])]
    snapped = CliRunner().invoke(main, args)
    strict = CliRunner().invoke(main, [*args, "--snap-m", "0"])
    assert snapped.exit_code == strict.exit_code == 0
    assert "snapped" in snapped.output
    assert "outside" in strict.output and "snapped" not in strict.output
