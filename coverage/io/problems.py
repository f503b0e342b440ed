"""Problems found in an input and layers read into the canonical model."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from ..i18n import Note

__all__ = [
    "Loaded",
    "Problem",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input, with where it is and how to fix it."""

    source: str
    where: str
    problem: str
    fix: str
    fatal: bool = True

    def __str__(self) -> str:
        head = ": ".join(part for part in (self.source, self.where) if part)
        body = self.problem + (f"; {self.fix}" if self.fix else "")
        return f"{head}: {body}" if head else body

    @classmethod
    def from_error(cls, exc: Exception, *, fatal: bool = True) -> Problem:
        """Wrap an error whose message already names the file and the fix."""
        return cls("", "", str(exc), "", fatal)


@dataclass
class Loaded:
    """A layer in the canonical model, with the notes made while reading it."""

    frame: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)


def _shown(value: object) -> str:
    """Quote a cell for a message: plain Python values, long text shortened."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _more(source: str, n: int, what: str) -> Problem:
    """Problem line standing for the ``n`` occurrences not listed one by one."""
    return Problem(source, "", f"... and {int(n)} more {what}", "fix them the same way")


@contextmanager
def _warnings_caught() -> Iterator[list[warnings.WarningMessage]]:
    """Record Python warnings instead of letting them reach the terminal."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _warning_notes(caught: list[warnings.WarningMessage], *, source: str) -> list[str]:
    """One note per distinct warning recorded while reading ``source``."""
    texts = dict.fromkeys(
        (str(w.message).strip().splitlines() or [w.category.__name__])[0][:200]
        for w in caught
    )
    return [Note("reading_warning", source=source, text=text) for text in texts]
