"""Output files: CSV for Excel, JSON for scripts, XLSX, GeoPackage for GIS, atomically.

Every output of a run is first written into a hidden temporary folder next to its
destination and moved into place only when all of them are complete, so an
interrupted run (Ctrl-C, a kill, a full disk) leaves the previous outputs intact
and no partial file behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import OutputError, OutputExistsError

__all__ = [
    "OutputSet",
    "neutralise_formulas",
    "to_csv_frame",
    "write_csv",
    "write_gpkg_layers",
    "write_json",
    "write_xlsx",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_DECIMALS = {
    "area_km2": 3,
    "radius_km": 3,
    "radius_ratio": 3,
    "people_per_point": 0,
    "people_ratio": 3,
    "share_communes_staffed": 4,
    "mean_distance_km": 3,
    "p90_distance_km": 3,
    "max_distance_km": 3,
}


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix text cells that a spreadsheet would run as a formula with ``'``.

    Cells starting with ``= + - @``, a tab or a carriage return are neutralised
    (OWASP CSV injection guidance); numbers are never touched.

    Examples
    --------
    >>> neutralise_formulas(pd.Series(["=1+1", "Xã Tân Lạc", "-x"])).tolist()
    ["'=1+1", 'Xã Tân Lạc', "'-x"]
    """
    text = values.astype("string")
    risky = text.str.startswith(_FORMULA_START).fillna(False)
    return text.where(~risky, "'" + text)


