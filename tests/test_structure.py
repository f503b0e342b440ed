"""The package's own conventions, checked over every module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import coverage
from coverage.model import DEFAULT_CELL_M
from coverage.pipeline import plan_analysis, run_plan


def _functions():
    for info in pkgutil.walk_packages(coverage.__path__, "coverage."):
        if info.name.startswith("coverage.cli"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isfunction):
            if obj.__module__ == info.name:
                yield obj


def test_one_default_cell_size():
    defaults = {
        f"{f.__module__}.{f.__qualname__}": inspect.signature(f).parameters["cell_m"]
        for f in _functions()
        if "cell_m" in inspect.signature(f).parameters
    }
    assert defaults
    # a default cell size is the constant itself, never a literal copy of it
    literal = {
        name: param.default
        for name, param in defaults.items()
        if param.default is not param.empty and param.default is not DEFAULT_CELL_M
    }
    assert literal == {}


def test_the_plan_takes_its_cell_size_from_the_surface():
    for func in (plan_analysis, run_plan):
        assert "cell_m" not in inspect.signature(func).parameters
