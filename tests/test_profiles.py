"""Benchmark profile schema: every bad profile is refused with exit 2, naming its keys.

Each case writes a TOML file, runs ``coverage analyze --benchmark FILE`` and checks
the exact exit code and message, that the inputs are unchanged and that nothing
is written; the shipped profiles must still load with their documented values.
"""

from __future__ import annotations

import hashlib
import tomllib
import warnings
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from coverage.benchmarks import (
    Benchmark,
    DistanceRule,
    list_benchmarks,
    load_benchmark,
    parse_benchmark,
)
from coverage.cli import main
from coverage.errors import InputError

KEYS = (
    "valid keys: name, title, title_vi, radius_km, people_per_point, require_staffed, "
    "distance_rules, time_rules, sources, capacity"
)
RULE_KEYS = "valid keys: distance_km, min_share, scope"
RADIUS = "'radius_km' must be a number of km from 0.001 to 20,000"
PEOPLE = "'people_per_point' must be a number of people from 1 to 10,000,000,000"
RULES_ARRAY = (
    "'distance_rules' must be an array of tables such as "
    "[{ distance_km = 5.0, min_share = 0.95 }]"
)
STAFFED = (
    "'require_staffed' must be a TOML boolean (true or false, without quotes), "
    "got a string ('no')"
)

CASES = [
    ("rules-integer", "distance_rules = 5", f"{RULES_ARRAY}, got 5"),
    (
        "rules-string",
        'distance_rules = "5 km"',
        f"{RULES_ARRAY}, got a string ('5 km')",
    ),
    (
        "rules-table",
        "distance_rules = { distance_km = 5.0, min_share = 0.95 }",
        f"{RULES_ARRAY}, got a table",
    ),
    (
        "rule-integer",
        "distance_rules = [4]",
        "'distance_rules[0]' must be a table such as "
        "{ distance_km = 5.0, min_share = 0.95 }, got 4",
    ),
    (
        "sources-integer",
        "sources = 3",
        "'sources' must be a string or an array of strings, got 3",
    ),
    (
        "sources-mixed",
        'sources = ["report", 2]',
        "'sources' must be a string or an array of strings, got an array "
        "(['report', 2])",
    ),
    ("radius-nan", "radius_km = nan", f"{RADIUS}, got nan"),
    ("radius-inf", "radius_km = inf", f"{RADIUS}, got inf"),
    ("radius-minus-inf", "radius_km = -inf", f"{RADIUS}, got -inf"),
    ("radius-zero", "radius_km = 0", f"{RADIUS}, got 0"),
    ("radius-negative", "radius_km = -2.9", f"{RADIUS}, got -2.9"),
    ("radius-tiny", "radius_km = 1e-300", f"{RADIUS}, got 1e-300"),
    ("radius-huge", "radius_km = 1e308", f"{RADIUS}, got 1e+308"),
    ("radius-boolean", "radius_km = true", f"{RADIUS}, got a boolean (True)"),
    ("radius-string", 'radius_km = "2.9"', f"{RADIUS}, got a string ('2.9')"),
    ("people-zero", "people_per_point = 0", f"{PEOPLE}, got 0"),
    ("people-negative", "people_per_point = -7105", f"{PEOPLE}, got -7105"),
    ("people-tiny", "people_per_point = 1e-300", f"{PEOPLE}, got 1e-300"),
    ("people-fraction", "people_per_point = 0.5", f"{PEOPLE}, got 0.5"),
    ("people-nan", "people_per_point = nan", f"{PEOPLE}, got nan"),
    ("people-inf", "people_per_point = inf", f"{PEOPLE}, got inf"),
    (
        "typo-radius",
        "radius_kms = 3",
        f"unknown key 'radius_kms' (did you mean 'radius_km'? {KEYS})",
    ),
    (
        "typo-staffed",
        "require_staff = true",
        f"unknown key 'require_staff' (did you mean 'require_staffed'? {KEYS})",
    ),
    ("unknown-key", "colour = 3", f"unknown key 'colour' ({KEYS})"),
    ("staffed-string", 'require_staffed = "no"', STAFFED),
    (
        "staffed-integer",
        "require_staffed = 0",
        "'require_staffed' must be a TOML boolean (true or false, without quotes), "
        "got 0",
    ),
    (
        "rule-typo",
        "distance_rules = [{ distnce_km = 5.0, min_share = 0.95 }]",
        "unknown key 'distance_rules[0].distnce_km' (did you mean 'distance_km'? "
        f"{RULE_KEYS}); 'distance_rules[0]' lacks 'distance_km'",
    ),
    (
        "rule-share-above-one",
        "distance_rules = [{ distance_km = 5.0, min_share = 95 }]",
        "'distance_rules[0].min_share' must be a number from 0 to 1, got 95",
    ),
    (
        "rule-distance-nan",
        "distance_rules = [{ distance_km = nan, min_share = 0.95 }]",
        "'distance_rules[0].distance_km' must be a number of km from 0.001 to "
        "20,000, got nan",
    ),
    (
        "rule-scope-typo",
        'distance_rules = [{ distance_km = 5.0, min_share = 0.95, scope = "rual" }]',
        "'distance_rules[0].scope' must be one of all, rural, urban, got a string "
        "('rual') (did you mean 'rural'?)",
    ),
    (
        "title-integer",
        "title = 2025",
        "'title' must be a string, got 2025",
    ),
]


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def _analyze(runner, layers, toml: Path, out: Path):
    boundaries, points = layers
    args = ["analyze", "-b", str(boundaries), "-p", str(points), "--no-map"]
    args += ["--out", str(out), "--benchmark", str(toml)]
    return runner.invoke(main, args, catch_exceptions=False)


