"""Service-point coverage planner.

Postal benchmark metrics per commune, district and province, distance-based access,
interactive gap maps and the siting of new service points.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coverage-planner")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
