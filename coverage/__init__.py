"""Service-point coverage planner.

Postal benchmark metrics per commune, district and province, distance-based access,
interactive gap maps and the siting of new service points.

The public API, each name imported on first use (``import coverage`` stays fast):

* :func:`load_benchmark` -- a shipped benchmark profile or a TOML file;
* :func:`analyze` -- validate both layers, compute metrics, distances and gaps;
* :func:`plan_sites` -- choose new sites for an analysis (``coverage plan``);
  the name ``coverage.plan`` is the solver subpackage;
* :func:`build_map` -- the interactive gap map of an analysis (a folium map).

Examples
--------
On the bundled synthetic sample (``data/`` of the source tree):

>>> import coverage
>>> sample = coverage.find_sample()
>>> if sample is None:  # installed without the repository's data/
...     import pytest; pytest.skip("the bundled sample data/ is not here")
>>> bench = coverage.load_benchmark("vn-national-2024")
>>> bench.radius_km, bench.people_per_point
(2.9, 7105.0)
>>> from coverage.model import AccessOptions
>>> coarse = AccessOptions(cell_m=1000)  # 1 km cells keep the example quick
>>> analysis = coverage.analyze(*sample, benchmark=bench, access=coarse)
>>> len(analysis.communes), int(analysis.summary["overall"]["n_communes_failing"])
(151, 61)
>>> run = coverage.plan_sites(analysis, radius_km=2.9, add=3)
>>> len(run.proposed)
3
>>> fmap = coverage.build_map(analysis.communes, analysis.points, benchmark=bench)
>>> fmap.get_name().startswith("map")
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .benchmarks import load_benchmark
    from .maps import build_map
    from .pipeline.analyze import analyze, find_sample
    from .pipeline.plan import plan_analysis as plan_sites

__all__ = [
    "__version__",
    "analyze",
    "build_map",
    "find_sample",
    "load_benchmark",
    "plan_sites",
]

# public name -> (module, attribute), imported on first access
_LAZY = {
    "analyze": ("coverage.pipeline.analyze", "analyze"),
    "build_map": ("coverage.maps", "build_map"),
    "find_sample": ("coverage.pipeline.analyze", "find_sample"),
    "load_benchmark": ("coverage.benchmarks", "load_benchmark"),
    "plan_sites": ("coverage.pipeline.plan", "plan_analysis"),
}


def __getattr__(name: str) -> Any:
    """Import a public function on first use (PEP 562)."""
    if name == "__version__":
        # computed on first use: importing the package stays instant, so the
        # console entry point catches a Ctrl-C from its very first moment
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("coverage-planner")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        msg = f"module 'coverage' has no attribute {name!r}"
        raise AttributeError(msg) from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
