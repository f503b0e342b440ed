"""The gap map as a person sees it, in headless Chromium (no network: routed assets).

Skipped locally without /usr/bin/chromium or tests/browser/node_modules; in CI
(``CI=true``) those are required and their absence fails the tests.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from coverage.benchmarks import Benchmark
from coverage.maps import (
    MISSING,
    NEEDED_BINS,
    NO_POINT,
    RATIO_BINS,
    build_map,
    share_bins,
    write_map,
)

sys.path.insert(0, str(Path(__file__).parent))
from browser_support import (
    BENCH,
    NODE_MODULES,
    XSS_NAME,
    Browser,
    artifact,
    choropleth_share,
    grid_layers,
    national_layers,
    province_layers,
    require_browser,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def browser():
    require_browser()
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def grid():
    return grid_layers()


@pytest.fixture(scope="module")
def grid_map(grid, tmp_path_factory):
    communes, points = grid
    fmap = build_map(
        communes,
        points,
        benchmark=BENCH,
        title="Grid test map",
        show_rings=False,
    )
    return write_map(fmap, tmp_path_factory.mktemp("map") / "grid.html")


def _tooltip_after_hover(page, code: str) -> str:
    path = page.locator(f'path.cv-commune[data-code="{code}"]')
    box = path.bounding_box()
    # hover a spot inside the square but away from points
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2 + 1)
    tip = page.locator(".leaflet-tooltip.cv-tooltip")
    tip.wait_for(state="visible", timeout=5000)
    return tip.inner_text()


def test_shapes_legend_tooltip(browser, grid, grid_map):
    communes, _ = grid
    page, router, errors = browser.open(grid_map)
    try:
        assert page.locator("path.cv-commune").count() == len(communes)
        legend = page.locator(".cv-legend")
        assert legend.is_visible()
        rows = legend.locator(".cv-legend-choro .cv-bin")
        assert rows.count() == len(RATIO_BINS) + 2
        text = legend.inner_text()
        for b in RATIO_BINS[:-1]:
            assert f"{b.upper * BENCH.radius_km:g} km" in text
        # fill colours drawn are the legend's colours
        fills = set(
            page.eval_on_selector_all(
                "path.cv-commune", "els => els.map(e => e.getAttribute('fill'))"
            )
        )
        swatches = set(
            page.eval_on_selector_all(
                ".cv-legend-choro .cv-swatch",
                "els => els.map(e => e.style.backgroundColor)",
            )
        )
        hex_swatches = {
            "#{:02x}{:02x}{:02x}".format(*map(int, re.findall(r"\d+", s)))
            for s in swatches
        }
        assert fills <= hex_swatches
        row = communes.loc[communes["n_points"] > 1].iloc[0]
        tip = _tooltip_after_hover(page, row["commune_code"])
        assert row["commune_name"] in tip
        shown = float(re.search(r"radius \(km\): ([0-9.]+)", tip).group(1))
        assert shown == pytest.approx(row["radius_km"], abs=5e-4)
        page.screenshot(path=str(artifact("grid_hover.png")))
        assert errors == []
        assert router.aborted == []
    finally:
        page.close()


def test_toggle_layers(browser, grid, grid_map):
    communes, _ = grid
    page, _router, errors = browser.open(grid_map)
    try:
        n = len(communes)
        assert page.locator("path.cv-layer-radius").count() == n
        page.get_by_label(re.compile("People per point")).check()
        assert page.locator("path.cv-layer-radius").count() == 0
        assert page.locator("path.cv-layer-people").count() == n
        assert "People per point" in page.locator(".cv-legend-choro").inner_text()
        points = page.locator("path.cv-point")
        assert points.count() > 0
        page.get_by_label("Service points").uncheck()
        assert page.locator("path.cv-point").count() == 0
        page.get_by_label("District outlines").uncheck()
        assert page.locator("path.cv-district").count() == 0
        page.get_by_label(re.compile("Benchmark radius rings")).check()
        assert page.evaluate(
            "(() => { let n = 0; window.coverageMap.map.eachLayer(l => {"
            " if (l instanceof L.Circle) n++; }); return n; })()"
        ) == page.evaluate("window.coverageMap.points.getLayers().length")
        assert errors == []
    finally:
        page.close()


def test_xss_name_is_text(browser, grid, grid_map):
    communes, _ = grid
    page, _router, errors = browser.open(grid_map)
    try:
        code = communes.loc[communes["commune_name"] == XSS_NAME, "commune_code"].iloc[
            0
        ]
        tip = _tooltip_after_hover(page, code)
        assert XSS_NAME in tip
        page.locator(f'path.cv-commune[data-code="{code}"]').click(
            position={"x": 4, "y": 30}
        )
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert XSS_NAME in popup.inner_text()
        page.locator(".cv-search-input").fill("img src")
        assert XSS_NAME in page.locator(".cv-search-results").inner_text()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert page.locator(".leaflet-container img[src='x']").count() == 0
        assert errors == []
    finally:
        page.close()


def test_search_without_diacritics(browser, grid, grid_map):
    page, _router, errors = browser.open(grid_map)
    try:
        page.locator(".cv-search-input").fill("tan lac")
        hits = page.locator(".cv-search-results li.cv-hit")
        expected = sorted(n for n in grid[0]["commune_name"] if "Tân Lạc" in n)
        assert (
            sorted(h.split("\n")[0].split(" Huyện")[0] for h in hits.all_inner_texts())
            == expected
        )
        assert hits.first.inner_text().startswith("Tân Lạc")
        page.locator(".cv-search-input").press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "Tân Lạc" in popup.inner_text()
        page.locator(".cv-search-input").fill("DONG LAI")
        assert "Đồng Lai" in page.locator(".cv-search-results").inner_text()
        page.locator(".cv-search-input").fill("zzzz")
        assert page.locator(".cv-search-results li.cv-none").count() == 1
        assert errors == []
    finally:
        page.close()


def test_without_tiles_communes_still_draw(browser, grid, grid_map):
    communes, _ = grid
    page, router, errors = browser.open(grid_map, tiles=False)
    try:
        assert page.locator("path.cv-commune").count() == len(communes)
        assert router.tile_requests > 0
        page.screenshot(path=str(artifact("grid_no_tiles.png")))
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def test_offline_map_needs_no_network(browser, grid, tmp_path):
    communes, points = grid
    fmap = build_map(
        communes, points, benchmark=BENCH, title="Offline", cluster_above=5
    )
    path = write_map(
        fmap, tmp_path / "offline.html", offline=True, assets_dir=NODE_MODULES
    )
    page, router, errors = browser.open(path, tiles=False)
    try:
        assert router.served == []
        assert page.locator("path.cv-commune").count() == len(communes)
        assert page.locator(".marker-cluster").count() > 0
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def test_vietnamese_map(browser, grid, tmp_path):
    communes, points = grid
    fmap = build_map(
        communes, points, benchmark=BENCH, lang="vi", title="Bản đồ", synthetic=True
    )
    path = write_map(fmap, tmp_path / "vi.html")
    page, _router, errors = browser.open(path)
    try:
        assert "Bán kính phục vụ" in page.locator(".cv-legend").inner_text()
        assert "GIẢ LẬP" in page.locator(".cv-title").inner_text()
        assert "Bưu cục" in page.locator(".cv-legend").inner_text()
        page.screenshot(path=str(artifact("grid_vi.png")))
        assert errors == []
    finally:
        page.close()


def test_sample_cli_map(browser, tmp_path):
    """The real `coverage analyze` on the bundled sample, checked against its CSV."""
    if not (ROOT / "data" / "boundaries" / "communes.geojson").is_file():
        pytest.skip("sample data missing")
    from click.testing import CliRunner

    from coverage.cli import main

    html = tmp_path / "coverage.html"
    result = CliRunner().invoke(
        main, ["analyze", "--out", str(tmp_path / "out"), "--map", str(html)]
    )
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(
        tmp_path / "out" / "communes.csv",
        dtype={"commune_code": str},
        encoding="utf-8-sig",
    )
    page, router, errors = browser.open(html)
    try:
        assert page.locator("path.cv-commune").count() == len(csv)
        page.screenshot(path=str(artifact("sample_map.png")))
        row = csv.loc[csv["n_points"] > 0].sort_values("area_km2").iloc[-1]
        lat, lon = _quiet_spot(tmp_path / "out" / "coverage.gpkg", row["commune_code"])
        tip = _hover_latlon(page, lat, lon)
        assert row["commune_name"] in tip
        shown = float(re.search(r"radius \(km\): ([0-9.]+)", tip).group(1))
        assert shown == pytest.approx(float(row["radius_km"]), abs=1e-9)
        page.screenshot(path=str(artifact("sample_hover.png")))
        page.get_by_label(re.compile("Points needed")).check()
        page.screenshot(path=str(artifact("sample_needed.png")))
        assert errors == []
        assert router.aborted == []
    finally:
        page.close()


def _quiet_spot(gpkg: Path, code: str) -> tuple[float, float]:
    """A spot well inside commune ``code`` and away from every service point."""
    import geopandas as gpd
    import shapely

    communes = gpd.read_file(gpkg, layer="communes")
    points = gpd.read_file(gpkg, layer="points")
    crs = communes.estimate_utm_crs()
    poly = communes.loc[communes["commune_code"] == code].to_crs(crs).geometry.iloc[0]
    busy = shapely.union_all(points.to_crs(crs).buffer(600).to_numpy())
    free = poly.difference(busy)
    centre = shapely.maximum_inscribed_circle(free).coords[0]
    spot = gpd.GeoSeries([shapely.Point(centre)], crs=crs).to_crs(4326).iloc[0]
    return spot.y, spot.x


def _hover_latlon(page, lat: float, lon: float) -> str:
    xy = page.evaluate(
        "([lat, lon]) => { const m = window.coverageMap.map;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }",
        [lat, lon],
    )
    page.mouse.move(xy[0], xy[1])
    page.mouse.move(xy[0] + 1, xy[1] + 1)
    tip = page.locator(".leaflet-tooltip.cv-tooltip")
    tip.wait_for(state="visible", timeout=5000)
    return tip.inner_text()


def test_sample_plan_map_shows_proposals_and_zones(browser, tmp_path):
    """`coverage plan` on the sample: its proposals and uncovered zones in the page."""
    if not (ROOT / "data" / "boundaries" / "communes.geojson").is_file():
        pytest.skip("sample data missing")
    from click.testing import CliRunner

    from coverage.cli import main

    html = tmp_path / "plan.html"
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        main, ["plan", "--add", "5", "--out", str(out), "--map", str(html)]
    )
    assert result.exit_code == 0, result.output
    proposed = pd.read_csv(out / "proposed_points.csv", encoding="utf-8-sig")
    page, router, errors = browser.open(html)
    try:
        assert page.locator("path.cv-proposed").count() == len(proposed) == 5
        zones = page.locator("path.cv-uncovered")
        assert zones.count() > 0
        page.screenshot(path=str(artifact("sample_plan.png")))
        page.get_by_label(re.compile("Uncovered zones")).uncheck()
        assert page.locator("path.cv-uncovered").count() == 0
        page.get_by_label(re.compile("Proposed")).uncheck()
        assert page.locator("path.cv-proposed").count() == 0
        page.get_by_label(re.compile("Population within 5 km")).check()
        assert page.locator("path.cv-layer-share").count() > 0
        assert errors == []
        assert router.aborted == []
    finally:
        page.close()
    redrawn = tmp_path / "redrawn.html"
    result = CliRunner().invoke(
        main, ["map", "--from", str(out), "--map", str(redrawn), "--lang", "vi"]
    )
    assert result.exit_code == 0, result.output
    page, _router, errors = browser.open(redrawn)
    try:
        assert page.locator("path.cv-proposed").count() == 5
        assert "Điểm đề xuất" in page.locator(".cv-legend").inner_text()
        assert errors == []
    finally:
        page.close()


def test_province_level_map(browser, tmp_path):
    provinces, points = province_layers()
    fmap = build_map(
        provinces, points, benchmark=BENCH, title="Provinces", level="province"
    )
    path = write_map(fmap, tmp_path / "provinces.html")
    page, router, errors = browser.open(path)
    try:
        assert page.locator("path.cv-commune").count() == len(provinces)
        assert "one shape per province" in page.locator(".cv-legend").inner_text()
        placeholder = page.locator("input.cv-search-input").get_attribute("placeholder")
        assert "province" in placeholder
        row = provinces.iloc[1]
        tip = _tooltip_after_hover(page, row["province_name"])
        assert row["province_name"] in tip
        shown = float(re.search(r"radius \(km\): ([0-9.]+)", tip).group(1))
        assert shown == pytest.approx(row["radius_km"], abs=5e-4)
        page.screenshot(path=str(artifact("province_hover.png")))
        assert errors == []
        assert router.aborted == []
    finally:
        page.close()


def test_long_names_and_huge_numbers_keep_the_layout(browser, tmp_path):
    communes, points = grid_layers()
    long_name = "Xã " + "Rất Dài " * 120
    communes.loc[communes["commune_code"] == "C05", "commune_name"] = long_name
    communes.loc[communes["commune_code"] == "C05", "population"] = 9_000_000_000
    fmap = build_map(
        communes, points, benchmark=BENCH, title="Tên rất dài " * 30, show_rings=False
    )
    path = write_map(fmap, tmp_path / "long.html")
    page, _router, errors = browser.open(path)
    try:
        viewport = page.viewport_size
        title = page.locator(".cv-title").bounding_box()
        assert title["width"] <= viewport["width"]
        tip = _tooltip_after_hover(page, "C05")
        assert long_name.strip()[:40] in tip
        box = page.locator(".leaflet-tooltip.cv-tooltip").bounding_box()
        assert box["width"] <= 340
        page.locator('path.cv-commune[data-code="C05"]').click(
            position={"x": 4, "y": 30}
        )
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "9,000,000,000" in popup.inner_text()
        page.wait_for_timeout(400)
        box = popup.bounding_box()
        assert box["width"] <= 360 and box["height"] <= 0.6 * viewport["height"] + 1
        assert page.locator(".cv-title").bounding_box()["height"] <= (
            0.3 * viewport["height"] + 1
        )
        legend = page.locator(".cv-legend").bounding_box()
        assert legend["x"] + legend["width"] <= viewport["width"]
        page.screenshot(path=str(artifact("long_names.png")))
        assert errors == []
    finally:
        page.close()


def test_template_syntax_shows_as_text(browser, tmp_path):
    communes, points = grid_layers()
    name = "{{ 7*7 }} {% if true %}x{% endif %}"
    communes.loc[communes["commune_code"] == "C05", "commune_name"] = name
    path = write_map(build_map(communes, points, benchmark=BENCH), tmp_path / "t.html")
    page, _router, errors = browser.open(path)
    try:
        assert name in _tooltip_after_hover(page, "C05")
        assert errors == []
    finally:
        page.close()


#: Least share of the country's pixels that must show a choropleth colour at the
#: initial (national) zoom: 0.11 with the former black outlines and default
#: clusters, about 0.68 now (clusters and province lines take the rest).
NATIONAL_MIN_CHOROPLETH_SHARE = 0.6


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    communes, points = national_layers()
    bench = Benchmark(name="national", title="n", radius_km=5.0, people_per_point=8000)
    fmap = build_map(communes, points, benchmark=bench, title="National test map")
    return communes, write_map(fmap, tmp_path_factory.mktemp("nat") / "national.html")


def test_national_zoom_shows_the_choropleth(browser, national):
    _communes, path = national
    page, _router, errors = browser.open(path, tiles=False, width=1400, height=900)
    try:
        zoom = page.evaluate("window.coverageMap.map.getZoom()")
        assert zoom <= 7
        page.screenshot(path=str(artifact("national_initial.png")))
        page.evaluate(
            "document.querySelectorAll('.leaflet-control-container, .cv-title')"
            ".forEach(e => { e.style.display = 'none'; })"
        )
        colours = [b.colour for b in (*RATIO_BINS, NO_POINT, MISSING)]
        png = page.screenshot(path=str(artifact("national_map_only.png")))
        share = choropleth_share(png, colours)
        assert share > NATIONAL_MIN_CHOROPLETH_SHARE, share
        # closer in, the outlines come back
        widths = page.evaluate(
            "(() => { const m = window.coverageMap.map;"
            " m.setZoom(11, {animate: false});"
            " const p = document.querySelector('path.cv-province');"
            " return p.getAttribute('stroke-width'); })()"
        )
        assert float(widths) >= 2
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


def test_clusters_are_not_choropleth_colours(browser, national):
    _communes, path = national
    page, _router, errors = browser.open(path, tiles=False, width=1400, height=900)
    try:
        icons = page.locator(".cv-cluster-icon")
        assert icons.count() > 5
        styles = page.eval_on_selector_all(
            ".cv-cluster-icon, .cv-legend .cv-cluster",
            "els => els.map(e => { const s = getComputedStyle(e);"
            " return [s.backgroundColor, s.borderTopColor, s.color]; })",
        )
        bins = [
            b.colour
            for b in (*RATIO_BINS, *NEEDED_BINS, *share_bins(0.95), NO_POINT, MISSING)
        ]
        bin_rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in bins]
        for triple in styles:
            for css in triple:
                rgb = _rgb(css)
                for ref in bin_rgb:
                    assert (
                        max(abs(a - b) for a, b in zip(rgb, ref, strict=True)) > 40
                    ), (css, ref)
        legend = page.locator(".cv-legend-points").inner_text()
        assert "not a coverage class" in legend
        assert (
            page.locator(".marker-cluster-small, .marker-cluster-medium").count() == 0
        )
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def test_initial_view_fits_the_mainland(browser, tmp_path):
    communes, points = national_layers(cell_deg=0.3, islands=True)
    path = write_map(build_map(communes, points, benchmark=BENCH), tmp_path / "i.html")
    page, _router, errors = browser.open(path, tiles=False, width=1400, height=900)
    try:
        # centred on the mainland (102.1-109.4 E), not pulled east to 114 E
        centre = page.evaluate("window.coverageMap.map.getCenter().lng")
        assert centre == pytest.approx((102.14 + 109.35) / 2, abs=0.3)
        inside = page.evaluate(
            "window.coverageMap.map.getBounds()"
            ".contains([[8.55, 102.14], [23.35, 109.35]])"
        )
        assert inside
        codes = communes["commune_code"].iloc[-12:]
        drawn = page.evaluate(
            "codes => codes.filter(c => window.coverageMap.byCode[c]).length",
            codes.tolist(),
        )
        assert drawn == 12
        page.screenshot(path=str(artifact("islands_view.png")))
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def test_no_internet_draws_the_light_basemap(browser, grid, grid_map):
    page, router, errors = browser.open(grid_map, tiles=False)
    try:
        page.wait_for_selector("path.cv-basemap", state="attached", timeout=5000)
        assert router.tile_requests > 0
        assert page.locator("path.cv-basemap").count() >= 1
        assert page.get_by_label("Light basemap (offline)").is_checked()
        # under the choropleth
        z = page.evaluate(
            "[getComputedStyle(document.querySelector('.leaflet-cv-basemap-pane'))"
            ".zIndex, getComputedStyle(document.querySelector("
            "'.leaflet-overlay-pane')).zIndex].map(Number)"
        )
        assert z[0] < z[1]
        page.get_by_label(re.compile("Service radius")).check()
        page.screenshot(path=str(artifact("grid_offline_basemap.png")))
        assert [e for e in errors if "pageerror" in e] == []
    finally:
        page.close()


def test_online_tiles_keep_the_basemap_off(browser, grid_map):
    page, router, _errors = browser.open(grid_map, tiles=True)
    try:
        page.wait_for_timeout(500)
        assert router.tile_requests > 0
        assert page.locator("path.cv-basemap").count() == 0
    finally:
        page.close()


def test_intranet_tile_template(browser, grid, tmp_path):
    communes, points = grid
    url = "http://intranet/tiles/{z}/{x}/{y}.png"
    fmap = build_map(communes, points, benchmark=BENCH, tiles=url)
    path = write_map(fmap, tmp_path / "intranet.html")
    page, router, _errors = browser.open(path)
    try:
        page.wait_for_selector("path.cv-basemap", state="attached", timeout=5000)
        asked = [u for u in router.aborted if u.startswith("http://intranet/tiles/")]
        assert asked and re.fullmatch(
            r"http://intranet/tiles/\d+/\d+/\d+\.png", asked[0]
        )
        assert router.tile_requests == 0
        assert page.get_by_label("Background tiles").is_checked()
    finally:
        page.close()


def test_mbtiles_tiles_load_from_the_folder_next_to_the_map(browser, grid, tmp_path):
    from browser_support import make_mbtiles, tile_png

    communes, points = grid
    tiles = {(0, 0, 0): tile_png()}
    mbtiles = make_mbtiles(tmp_path / "base.mbtiles", tiles, attribution="© Test")
    fmap = build_map(communes, points, benchmark=BENCH, tiles=mbtiles)
    path = write_map(fmap, tmp_path / "maps" / "gap.html")
    assert (tmp_path / "maps" / "gap_tiles" / "0" / "0" / "0.png").is_file()
    page, router, errors = browser.open(path)
    try:
        page.wait_for_function(
            "document.querySelectorAll('.leaflet-tile-loaded').length > 0",
            timeout=5000,
        )
        srcs = page.eval_on_selector_all(
            "img.leaflet-tile-loaded", "els => els.map(e => e.getAttribute('src'))"
        )
        assert srcs and all(s == "gap_tiles/0/0/0.png" for s in srcs)
        assert router.tile_requests == 0 and router.aborted == []
        assert page.locator("path.cv-basemap").count() == 0
        assert "© Test" in page.locator(".leaflet-control-attribution").inner_text()
        assert errors == []
    finally:
        page.close()


def test_vietnamese_numbers_in_the_page(browser, grid, tmp_path):
    communes, points = grid
    communes = communes.copy()
    communes.loc[communes["commune_code"] == "C05", "population"] = 4_583_912
    fmap = build_map(communes, points, benchmark=BENCH, lang="vi")
    path = write_map(fmap, tmp_path / "vi_numbers.html")
    page, _router, errors = browser.open(path)
    try:
        assert "1,125 km" in page.locator(".cv-legend").inner_text()
        assert "3.000 người/điểm" in page.locator(".cv-title").inner_text()
        tip = _tooltip_after_hover(page, "C05")
        radius = communes.loc[communes["commune_code"] == "C05", "radius_km"].iloc[0]
        assert f"{radius:.3f}".replace(".", ",") in tip
        page.locator('path.cv-commune[data-code="C05"]').click(
            position={"x": 4, "y": 30}
        )
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "4.583.912" in popup.inner_text()
        assert errors == []
    finally:
        page.close()


def test_simplified_zone_keeps_its_hole_in_the_page(browser, grid, tmp_path):
    """A zone of grid cells (ring-simplified on the map) keeps its hole in the page."""
    import geopandas as gpd
    import numpy as np
    import shapely

    communes, points = grid
    centre = gpd.GeoSeries([shapely.Point(105.39, 20.875)], crs=4326).to_crs(32648)
    cx, cy = float(centre.x.iloc[0]), float(centre.y.iloc[0])
    i, j = np.meshgrid(np.arange(-12, 12), np.arange(-12, 12))
    keep = ((np.abs(i + 0.5) > 4) | (np.abs(j + 0.5) > 4)).ravel()
    i, j = i.ravel()[keep], j.ravel()[keep]
    cells = shapely.box(
        cx + i * 250.0, cy + j * 250.0, cx + (i + 1) * 250.0, cy + (j + 1) * 250.0
    )
    zone = shapely.coverage_union_all(cells)
    assert len(zone.interiors) == 1
    zones = gpd.GeoDataFrame({"population": [4321]}, geometry=[zone], crs=32648)
    fmap = build_map(communes, points, benchmark=BENCH, uncovered=zones)
    html = write_map(fmap, tmp_path / "zone.html")
    page, _router, errors = browser.open(html)
    try:
        path = page.locator("path.cv-uncovered")
        assert path.count() == 1
        # the shell and the hole: two closed rings in one path
        assert path.get_attribute("d").count("M") == 2
        assert errors == []
    finally:
        page.close()
