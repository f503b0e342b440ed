"""Service-point coverage planner.

Postal benchmark metrics per commune, district and province, distance-based access,
interactive gap maps and the siting of new service points.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # computed on first use: importing the package stays instant, so the console
    # entry point catches a Ctrl-C from its very first moment
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coverage-planner")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0+unknown"
