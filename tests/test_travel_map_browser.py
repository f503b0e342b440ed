"""The travel-time map layer in a real browser: layer, legend and hover text."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coverage.maps import build_map, write_map

sys.path.insert(0, str(Path(__file__).parent))
from browser_support import BENCH, Browser, grid_layers, require_browser

pytestmark = pytest.mark.browser


def test_travel_layer_has_minutes_in_hover_and_popup(tmp_path):
    require_browser()
    communes, points = grid_layers()
    communes = communes.copy()
    communes["mean_time_min"] = [5.0 + 20.0 * i for i in range(len(communes))]
    communes["p90_time_min"] = communes["mean_time_min"] + 4.3
    fmap = build_map(communes, points, benchmark=BENCH, title="t", travel=True)
    path = write_map(fmap, tmp_path / "travel.html")
    browser = Browser()
    try:
        page, _router, errors = browser.open(path, tiles=False)
        assert page.evaluate("'time' in window.coverageMap.layers")
        page.evaluate(
            "(() => { const m = window.coverageMap; "
            "Object.values(m.layers).forEach(l => m.map.removeLayer(l)); "
            "m.layers.time.addTo(m.map); })()"
        )
        text = page.evaluate(
            "(() => { const l = window.coverageMap.layers.time.getLayers()[1]; "
            "l.openTooltip(l.getBounds().getCenter()); "
            "return l.getTooltip().getElement().textContent; })()"
        )
        assert "Mean travel time (min): 25.0" in text
        assert "90% of people within (min): 29.3" in text
        popup = page.evaluate(
            "(() => { const l = window.coverageMap.layers.time.getLayers()[1]; "
            "l.openPopup(); return l.getPopup().getElement().textContent; })()"
        )
        assert "Mean travel time (min)" in popup
        assert not [e for e in errors if e.startswith("pageerror")], errors
    finally:
        browser.close()
