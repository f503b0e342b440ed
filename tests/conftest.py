from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from common import points_in, square_communes, write_points_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def small_layers(tmp_path: Path) -> tuple[Path, Path]:
    """Three 10 km squares in two districts with Vietnamese column names.

    Commune 0: 20,000 people, 4 points (R = 2.821 km, 5,000 people/point).
    Commune 1: 5,000 people, 1 unstaffed point (R = 5.642 km).
    Commune 2: 1,000 people, no point.
    One point lies outside every commune.
    """
    communes = square_communes(
        [
            {
                "ma_xa": "00001",
                "ten_xa": "Xã Tân Lạc",
                "ten_huyen": "Huyện Lạc Sơn",
                "ten_tinh": "Tỉnh Hòa Bình",
                "dan_so": 20000,
            },
            {
                "ma_xa": "00002",
                "ten_xa": "Phường Đồng Tiến",
                "ten_huyen": "Huyện Lạc Sơn",
                "ten_tinh": "Tỉnh Hòa Bình",
                "dan_so": 5000,
            },
            {
                "ma_xa": "00003",
                "ten_xa": "Xã Mường Khến",
                "ten_huyen": "Huyện Tân Lạc",
                "ten_tinh": "Tỉnh Hòa Bình",
                "dan_so": 1000,
            },
        ]
    )
    boundaries = tmp_path / "communes.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points = points_in(
        [0, 0, 0, 0, 1, 7],
        kind=[
            "post_office",
            "culture_post",
            "agent",
            "letter_box",
            "culture_post",
            "agent",
        ],
        staffed=["yes", "có", "no", "no", "no", "yes"],
        admin_services=["yes", "no", "no", "no", "yes", "no"],
        name=[
            "Bưu cục Tân Lạc",
            "BĐVHX Tân Lạc",
            "Đại lý",
            "Thùng thư",
            "BĐVHX",
            "Ngoài",
        ],
    )
    points_csv = write_points_csv(points, tmp_path / "points.csv")
    return boundaries, points_csv
