"""Compare two folders of coverage outputs: every CSV and JSON byte for byte.

The structure refactor (issue 14) must not change a byte of what a user gets. This
script runs a fixed set of commands (``--run REPO OUT``) and compares two such
folders (``--compare A B``):

* ``.csv`` files byte for byte;
* ``.json`` files as parsed JSON, ignoring timings (``seconds``, ``elapsed``,
  ``time_s`` keys) which differ between any two runs;
* ``.xlsx`` workbooks cell by cell (xlsxwriter stamps the creation time);
* ``.gpkg`` GeoPackages layer by layer, attribute and geometry values (SQLite pages
  carry timestamps);
* ``.html`` maps after replacing folium's random element ids.

Usage::

    python bench/compare_outputs.py --run . /tmp/before       # on the old commit
    python bench/compare_outputs.py --run . /tmp/after        # on the new one
    python bench/compare_outputs.py --compare /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

TIMING_KEYS = {"seconds", "elapsed", "elapsed_s", "time_s", "solve_time_s", "wall_s"}


def _commands(repo: Path, nat: Path) -> list[list[str]]:
    b = str(repo / "data/boundaries/communes.geojson")
    p = str(repo / "data/points/service_points.csv")
    nb, npts = str(nat / "communes.gpkg"), str(nat / "service_points.csv")
    return [
        ["analyze", "-b", b, "-p", p, "--out", "s_en", "--map", "s_en/map.html"],
        [
            "analyze",
            "-b",
            b,
            "-p",
            p,
            "--out",
            "s_vi",
            "--lang",
            "vi",
            "--map",
            "s_vi/map.html",
        ],
        [
            "analyze",
            "-b",
            b,
            "-p",
            p,
            "--out",
            "s_uk",
            "-B",
            "uk-post-office",
            "--no-map",
        ],
        [
            "plan",
            "-b",
            b,
            "-p",
            p,
            "--add",
            "10",
            "--out",
            "s_plan",
            "--map",
            "s_plan/plan.html",
        ],
        [
            "plan",
            "-b",
            b,
            "-p",
            p,
            "--target",
            "communes",
            "--out",
            "s_plan2",
            "--no-map",
        ],
        ["map", "--from", "s_en", "--lang", "vi", "--map", "s_redraw/map.html"],
        [
            "analyze",
            "-b",
            nb,
            "-p",
            npts,
            "--cell-m",
            "1000",
            "--by",
            "province",
            "--out",
            "n_prov",
            "--map",
            "n_prov/map.html",
        ],
    ]


def run(repo: Path, out: Path, nat: Path) -> None:
    """Run the fixed commands of ``repo``'s installed ``coverage`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if not (nat / "communes.gpkg").exists():
        subprocess.run(
            [
                sys.executable,
                str(repo / "bench/make_national.py"),
                "--shape",
                "post2025",
                "--out",
                str(nat),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    for args in _commands(repo, nat):
        subprocess.run(["coverage", "-q", *args], cwd=out, check=True)


def _strip_timings(value):
    if isinstance(value, dict):
        return {k: _strip_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip_timings(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        # runs from two checkouts record their own absolute input paths
        return Path(value).name
    return value


def _html(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return re.sub(r"_[0-9a-f]{32}\b", "_ID", text)


def _xlsx(path: Path) -> dict:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def _gpkg(path: Path) -> dict:
    import pyogrio

    layers = {}
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        geoms = df.geometry.to_wkb().tolist() if "geometry" in df else []
        attrs = df.drop(columns="geometry", errors="ignore")
        layers[name] = (list(df.columns), attrs.to_csv(index=False), geoms)
    return layers


def differences(a: Path, b: Path) -> list[str]:
    """Every file that is missing on one side or differs in content."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    problems = [f"only in {a}: {p}" for p in sorted(files_a - files_b)]
    problems += [f"only in {b}: {p}" for p in sorted(files_b - files_a)]
    for rel in sorted(files_a & files_b):
        pa, pb = a / rel, b / rel
        suffix = rel.suffix
        if suffix == ".json":
            same = _strip_timings(json.loads(pa.read_text("utf-8"))) == _strip_timings(
                json.loads(pb.read_text("utf-8"))
            )
        elif suffix == ".html":
            same = _html(pa) == _html(pb)
        elif suffix == ".xlsx":
            same = _xlsx(pa) == _xlsx(pb)
        elif suffix == ".gpkg":
            same = _gpkg(pa) == _gpkg(pb)
        else:
            same = pa.read_bytes() == pb.read_bytes()
        if not same:
            problems.append(f"differs: {rel}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--run", nargs=2, metavar=("REPO", "OUT"))
    group.add_argument("--compare", nargs=2, metavar=("A", "B"))
    parser.add_argument(
        "--national", default="bench/national/compare_post2025", type=Path
    )
    args = parser.parse_args()
    if args.run:
        repo, out = (Path(p).resolve() for p in args.run)
        run(repo, out, args.national.resolve())
        print(f"outputs in {out}")
        return 0
    problems = differences(*(Path(p) for p in args.compare))
    for line in problems:
        print(line)
    print(f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
