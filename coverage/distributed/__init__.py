"""Distributed runs on a Dask cluster, one task per province.

=================  ========================================================
module             job
=================  ========================================================
``tasks``          the per-province task (surface, halo rule, distances)
``assemble``       the client's national frame and the gathering of cells
``cluster``        client or ``LocalCluster``, submitting, progress, errors
``partition``      ``coverage partition``: one GeoParquet per province
=================  ========================================================

Importing this package does not import Dask; :mod:`.cluster` does when a run
connects. The halo rule that keeps distances exact is stated in :mod:`.tasks`.
"""

from __future__ import annotations

from .cluster import DaskAccess, DistributedError, parse_scheduler, require_dask
from .tasks import PartitionInputs, SharedInputs

__all__ = [
    "DaskAccess",
    "DistributedError",
    "PartitionInputs",
    "SharedInputs",
    "parse_scheduler",
    "require_dask",
]
