"""``--lang vi`` prints Vietnamese: the terminal summary, the notes and the map.

The scan looks for English words from a list in what a reader sees, allowing file
names, paths, options, quoted codes and column names.
"""

from __future__ import annotations

import json
import pickle
import re
import sys
from pathlib import Path

import pytest
import shapely

from coverage.benchmarks import load_benchmark
from coverage.cli import main
from coverage.i18n import Note, format_text, note_text, number
from coverage.io import read_points, read_table

sys.path.insert(0, str(Path(__file__).parent))
from common import points_in, square_communes, write_points_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = (
    ROOT / "data" / "boundaries" / "communes.geojson",
    ROOT / "data" / "points" / "service_points.csv",
)

ENGLISH = (
    "people",
    "point",
    "points",
    "radius",
    "within",
    "optimal",
    "method",
    "status",
    "Outputs",
    "read as",
    "delimiter",
    "column",
    "commune",
    "communes",
    "benchmark",
    "meets",
    "fails",
    "failing",
    "needed",
    "share",
    "population",
    "average",
    "outside",
    "every",
    "listed",
    "counted",
    "assumed",
    "services",
    "proposed",
    "uncovered",
    "zones",
    "exact",
    "feasible",
    "notes",
    "the",
    "of",
    "and",
    "with",
    "no",
)
_WORDS = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b", re.IGNORECASE
)
# what may stay as written: paths and file names, options, quoted codes
_ALLOWED = re.compile(
    r"\S*[/\\]\S*|\S+\.(?:csv|geojson|gpkg|html|xlsx|json|tif)\b|--\S+|'[^']*'"
    r"|\b\w+_\w+\b"
)


def english_words(text: str) -> list[str]:
    """English words of the list found in ``text`` outside the allowed tokens."""
    return _WORDS.findall(_ALLOWED.sub(" ", text))


def test_scanner_finds_english_and_allows_names():
    assert english_words("Outputs:\n  /tmp/x/communes.csv") == ["Outputs"]
    assert english_words("a.csv: read as UTF-8, delimiter ','") == [
        "read as",
        "delimiter",
    ]
    assert english_words("cột (admin_services) --column commune_code=X 'other'") == []


# ---- notes: codes, English text unchanged, Vietnamese rendering ----------------

OLD_TEXTS = {
    ("read_as", "file=a.csv", "encoding=UTF-8", "delimiter=,"): (
        "a.csv: read as UTF-8, delimiter ','"
    ),
    ("no_column.kind",): "no kind column: all points counted as kind 'other'",
    ("no_column.staffed",): (
        "no staffed column: all points except letter boxes assumed staffed"
    ),
    ("no_column.admin_services",): (
        "no admin_services column: no point assumed to offer administrative "
        "(TTHC) services"
    ),
    ("no_column.commune_name",): "no commune name column: codes are used as names",
    ("geometry_repaired", "n=3"): "3 invalid geometry(ies) repaired",
}


@pytest.mark.parametrize("spec", list(OLD_TEXTS))
def test_note_english_text_is_the_old_text(spec):
    params = dict(p.split("=", 1) for p in spec[1:])
    params = {k: int(v) if v.isdigit() else v for k, v in params.items()}
    note = Note(spec[0], **params)
    assert note == OLD_TEXTS[spec]
    assert note_text(note, "en") == OLD_TEXTS[spec]
    assert english_words(note_text(note, "vi")) == []


def test_note_is_a_string_everywhere():
    more = Note("and_more", n=1200)
    note = Note("points_outside", n=1205, ids="p1, p2", more=more)
    assert note == (
        "1205 point(s) lie outside every commune (p1, p2 and 1200 more); they are "
        "listed in points_outside.csv and not counted"
    )
    assert json.loads(json.dumps([note])) == [str(note)]
    back = pickle.loads(pickle.dumps(note))
    assert isinstance(back, Note) and back == note
    assert note_text(back, "vi") == note_text(note, "vi")
    assert "1.200" in note_text(note, "vi")
    prefixed = note.with_prefix("pts.csv: ")
    assert prefixed == "pts.csv: " + note
    assert note_text(prefixed, "vi").startswith("pts.csv: ")
    assert note_text("a plain note", "vi") == "a plain note"


def test_vietnamese_numbers():
    assert number(4583.94, ",.1f", "vi") == "4.583,9"
    assert number(4583.94, ",.1f", "en") == "4,583.9"
    assert format_text("{n:,}/{m:,}", "vi", n=1007, m=3321) == "1.007/3.321"
    assert format_text("{n:,}/{m:,}", "en", n=1007, m=3321) == "1,007/3,321"


def test_every_profile_has_a_vietnamese_title():
    from coverage.benchmarks import list_benchmarks

    for bench in list_benchmarks():
        assert bench.title_vi, bench.name
        assert english_words(bench.title_in("vi").replace("Post Office", "")) == []
        assert bench.title_in("en") == bench.title


