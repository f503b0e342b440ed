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

__all__ = ["Progress", "echo_outputs", "map_title_for", "resolve_inputs"]

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
