"""``coverage partition``: the communes as one GeoParquet file per province.

Each ``communes/<slug>.parquet`` holds a province's communes and the communes of
other provinces touching them (``_own`` false), with their national row
(``_row``), so a worker reads one file. ``manifest.json`` maps province names
to files and records a fingerprint of the communes (codes, populations,
geometries) that ``coverage analyze --parts`` checks against its own inputs, so
a stale partition is refused instead of giving other figures. Points are not
partitioned: the client sends their metric coordinates to every worker.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError

__all__ = [
    "MANIFEST",
    "communes_fingerprint",
    "partition_targets",
    "read_manifest",
    "write_partition",
]

MANIFEST = "manifest.json"
_FORMAT = "coverage-partition/1"


def communes_fingerprint(communes: gpd.GeoDataFrame) -> str:
    """Return a SHA-256 of the commune codes, populations and geometries (WKB)."""
    digest = hashlib.sha256()
    codes = communes["commune_code"].astype(str).to_numpy(dtype=object)
    digest.update("\x1f".join(codes).encode("utf-8"))
    pop = pd.to_numeric(communes["population"], errors="coerce").to_numpy(float)
    digest.update(np.ascontiguousarray(pop).tobytes())
    digest.update(str(communes.crs).encode("utf-8"))
    for wkb in shapely.to_wkb(np.asarray(communes.geometry.values, dtype=object)):
        digest.update(b"\x00" if wkb is None else wkb)
    return digest.hexdigest()


def _province_files(communes: gpd.GeoDataFrame) -> dict[str, str]:
    from ..pipeline.provinces import province_slugs

    names = communes["province_name"].astype("string").fillna("").unique().tolist()
    slugs = province_slugs(sorted(names))
    return {name: f"communes/{slug}.parquet" for name, slug in slugs.items()}


def partition_targets(communes: gpd.GeoDataFrame, out_dir: str | Path) -> list[Path]:
    """Every file :func:`write_partition` writes."""
    folder = Path(out_dir)
    files = [folder / f for f in _province_files(communes).values()]
    return [folder / MANIFEST, *files]


def write_partition(
    communes: gpd.GeoDataFrame, outputs: object, out_dir: str | Path
) -> dict[str, str]:
    """Write one GeoParquet per province and the manifest into ``outputs``.

    Parameters
    ----------
    communes
        The validated commune layer (``coverage.pipeline.analyze.load_inputs``),
        with ``province_name``.
    outputs
        A :class:`coverage.output.files.OutputSet` declaring
        :func:`partition_targets`.
    out_dir
        The partition folder.

    Returns
    -------
    dict
        Province name to file, relative to ``out_dir``.
    """
    from ..geo import metric_crs
    from ..output.files import OutputSet
    from .tasks import neighbour_mask

    if not isinstance(outputs, OutputSet):
        msg = "outputs must be an OutputSet"
        raise TypeError(msg)
    if "province_name" not in communes.columns:
        msg = (
            "coverage partition splits by province and needs a province column; "
            "name it with -c province_name=COLUMN"
        )
        raise InputError(msg)
    folder = Path(out_dir)
    files = _province_files(communes)
    names = communes["province_name"].astype("string").fillna("").to_numpy(object)
    metric = np.asarray(communes.geometry.to_crs(metric_crs(communes)).values)
    counts = {}
    for name, rel in files.items():
        own = names == name
        keep = neighbour_mask(metric, own)
        part = communes.loc[keep].copy()
        part["_row"] = np.flatnonzero(keep)
        part["_own"] = own[keep]
        part.to_parquet(outputs.path(folder / rel), index=False)
        counts[name] = int(own.sum())
    manifest = {
        "format": _FORMAT,
        "n_communes": len(communes),
        "fingerprint": communes_fingerprint(communes),
        "provinces": {
            name: {"file": rel, "n_communes": counts[name]}
            for name, rel in files.items()
        },
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    outputs.path(folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return files


def read_manifest(folder: str | Path, communes: gpd.GeoDataFrame) -> dict[str, str]:
    """Check a partition against the communes of the run; map provinces to files.

    Raises
    ------
    InputError
        When the folder is no partition, or one of other communes.
    """
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = (
            f"{path}: not a partition ({exc}); write one with "
            "`coverage partition -b COMMUNES -p POINTS --out FOLDER`"
        )
        raise InputError(msg) from None
    if manifest.get("format") != _FORMAT:
        msg = f"{path}: unknown partition format {manifest.get('format')!r}"
        raise InputError(msg)
    if manifest.get("fingerprint") != communes_fingerprint(communes):
        msg = (
            f"{folder}: the partition was written from other communes than "
            "--boundaries (codes, populations or geometries differ); write it "
            "again with coverage partition"
        )
        raise InputError(msg)
    return {name: entry["file"] for name, entry in manifest["provinces"].items()}