def test_readers_emit_notes_with_codes(tmp_path):
    points = points_in([0, 0, 1]).drop(columns=["kind", "staffed", "admin_services"])
    path = write_points_csv(points, tmp_path / "p.csv", encoding="utf-16")
    _, notes = read_table(path)
    assert notes == ["p.csv: read as UTF-16, delimiter ','"]
    assert [n.code for n in notes if isinstance(n, Note)] == ["read_as"]
    loaded = read_points(path)
    codes = [n.code for n in loaded.notes if isinstance(n, Note)]
    assert codes == [
        "read_as",
        "no_column.kind",
        "no_column.staffed",
        "no_column.admin_services",
    ]


# ---- the whole run: terminal summary, notes, map --------------------------------


def _summary_text(runner, *args) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def vi_run(tmp_path_factory):
    from click.testing import CliRunner

    runner = CliRunner()
    out = tmp_path_factory.mktemp("vi")
    text = _summary_text(
        runner,
        "analyze",
        "-b",
        str(SAMPLE[0]),
        "-p",
        str(SAMPLE[1]),
        "--lang",
        "vi",
        "--out",
        str(out / "out"),
        "--map",
        str(out / "map.html"),
    )
    return text, out


def test_vi_terminal_summary_has_no_english(vi_run):
    text, _ = vi_run
    assert "Ghi chú:" in text and "Các tệp kết quả:" in text
    assert english_words(text) == [], text
    bench = load_benchmark("vn-national-2024")
    assert bench.title_vi is not None and bench.title_vi in text
    assert "4.590,6 km²" in text and "854.000" in text


def test_vi_plan_summary_has_no_english(tmp_path):
    from click.testing import CliRunner

    text = _summary_text(
        CliRunner(),
        "plan",
        "-b",
        str(SAMPLE[0]),
        "-p",
        str(SAMPLE[1]),
        "--add",
        "3",
        "--lang",
        "vi",
        "--out",
        str(tmp_path / "plan"),
        "--no-map",
    )
    assert "tối ưu" in text and "phương pháp" in text
    assert english_words(text) == [], text


def test_vi_frequent_notes_have_no_english(tmp_path):
    from click.testing import CliRunner

    communes = square_communes(
        [
            {"commune_code": f"C{i}", "commune_name": f"Xã {i}", "population": 1500}
            for i in range(3)
        ]
    )
    boundaries = tmp_path / "xa.geojson"
    communes.to_crs(4326).to_file(boundaries)
    points = points_in([0, 1, 2, 2]).drop(columns=["kind", "staffed", "admin_services"])
    moved = points.copy()
    moved.loc[3, "geometry"] = shapely.Point(60_000, 5_000)
    csv = write_points_csv(moved, tmp_path / "diem.csv", encoding="utf-16")
    text = _summary_text(
        CliRunner(),
        "analyze",
        "-b",
        str(boundaries),
        "-p",
        str(csv),
        "--lang",
        "vi",
        "--out",
        str(tmp_path / "out"),
        "--no-map",
    )
    notes = text.split("Ghi chú:", 1)[1].split("Các tệp kết quả:", 1)[0]
    assert notes.count("\n  - ") >= 5, notes
    assert english_words(notes) == [], notes
    assert english_words(text) == [], text
    english = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert (
        "diem.csv: no kind column: all points counted as kind 'other'"
        in (english["notes"])
    )


@pytest.mark.browser
def test_vi_map_text_has_no_english(vi_run):
    from browser_support import Browser, require_browser

    require_browser()
    _, out = vi_run
    browser = Browser()
    try:
        page, _, errors = browser.open(out / "map.html")
        seen = [page.inner_text("body")]
        # a commune without any point: nothing covers its middle
        box = page.locator('path.cv-commune[data-code="04599"]').bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y + 1)
        tip = page.locator(".leaflet-tooltip.cv-tooltip")
        tip.wait_for(state="visible", timeout=5000)
        seen.append(tip.inner_text())
        assert "Số điểm phục vụ" in seen[-1]
        assert errors == []
    finally:
        browser.close()
    text = "\n".join(seen)
    # the map's own attribution and library credits are proper names
    text = re.sub(r"Leaflet|OpenStreetMap|contributors|©", " ", text)
    assert english_words(text) == [], text


def test_summary_counts_have_separators(vi_run):
    from coverage.output.report import format_summary

    _, out = vi_run
    summary = json.loads((out / "out" / "summary.json").read_text("utf-8"))
    summary["overall"].update(n_communes_staffed=1007, n_communes=3321)
    assert "1,007/3,321" in format_summary(summary, lang="en")
    vi = format_summary(summary, lang="vi")
    assert "1.007/3.321" in vi
    # without the profile the summary's own (English) title is shown
    assert summary["benchmark"]["title"] in vi
    bench = load_benchmark("vn-national-2024")
    assert bench.title_vi in format_summary(summary, lang="vi", benchmark=bench)
    assert bench.title in format_summary(summary, lang="en", benchmark=bench)
