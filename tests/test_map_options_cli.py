"""The map options of the commands: what-if data, a tile URL, an MBTiles folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from browser_support import make_mbtiles, tile_png
from click.testing import CliRunner

from coverage.cli import main

ROOT = Path(__file__).resolve().parents[1]
B = str(ROOT / "data" / "boundaries" / "communes.geojson")
P = str(ROOT / "data" / "points" / "service_points.csv")


def _analyze(tmp_path: Path, *extra: str) -> tuple[Path, str]:
    out = tmp_path / "out"
    page = tmp_path / "maps" / "m.html"
    args = ["-q", "analyze", "-b", B, "-p", P, "--cell-m", "1000", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--map", str(page), *extra])
    assert result.exit_code == 0, result.output
    return page, page.read_text(encoding="utf-8")


def test_the_sample_map_carries_the_what_if_by_default(tmp_path):
    _, html = _analyze(tmp_path)
    _, plain = _analyze(tmp_path / "b", "--no-whatif")
    assert len(plain) < len(html)
    assert "Export points (CSV)" in html and "Export points (CSV)" not in plain


def test_a_tile_url_is_the_background(tmp_path):
    url = "http://intranet.example/tiles/{z}/{x}/{y}.png"
    _, html = _analyze(tmp_path, "--tiles", url, "--no-whatif")
    assert "intranet.example/tiles" in html
    assert "tile.openstreetmap.org" not in html


@pytest.mark.parametrize("rerun", [False, True])
def test_mbtiles_are_unpacked_next_to_the_map(tmp_path, rerun):
    tiles = {(0, 0, 0): tile_png(), (1, 1, 0): tile_png()}
    mbtiles = make_mbtiles(tmp_path / "base.mbtiles", tiles, attribution="© Test")
    digest = hashlib.sha256(mbtiles.read_bytes()).hexdigest()
    page, html = _analyze(tmp_path, "--tiles", str(mbtiles), "--no-whatif")
    if rerun:
        page, html = _analyze(
            tmp_path, "--tiles", str(mbtiles), "--no-whatif", "--overwrite"
        )
    folder = page.parent / "m_tiles"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png")) == [
        "0/0/0.png",
        "1/1/0.png",
    ]
    assert "m_tiles/" in html
    assert hashlib.sha256(mbtiles.read_bytes()).hexdigest() == digest
