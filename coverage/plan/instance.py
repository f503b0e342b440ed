"""Reader of coverage-location instances in the shared bench format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["BenchInstance", "load_instance"]


@dataclass
class BenchInstance:
    """A coverage-location instance in the bench format (metres).

    Attributes
    ----------
    demand_xy, demand_pop, existing_xy, candidate_xy : numpy.ndarray
        Coordinates in metres and population per demand cell.
    radius_m : float
        Coverage radius.
    p : int
        Number of new sites for the maximal covering problem.
    meta : dict
        The parsed ``meta.json``.
    """

    demand_xy: np.ndarray
    demand_pop: np.ndarray
    existing_xy: np.ndarray
    candidate_xy: np.ndarray
    radius_m: float
    p: int
    meta: dict[str, Any]


def _read_csv(path: Path, columns: list[str]) -> np.ndarray:
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    if header != columns:
        msg = f"{path}: expected columns {','.join(columns)}, found {','.join(header)}"
        raise InputError(msg)
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=float)
    return data.reshape(-1, len(columns))


def load_instance(directory: str | Path) -> BenchInstance:
    """Read a bench instance folder.

    The folder holds ``demand.csv`` (id,x,y,pop), ``existing.csv`` and
    ``candidates.csv`` (id,x,y) in metres, and ``meta.json`` (``radius_m``, ``p``).

    Parameters
    ----------
    directory
        The instance folder (see ``bench/README`` of the shared benchmark).

    Returns
    -------
    BenchInstance
    """
    d = Path(directory)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        msg = f"{meta_path}: file not found (is {d} a bench instance folder?)"
        raise InputError(msg)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    dem = _read_csv(d / "demand.csv", ["id", "x", "y", "pop"])
    ex = _read_csv(d / "existing.csv", ["id", "x", "y"])
    ca = _read_csv(d / "candidates.csv", ["id", "x", "y"])
    return BenchInstance(
        demand_xy=dem[:, 1:3],
        demand_pop=dem[:, 3],
        existing_xy=ex[:, 1:3],
        candidate_xy=ca[:, 1:3],
        radius_m=float(meta["radius_m"]),
        p=int(meta["p"]),
        meta=meta,
    )
