"""Exceptions raised by the coverage planner.

Every error the library raises on purpose derives from :class:`CoverageError`, so the
CLI can translate them into one-line messages and exit codes (2 for bad input,
1 for runtime failures) without ever showing a traceback.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "CoverageError",
    "InputError",
    "OutputError",
    "OutputExistsError",
    "SolverError",
    "ValidationError",
]


class CoverageError(Exception):
    """Base class of every error raised by the coverage planner.

    Attributes
    ----------
    exit_code : int
        The exit code the CLI uses for this error: 2 for bad input, 1 otherwise.
    """

    exit_code: int = 1


class InputError(CoverageError, ValueError):
    """An input file, column or value is unusable; the message says how to fix it."""

    exit_code = 2


class CRSError(InputError):
    """A layer has no CRS, or layers cannot be brought into one CRS."""


class ValidationError(InputError):
    """One or more problems were found in the inputs.

    Parameters
    ----------
    problems : list of Problem-like objects or str
        Every problem found; the message lists them all.
    """

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} problem(s) in the input" if len(lines) > 1 else ""
        super().__init__(
            "\n".join([head, *lines]) if head else (lines[0] if lines else "")
        )


class OutputError(CoverageError, OSError):
    """An output could not be written (folder not writable, disk full, ...)."""

    exit_code = 1


class OutputExistsError(OutputError):
    """Outputs exist already and ``--overwrite`` was not given (a usage error)."""

    exit_code = 2


class SolverError(CoverageError, RuntimeError):
    """The optimisation solver failed or returned no usable solution."""

    exit_code = 1
