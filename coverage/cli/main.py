"""The ``coverage`` group: verbosity, logging, and errors turned into exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad input or usage. Library errors
(:class:`coverage.errors.CoverageError`) become one-line messages; heavy libraries
are imported inside the commands so ``coverage --help`` starts fast.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import click

from .. import __version__

__all__ = [
    "BadInputError",
    "CommandError",
    "CoverageGroup",
    "call",
    "command_error",
    "main",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class CommandError(click.ClickException):
    """A library failure shown as ``Error: message`` (exit 1)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        from ..output.report import printable

        super().__init__(printable(message))


class BadInputError(CommandError):
    """Bad input shown as ``Error: message`` (exit 2)."""

    exit_code = 2


def command_error(message: str, exit_code: int) -> CommandError:
    """Return the click error for ``message`` that exits with ``exit_code`` (1 or 2)."""
    return BadInputError(message) if exit_code == 2 else CommandError(message)


def _translate(ctx: click.Context, exc: BaseException) -> click.ClickException:
    from ..errors import CoverageError

    param = getattr(exc, "param", None)
    if isinstance(exc, CoverageError) and isinstance(param, str) and exc.exit_code == 2:
        # the library names its keyword; the option of the same name fixes it
        hint = "--" + param.replace("_", "-")
        return click.BadParameter(str(exc), ctx=ctx, param_hint=hint)
    if isinstance(exc, CoverageError):
        return command_error(str(exc), exc.exit_code)
    if isinstance(exc, MemoryError):
        return CommandError(
            "out of memory; try a coarser --cell-m or run province by province"
        )
    verbose = (ctx.find_root().obj or {}).get("verbosity", 0)
    if verbose > 0:
        traceback.print_exception(exc, file=sys.stderr)
    detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return CommandError(
        f"unexpected failure ({detail}); run again with -v for details and report it"
    )


def call(
    ctx: click.Context, func: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs
) -> _R:
    """Run ``func`` and turn any failure into a clean click error."""
    try:
        return func(*args, **kwargs)
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("Interrupted: previous outputs were left unchanged.", err=True)
        ctx.exit(130)
    except Exception as exc:  # every failure must end as a message, not a traceback
        raise _translate(ctx, exc) from None


def _interrupted() -> int:
    click.echo("Interrupted.", err=True)
    return 130


class CoverageGroup(click.Group):
    """The group, run so that Ctrl-C exits 130 and no Python warning reaches stderr.

    Click would print ``Aborted!`` and exit 1 on a Ctrl-C outside a command's
    :func:`call` (while a command imports its libraries, say); every warning
    raised during the run is shown as a ``note:`` line on stdout at the end.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; with ``standalone_mode`` exit with its code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                try:
                    code = super().main(args, prog_name, complete_var, False, **extra)
                except click.exceptions.Abort as exc:
                    cause = exc.__cause__ or exc.__context__
                    if isinstance(cause, KeyboardInterrupt):
                        code = _interrupted()
                    else:
                        click.echo("Aborted!", err=True)
                        code = 1
                except click.ClickException as exc:
                    exc.show()
                    code = exc.exit_code
                except KeyboardInterrupt:
                    code = _interrupted()
            if code != 130:
                _echo_warnings(caught)
        except KeyboardInterrupt:
            code = _interrupted()
        sys.exit(code if isinstance(code, int) else 0)


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    if not caught:
        return
    from ..output.report import printable

    seen = dict.fromkeys(str(w.message).splitlines()[0][:300] for w in caught)
    for text in seen:
        click.echo(printable(f"note: {text}"))


@click.group(
    cls=CoverageGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.option(
    "-q", "--quiet", count=True, help="Less output (no summary, no progress)."
)
@click.version_option(__version__, prog_name="coverage-planner")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int) -> None:
    """Coverage of postal and public service points: metrics, gaps, maps, plans.

    \b
    Start with the bundled synthetic sample:
        coverage analyze                  metrics, distances, gaps, maps/coverage.html
        coverage plan --add 10            where 10 new points help most
    Then your own data:
        coverage validate -b communes.gpkg -p points.csv
        coverage analyze -b communes.gpkg -p points.csv --out results --lang vi
        coverage map --from results --offline-map
        coverage benchmarks
    """
    verbosity = verbose - quiet
    ctx.obj = {"verbosity": verbosity}
    logging.basicConfig(
        stream=sys.stderr,
        level=max(logging.DEBUG, logging.WARNING - 10 * verbosity),
        format="%(levelname)s: %(message)s",
    )
