"""Dask distributed: the client, one task per province, progress and errors.

:class:`DaskAccess` is the :class:`~coverage.pipeline.analyze.DistanceEngine` of
``coverage analyze --scheduler``: it connects to a scheduler (or starts a
``LocalCluster``), submits :func:`~coverage.distributed.tasks.run_province` for
every province, counts finished tasks as they complete, and hands the cells to
:func:`~coverage.distributed.assemble.assemble`. Dask is imported only here,
when a run asks for it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CoverageError, InputError
from .tasks import (
    MIN_HALO_KM,
    PartitionInputs,
    ProvinceCells,
    ProvinceTask,
    SharedInputs,
    run_province,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from ..access import AccessResult
    from ..model import AccessOptions

__all__ = [
    "DaskAccess",
    "DistributedError",
    "Tracker",
    "dask_client",
    "parse_scheduler",
    "require_dask",
    "run_tasks",
]

#: Wraps the finished tasks in a progress bar: called with them and a label,
#: returns a context yielding them back (as ``click.progressbar``).
Tracker = Callable[[Sequence[Any], str], AbstractContextManager[Iterable[Any]]]

_INSTALL = "pip install 'coverage-planner[dask]'"


class DistributedError(CoverageError, RuntimeError):
    """A cluster could not be reached or a province task failed (exit 1)."""

    exit_code = 1


def require_dask() -> None:
    """Raise :class:`InputError` when the ``dask`` extra is not installed."""
    missing = [
        name
        for name in ("dask", "distributed")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        msg = (
            f"--scheduler needs Dask distributed ({', '.join(missing)} not "
            f"installed): {_INSTALL}"
        )
        raise InputError(msg)


def parse_scheduler(text: str) -> tuple[str | None, int | None]:
    """Split ``--scheduler``: ``(address, None)`` or ``(None, n_workers)``.

    ``local`` starts one worker process per core, ``local:N`` N of them.

    Examples
    --------
    >>> parse_scheduler("local:2")
    (None, 2)
    >>> parse_scheduler("tcp://10.0.0.5:8786")
    ('tcp://10.0.0.5:8786', None)
    """
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text.removeprefix("local").removeprefix(":") or str(os.cpu_count() or 1)
        if not count.isdigit() or int(count) < 1:
            msg = f"--scheduler {text!r}: use local or local:N with N >= 1 workers"
            raise InputError(msg)
        return None, int(count)
    if not text:
        msg = "--scheduler needs an address (tcp://HOST:8786) or local[:N]"
        raise InputError(msg)
    return text, None


@contextlib.contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for ``--scheduler`` and close it after.

    Raises
    ------
    InputError
        When Dask is not installed or the address is malformed.
    DistributedError
        When the scheduler cannot be reached.
    """
    require_dask()
    from distributed import Client, LocalCluster

    address, n_workers = parse_scheduler(scheduler)
    # Dask logs every connection at INFO; the run's own verbosity decides
    quiet = max(logging.WARNING, logging.getLogger().getEffectiveLevel())
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(quiet)
    with contextlib.ExitStack() as stack:
        stack.callback(logger.setLevel, level)
        try:
            if address is None:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                )
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(address, timeout="20s"))
                _wait_for_a_worker(client, scheduler)
        except (OSError, TimeoutError) as exc:
            msg = (
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                "with `dask scheduler` and workers with `dask worker ADDRESS`, or "
                "use --scheduler local"
            )
            raise DistributedError(msg) from None
        except ValueError as exc:
            msg = f"--scheduler {scheduler!r}: {exc}"
            raise InputError(msg) from None
        yield client


def _wait_for_a_worker(client: Any, scheduler: str) -> None:
    """Refuse a scheduler without workers: its tasks would wait forever."""
    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError:
        msg = (
            f"the Dask scheduler at {scheduler} has no worker after 60 s; start "
            f"some with `dask worker {scheduler}`"
        )
        raise DistributedError(msg) from None


class _Completed(list[Any]):
    """The futures, iterated in the order they finish (``as_completed``)."""

    def __iter__(self) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(list.__iter__(self)))


def _task_error(province: str, exc: BaseException) -> CoverageError:
    label = repr(province) if province else "(no province name)"
    detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    if isinstance(exc, ImportError):
        detail += "; install coverage-planner on every worker"
    if type(exc).__name__ == "KilledWorker":
        detail = (
            f"its worker process died repeatedly ({detail}); check the workers' "
            "memory (a coarser --cell-m needs less)"
        )
    if isinstance(exc, InputError):
        return InputError(f"province {label}: {exc}")
    return DistributedError(
        f"the task of province {label} failed: {detail}; no output was written"
    )


