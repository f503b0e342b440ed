"""The ``coverage`` command line (click only: parse, call, report, exit codes).

One module per command, as rasterio's ``rio``: :mod:`.analyze`, :mod:`.plan`,
:mod:`.map`, :mod:`.validate`, :mod:`.benchmarks`, :mod:`.partition`; the group
and the error translation are in :mod:`.main`, shared options in :mod:`.options`.
Each command imports the heavy libraries it needs when it runs, so
``coverage --help`` is fast.
"""

from __future__ import annotations

from .analyze import analyze
from .benchmarks import benchmarks
from .main import main
from .map import map_
from .partition import partition
from .plan import plan
from .validate import validate

__all__ = ["main"]

for _command in (analyze, map_, plan, partition, benchmarks, validate):
    main.add_command(_command)
