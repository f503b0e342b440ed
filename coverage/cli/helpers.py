"""What the commands share: the sample fallback, progress lines, output listing."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import click

__all__ = [
    "Progress",
    "default_map_path",
    "echo_outputs",
    "guard_run",
    "input_paths",
    "map_title_for",
    "resolve_inputs",
]

_T = TypeVar("_T")


def resolve_inputs(
    ctx: click.Context, boundaries: str | None, points: str | None
) -> tuple[str, str, bool]:
    """Return both input paths and whether they are the bundled sample.

    Raises
    ------
    click.UsageError
        When only one layer is given, or neither and no sample is found.
    """
    from ..pipeline import find_sample

    if boundaries is None and points is None:
        sample = find_sample()
        if sample is None:
            raise click.UsageError(
                "no --boundaries/--points given and the bundled sample (data/) was "
                "not found; run from the project folder or pass both files",
                ctx=ctx,
            )
        return str(sample[0]), str(sample[1]), True
    if boundaries is None or points is None:
        missing = "--boundaries" if boundaries is None else "--points"
        raise click.UsageError(f"{missing} is needed too", ctx=ctx)
    return boundaries, points, False


def default_map_path(out_dir: str | Path) -> Path:
    """Return ``maps/<output folder name>.html`` (``maps/coverage.html`` for ``out``).

    Two runs into different folders thus draw different maps.

    Examples
    --------
    >>> default_map_path("out").as_posix(), default_map_path("out/plan").as_posix()
    ('maps/coverage.html', 'maps/plan.html')
    """
    from ..output.guard import resolve

    name = resolve(out_dir).name
    return Path("maps") / f"{'coverage' if name in ('', 'out') else name}.html"


def input_paths(
    **options: str | Path | None,
) -> list[tuple[str, str | Path]]:
    """Return ``(--option, path)`` for every input given (keyword ``points_crs`` ...).

    A ``benchmark`` is a path only when it is a file or ends in ``.toml``.
    """
    out: list[tuple[str, str | Path]] = []
    for name, value in options.items():
        if value is None:
            continue
        if name == "benchmark" and not (
            Path(value).suffix.lower() == ".toml" or Path(value).is_file()
        ):
            continue
        out.append(("--" + name.replace("_", "-"), value))
    return out


def guard_run(
    ctx: click.Context,
    *,
    targets: Sequence[tuple[str, Path]],
    inputs: Sequence[tuple[str, str | Path]],
    folders: Sequence[tuple[str, Path]] = (),
) -> None:
    """Check the outputs against the inputs, then lock their folders for the command.

    Called before anything is read. Every target (a file the run writes, or an
    earlier output it removes as stale) must not be an input, lie inside an input
    folder or be another target; no input may lie inside ``folders`` (whose files
    are only known later). The lock of every output folder is then held until
    the command ends, so a second run into the same folder is refused.
    """
    from ..output.guard import (
        OutputLock,
        check_output_folders,
        check_output_paths,
        resolve,
    )
    from .main import call

    call(ctx, check_output_paths, targets, inputs)
    call(ctx, check_output_folders, folders, inputs)
    folders_of: dict[Path, str] = {}
    for option, path in targets:
        folders_of.setdefault(resolve(path).parent, option)
    for folder, option in sorted(folders_of.items()):
        lock = OutputLock(folder, option=option)
        call(ctx, lock.acquire)
        ctx.call_on_close(lock.release)


class Progress:
    """Stage lines on stderr (``[  1.2 s] distances ...``); silent with -q."""

    def __init__(self, verbosity: int, total: int | None = None) -> None:
        self._clock = time.perf_counter
        self.t0 = self._clock()
        self.enabled = verbosity >= 0
        self.total = total
        self.done = 0

    def __call__(self, name: str) -> None:
        """Report that stage ``name`` starts."""
        self.done += 1
        if not self.enabled:
            return
        step = ""
        if self.total:
            width = len(str(self.total))
            step = f"{min(self.done, self.total):>{width}}/{self.total} "
        click.echo(f"[{step}{self._clock() - self.t0:6.1f} s] {name} …", err=True)

    def track(
        self, items: Sequence[_T], label: str
    ) -> AbstractContextManager[Iterable[_T]]:
        """Iterate with a progress bar on stderr (plain iteration when quiet)."""
        if not self.enabled:
            return contextlib.nullcontext(items)
        return click.progressbar(
            items, length=len(items), label=label, file=sys.stderr, show_pos=True
        )


def echo_outputs(written: list[Path], *, lang: str = "en") -> None:
    """List the files written."""
    from ..i18n import label

    click.echo(f"{label('cli.outputs', lang)}:")
    for path in written:
        click.echo(f"  {path}")


def map_title_for(
    boundaries: str, benchmark: str, *, is_sample: bool, lang: str
) -> str:
    """Title of the map of a run on ``boundaries`` (the file name, not the path)."""
    from ..output.write import map_title

    return map_title(Path(boundaries).name, benchmark, synthetic=is_sample, lang=lang)
