"""The console entry point: Ctrl-C at any moment exits 130 with one line.

Only :mod:`sys` is imported here, so an interrupt while the command line and its
libraries are still being imported is caught too.
"""

from __future__ import annotations

import sys

__all__ = ["run"]


def run() -> None:
    """Import and run the ``coverage`` command line (exit 130 on Ctrl-C)."""
    try:
        from .cli import main

        main()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    finally:
        # the run is over (done, refused or interrupted): an interrupt while the
        # interpreter shuts down must not turn it into a process killed by SIGINT
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