@pytest.mark.parametrize(
    ("line", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_profile_is_refused(runner, small_layers, tmp_path, line, problem):
    toml = tmp_path / "mine.toml"
    toml.write_text(f'name = "mine"\n{line}\n', encoding="utf-8")
    before = _digest(toml, *small_layers)
    out = tmp_path / "out"
    result = _analyze(runner, small_layers, toml, out)
    assert _digest(toml, *small_layers) == before
    assert result.exit_code == 2, result.output
    expected = f"Error: {toml}: invalid benchmark profile: {problem}"
    assert result.output.strip().splitlines() == [expected]
    assert not out.exists()


def test_every_problem_is_reported_at_once(runner, small_layers, tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text(
        "radius_kms = 3\nradius_km = nan\npeople_per_point = 1e-300\n"
        'require_staffed = "no"\ndistance_rules = 5\nsources = 3\n',
        encoding="utf-8",
    )
    before = _digest(toml, *small_layers)
    result = _analyze(runner, small_layers, toml, tmp_path / "out")
    assert _digest(toml, *small_layers) == before
    assert result.exit_code == 2
    problems = [
        f"unknown key 'radius_kms' (did you mean 'radius_km'? {KEYS})",
        "'name' must be a non-empty string (a short identifier)",
        f"{RADIUS}, got nan",
        f"{PEOPLE}, got 1e-300",
        STAFFED,
        f"{RULES_ARRAY}, got 5",
        "'sources' must be a string or an array of strings, got 3",
    ]
    expected = f"Error: {toml}: invalid benchmark profile: " + "; ".join(problems)
    assert result.output.strip().splitlines() == [expected]


def test_extreme_valid_profile_runs_without_warnings(runner, small_layers, tmp_path):
    toml = tmp_path / "edge.toml"
    toml.write_text(
        'name = "edge"\nradius_km = 0.001\npeople_per_point = 1\n'
        "require_staffed = false\n"
        "distance_rules = [{ distance_km = 20000, min_share = 1.0 }]\n",
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _analyze(runner, small_layers, toml, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output


def test_readme_example_loads(tmp_path):
    toml = tmp_path / "my.toml"
    toml.write_text(
        'name = "my-target"\ntitle = "Provincial target 2027"\nradius_km = 2.5\n'
        "people_per_point = 3000\nrequire_staffed = true\n"
        'sources = ["Provincial plan 2027"]\n',
        encoding="utf-8",
    )
    assert load_benchmark(toml) == Benchmark(
        name="my-target",
        title="Provincial target 2027",
        radius_km=2.5,
        people_per_point=3000.0,
        require_staffed=True,
        sources=("Provincial plan 2027",),
        path=str(toml),
    )


SHIPPED = {
    "be-5km-10km": (None, None, False, ((5.0, 0.95, "all"), (10.0, 0.98, "all"))),
    "it-universal-service": (
        None,
        None,
        False,
        ((3.0, 0.75, "all"), (5.0, 0.925, "all"), (6.0, 0.975, "all")),
    ),
    "nl-5km": (None, None, False, ((5.0, 0.95, "all"),)),
    "pt-6km": (None, None, False, ((6.0, 0.95, "all"),)),
    "uk-post-office": (
        None,
        None,
        False,
        ((4.83, 0.99, "all"), (1.61, 0.90, "all"), (4.83, 0.95, "rural")),
    ),
    "vn-mic-2015": (2.87, 7032.0, True, ()),
    "vn-national-2024": (2.9, 7105.0, True, ()),
    "vn-staffed-commune": (None, None, True, ()),
    "vn-strategy-2025": (None, 3700.0, True, ()),
    "fr-20min-car": (None, None, False, ()),
    "ch-20min-walk": (None, None, False, ()),
}


def test_shipped_profiles_load_unchanged():
    loaded = {b.name: b for b in list_benchmarks()}
    assert set(loaded) == set(SHIPPED)
    for name, (radius, people, staffed, rules) in SHIPPED.items():
        bench = loaded[name]
        assert (bench.radius_km, bench.people_per_point) == (radius, people), name
        assert bench.require_staffed is staffed, name
        assert bench.distance_rules == tuple(DistanceRule(*r) for r in rules), name
        assert bench.sources and bench.title, name


def test_shipped_profile_files_parse_by_path():
    folder = resources.files("coverage") / "profiles"
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as path:
                bench = load_benchmark(path)
            assert bench.name == Path(entry.name).stem
            assert replace(bench, path=None) == replace(
                load_benchmark(bench.name), path=None
            )


def test_parse_benchmark_names_origin_and_keys():
    with pytest.raises(InputError) as info:
        parse_benchmark({"name": "", "radius_km": float("nan")}, origin="x.toml")
    assert str(info.value) == (
        "x.toml: invalid benchmark profile: 'name' must be a non-empty string "
        f"(a short identifier), got a string (''); {RADIUS}, got nan"
    )


def test_parse_benchmark_accepts_integers_and_one_source():
    data = tomllib.loads('name = "n"\nradius_km = 3\nsources = "one"\n')
    bench = parse_benchmark(data, origin="n.toml")
    assert bench.radius_km == 3.0 and isinstance(bench.radius_km, float)
    assert bench.sources == ("one",)
    assert bench.require_staffed is True