def to_csv_frame(df: pd.DataFrame, *, lang: str = "en") -> pd.DataFrame:
    """Prepare a table for Excel: rounded numbers, yes/no, neutralised text, labels.

    Parameters
    ----------
    df
        Any result table (a geometry column is dropped).
    lang
        ``"en"`` keeps the canonical column names; ``"vi"`` uses Vietnamese headers
        and ``có``/``không`` for booleans.
    """
    out = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore")).copy()
    if "gap_reasons" in out.columns:
        from ..reasons import render_reasons

        out["gap_reasons"] = render_reasons(out["gap_reasons"], lang)
    yes, no = ("có", "không") if lang == "vi" else ("yes", "no")
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_bool_dtype(series):
            # A nullable verdict with no value (a rule that does not apply) stays blank.
            text = np.where(series.fillna(False).to_numpy(bool), yes, no).astype(object)
            text[series.isna().to_numpy()] = ""
            out[col] = text
        elif pd.api.types.is_float_dtype(series):
            decimals = _DECIMALS.get(
                col,
                4
                if col.startswith("share_")
                else 0
                if col.startswith(("pop_", "population", "newly_covered"))
                or col.endswith("_pop")
                else 5
                if col in ("lat", "lon") or col.startswith("farthest_l")
                else 3,
            )
            out[col] = series.round(decimals)
            if decimals == 0:
                out[col] = out[col].astype("Int64")
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(
            series
        ):
            out[col] = neutralise_formulas(series)
    if lang != "en":
        from ..i18n import label

        out.columns = [label(c, lang) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, lang: str = "en") -> None:
    """Write ``df`` as UTF-8 CSV with a BOM (Excel then shows Vietnamese correctly)."""
    to_csv_frame(df, lang=lang).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\r\n"
    )


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: Mapping[str, object], path: str | Path) -> None:
    """Write ``data`` as indented UTF-8 JSON (NaN and infinities become null)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_jsonable(data), fh, ensure_ascii=False, indent=2)
        fh.write("\n")


XLSX_CELL_CHARS = 32_767


def write_xlsx(
    sheets: dict[str, pd.DataFrame], path: str | Path, *, lang: str = "en"
) -> list[str]:
    """Write tables as sheets of one Excel workbook, codes kept as text.

    Excel drops the leading zero of a code such as ``04552`` when it opens a CSV;
    in the workbook every text cell stays text (no conversion to numbers, URLs or
    formulas), headers are frozen and filterable.

    Parameters
    ----------
    sheets
        Sheet name to table (prepared like the CSVs with :func:`to_csv_frame`);
        empty tables are skipped.
    path
        Destination ``.xlsx``.
    lang
        Header language, as for the CSVs.

    Returns
    -------
    list of str
        A note per column whose text was cut at Excel's limit of 32,767
        characters per cell (the CSVs keep it whole).
    """
    import xlsxwriter
    import xlsxwriter.exceptions

    options = {
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
        "nan_inf_to_errors": False,
        "constant_memory": True,
    }
    book = xlsxwriter.Workbook(str(path), options)
    notes: list[str] = []
    try:
        bold = book.add_format({"bold": True})
        for name, table in sheets.items():
            if table is None or len(table.columns) == 0:
                continue
            frame = to_csv_frame(table, lang=lang)
            for col in frame.columns:
                if frame[col].dtype.kind not in "OU" and not isinstance(
                    frame[col].dtype, pd.StringDtype
                ):
                    continue
                text = frame[col].astype("string")
                long = (text.str.len() > XLSX_CELL_CHARS).fillna(False).to_numpy(bool)
                if long.any():
                    frame[col] = text.where(~long, text.str.slice(0, XLSX_CELL_CHARS))
                    notes.append(
                        f"coverage.xlsx: {int(long.sum())} cell(s) of sheet "
                        f"'{name[:31]}', column '{col}' cut at 32,767 characters "
                        "(Excel's limit); the CSV files hold them whole"
                    )
            sheet = book.add_worksheet(name[:31])
            sample = frame.head(200).astype("string").fillna("")
            for i, col in enumerate(frame.columns):
                longest = max([len(str(col)), *sample[col].str.len().tolist()])
                sheet.set_column(i, i, min(max(8, longest + 1), 45))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)
            sheet.write_row(0, 0, [str(c) for c in frame.columns], bold)
            values = [
                frame[c].astype(object).where(frame[c].notna(), None).tolist()
                for c in frame.columns
            ]
            for r, row in enumerate(zip(*values, strict=True), start=1):
                sheet.write_row(r, 0, row)
    finally:
        try:
            book.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            raise OSError(f"cannot write {path}: {exc}") from exc
    return notes


class OutputSet:
    """A set of output files committed together, all or nothing.

    Parameters
    ----------
    targets
        The final paths of every output of the run.
    overwrite
        Replace existing outputs; without it any existing target is an error,
        raised before anything is computed or written.
    options
        The option that chose each target (``--out`` when missing), named in
        the messages (``choose another --map path``).

    Examples
    --------
    >>> with OutputSet([Path(d) / "a.csv"], overwrite=True) as out:  # doctest: +SKIP
    ...     df.to_csv(out.path(Path(d) / "a.csv"))
    """

    def __init__(
        self,
        targets: Iterable[str | Path],
        *,
        overwrite: bool,
        options: Mapping[Path, str] | None = None,
    ) -> None:
        self.targets: list[Path] = []
        self.overwrite = overwrite
        self.options = dict(options or {})
        self._staging: dict[Path, Path] = {}
        self._written: set[Path] = set()
        self._had_outputs = False
        self.add(targets)

    def add(self, targets: Iterable[str | Path]) -> None:
        """Declare more outputs (e.g. once the provinces of the data are known).

        Raises
        ------
        OutputExistsError
            When one exists already and ``overwrite`` was not given.
        """
        new = [Path(t) for t in targets if Path(t) not in self.targets]
        existing = [t for t in new if t.exists()]
        if existing and not self.overwrite:
            names = ", ".join(str(t) for t in existing[:4])
            more = "" if len(existing) <= 4 else f" and {len(existing) - 4} more"
            hints = dict.fromkeys(
                _OPTION_HINTS.get(self.options.get(t, "--out"), "--out folder")
                for t in existing
            )
            msg = (
                f"{names}{more}: output exists already; pass --overwrite to replace "
                f"it or choose another {' or '.join(hints)}"
            )
            raise OutputExistsError(msg)
        self._had_outputs = self._had_outputs or bool(existing)
        self.targets += new
        if self._staging:
            self.prepare()

    def prepare(self) -> None:
        """Create the destination folders and their staging folders."""
        for folder in sorted({t.parent for t in self.targets}):
            if folder in self._staging:
                continue
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _remove_dead_staging(folder)
                self._staging[folder] = Path(
                    tempfile.mkdtemp(prefix=f".coverage-tmp-{os.getpid()}-", dir=folder)
                )
            except OSError as exc:
                self.abort()
                msg = (
                    f"{folder}: cannot write outputs here ({exc.strerror}); "
                    "choose a writable folder with --out"
                )
                raise OutputError(msg) from None

    def path(self, target: str | Path) -> Path:
        """Return the staging path to write ``target`` to."""
        target = Path(target)
        if target not in self.targets:
            msg = f"{target} is not one of this run's declared outputs"
            raise ValueError(msg)
        self._written.add(target)
        return self._staging[target.parent] / target.name

    def commit(self) -> list[Path]:
        """Move every written file into place, all or nothing; return the final paths.

        Existing targets (replaced ones, and with ``overwrite`` stale outputs of an
        earlier run that this run has no content for) are first moved aside into
        the staging folder, then the new files are moved in. On any failure the
        new files are taken out and the old ones put back, so the previous set is
        whole again; the staging folder and the old files go only after success.

        Raises
        ------
        OutputError
            When putting the old outputs back failed too (naming where they are).
        """
        aside: list[tuple[Path, Path]] = []
        placed: list[Path] = []
        try:
            for target in self.targets:
                stale = self.overwrite and target not in self._written
                if (target in self._written or stale) and target.exists():
                    backup = self._staging[target.parent] / f".previous-{target.name}"
                    os.replace(target, backup)
                    aside.append((target, backup))
            for target in self.targets:
                if target in self._written:
                    os.replace(self._staging[target.parent] / target.name, target)
                    placed.append(target)
        except BaseException:
            self._roll_back(placed, aside)
            raise
        self.abort()
        return placed

    def _roll_back(self, placed: list[Path], aside: list[tuple[Path, Path]]) -> None:
        failed: list[str] = []
        for target in placed:
            with contextlib.suppress(OSError):
                if target.is_dir():  # a folder of map tiles
                    shutil.rmtree(target)
                else:
                    target.unlink()
        for target, backup in reversed(aside):
            try:
                os.replace(backup, target)
            except OSError:
                failed.append(f"{target} (kept as {backup})")
        if failed:
            self._staging = {}  # the staging folders hold the only copies now
            msg = (
                "writing outputs failed and the previous outputs could not all be "
                f"put back: {', '.join(failed[:3])}; move them back by hand"
            )
            raise OutputError(msg) from None

    def abort(self) -> None:
        """Remove the staging folders and anything in them."""
        for folder in self._staging.values():
            shutil.rmtree(folder, ignore_errors=True)
        self._staging = {}

    def __enter__(self) -> OutputSet:
        self.prepare()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            return
        self.abort()
        if isinstance(exc, OutputError) or not isinstance(exc, Exception):
            return
        kept = (
            "the previous outputs were left unchanged"
            if self._had_outputs
            else "nothing was written"
        )
        if _disk_full(exc):
            msg = (
                "writing outputs failed: the disk is full (no space left on device); "
                f"free some space or choose another --out folder; {kept}"
            )
            raise OutputError(msg) from None
        if isinstance(exc, OSError):
            msg = f"writing outputs failed ({exc.strerror or exc}); {kept}"
            raise OutputError(msg) from None


_OPTION_HINTS = {"--out": "--out folder", "--map": "--map path"}


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (OSError, or GDAL/SQLite's words)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text


def _remove_dead_staging(folder: Path) -> None:
    """Remove staging folders left by runs that were killed (their process is gone)."""
    for entry in folder.glob(".coverage-tmp-*-*"):
        pid_text = entry.name.removeprefix(".coverage-tmp-").split("-", 1)[0]
        if not pid_text.isdigit() or not entry.is_dir():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except (PermissionError, OverflowError):
            continue


def write_gpkg_layers(
    layers: Mapping[str, gpd.GeoDataFrame | None], path: str | Path
) -> None:
    """Write several layers into one GeoPackage, skipping empty ones.

    The path must not exist yet (pyogrio would add to it).
    """
    for name, frame in layers.items():
        if frame is None or len(frame) == 0:
            continue
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