def run_tasks(
    client: Any,
    tasks: Sequence[ProvinceTask],
    point_xy: Any,
    *,
    track: Tracker | None = None,
) -> list[ProvinceCells]:
    """Submit one task per province and gather every result.

    Parameters
    ----------
    client
        A ``distributed.Client``.
    tasks
        The provinces.
    point_xy
        Metric coordinates of the counted points (scattered to every worker).
    track
        Progress bar over the tasks as they finish (e.g. ``Progress.track``).

    Raises
    ------
    DistributedError
        Naming the first province whose task failed; the others are cancelled.
    """
    scattered = client.scatter(point_xy, broadcast=True)
    submitted = [
        client.submit(run_province, task, scattered, pure=False) for task in tasks
    ]
    province = {f.key: t.province for f, t in zip(submitted, tasks, strict=True)}
    futures = _Completed(submitted)
    results: list[ProvinceCells] = []
    tracked = (
        contextlib.nullcontext(futures)
        if track is None
        else track(futures, "provinces")
    )
    try:
        with tracked as finished:
            for future in finished:
                try:
                    results.append(future.result())
                except Exception as exc:  # the remote error, re-raised here
                    raise _task_error(province[future.key], exc) from None
    finally:
        client.cancel(submitted, force=True)
    if len(results) != len(tasks):
        msg = f"{len(tasks) - len(results)} province task(s) returned nothing"
        raise DistributedError(msg)
    return results


@dataclass
class DaskAccess:
    """Surface and distances on a Dask cluster, one task per province.

    Attributes
    ----------
    scheduler
        ``tcp://HOST:PORT`` of a running scheduler, or ``local[:N]``.
    source
        Where the workers read the communes: the input layers on a shared path
        or a partition folder of ``coverage partition``.
    track
        Progress bar over the finished tasks.
    halo_km
        Starting halo; default the largest threshold or zone distance, at least
        :data:`~coverage.distributed.tasks.MIN_HALO_KM`.
    """

    scheduler: str
    source: SharedInputs | PartitionInputs
    track: Tracker | None = None
    halo_km: float | None = None

    def __call__(
        self,
        communes: gpd.GeoDataFrame,
        points: gpd.GeoDataFrame,
        *,
        thresholds_km: tuple[float, ...],
        zone_threshold_km: float,
        options: AccessOptions,
        on_stage: Callable[[str], None] | None,
    ) -> AccessResult:
        """Return the national access result computed by the cluster's workers."""
        from .assemble import assemble, national_frame

        if options.raster is not None or options.settlements is not None:
            msg = (
                "--scheduler spreads population uniformly over the grid; drop "
                "--population-raster/--settlements or run without --scheduler"
            )
            raise InputError(msg)
        if "province_name" not in communes.columns:
            msg = (
                "--scheduler sends one task per province and needs a province "
                "column; name it with -c province_name=COLUMN"
            )
            raise InputError(msg)
        require_dask()
        parts = _partition_files(self.source, communes)
        names = sorted(parts)
        if on_stage:
            on_stage(
                f"population surface ({options.cell_m:g} m cells) and distances: "
                f"{len(names)} province task(s) on {self.scheduler}"
            )
        frame = national_frame(communes, points, thresholds_km=thresholds_km)
        halo = self.halo_km or max(MIN_HALO_KM, zone_threshold_km, *thresholds_km)
        tasks = [
            ProvinceTask(
                province=name,
                part=parts[name],
                source=self.source,
                crs=frame.surface.crs,
                origin_m=frame.surface.origin_m,
                cell_m=float(options.cell_m),
                halo_km=float(halo),
            )
            for name in names
        ]
        with dask_client(self.scheduler) as client:
            cells = run_tasks(client, tasks, frame.point_xy, track=self.track)
        if on_stage:
            n_cells = sum(len(c) for c in cells)
            on_stage(f"gathering {n_cells:,} cells of {len(cells)} province(s)")
        by_name = {c.province: c for c in cells}
        return assemble(frame, [by_name[n] for n in names], cell_m=options.cell_m)


def _partition_files(
    source: SharedInputs | PartitionInputs, communes: gpd.GeoDataFrame
) -> dict[str, str]:
    """Map each province to its partition file ("" for shared inputs)."""
    names = communes["province_name"].astype("string").fillna("").unique().tolist()
    if isinstance(source, SharedInputs):
        return dict.fromkeys(names, "")
    from .partition import read_manifest

    return read_manifest(source.folder, communes)
