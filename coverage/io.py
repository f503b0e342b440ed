"""Reading commune and service-point layers into the canonical data model.

Communes become a GeoDataFrame with ``commune_code, commune_name, [district_name],
[province_name], population, geometry``; service points one with ``point_id, name,
kind, staffed, admin_services, operator, [declared_commune_code], geometry``.
Source columns are recognised under common names (English, Vietnamese, GADM) or
named explicitly with ``columns={"population": "DS_2019"}``. Every problem found in
a layer is collected and reported together in one :class:`ValidationError`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .errors import CRSError, InputError, ValidationError
from .geo import WGS84

__all__ = [
    "COMMUNE_ALIASES",
    "KINDS",
    "POINT_ALIASES",
    "Loaded",
    "Problem",
    "assign_points",
    "load_communes",
    "load_points",
    "normalise_key",
    "read_communes",
    "read_points",
    "read_settlements",
    "read_table",
]

# More people than live on Earth: the column is not a population count.
MAX_POPULATION = 1e10

KINDS = ("post_office", "culture_post", "agent", "letter_box", "delivery", "other")

COMMUNE_ALIASES: dict[str, tuple[str, ...]] = {
    "commune_code": (
        "commune_code",
        "ma_xa",
        "maxa",
        "ma_phuong_xa",
        "ma_dvhc",
        "gid_3",
        "code",
        "commune_id",
        "xa_id",
        "id",
    ),
    "commune_name": (
        "commune_name",
        "ten_xa",
        "tenxa",
        "ten_phuong_xa",
        "ten_dvhc",
        "name_3",
        "commune",
        "xa",
        "name",
        "ten",
    ),
    "district_name": (
        "district_name",
        "ten_huyen",
        "tenhuyen",
        "name_2",
        "district",
        "huyen",
        "quan_huyen",
    ),
    "province_name": (
        "province_name",
        "ten_tinh",
        "tentinh",
        "name_1",
        "province",
        "tinh",
        "tinh_thanh",
    ),
    "population": (
        "population",
        "dan_so",
        "danso",
        "so_dan",
        "pop",
        "pop_total",
        "population_total",
        "total_pop",
        "total",
    ),
}

POINT_ALIASES: dict[str, tuple[str, ...]] = {
    "point_id": ("point_id", "ma_diem", "ma_buu_cuc", "ma_bc", "id", "code", "ma"),
    "name": ("name", "ten_diem", "ten_buu_cuc", "ten", "point_name"),
    "kind": ("kind", "loai", "loai_diem", "loai_hinh", "type", "category"),
    "staffed": ("staffed", "co_nguoi", "co_nguoi_phuc_vu", "nguoi_phuc_vu", "manned"),
    "admin_services": (
        "admin_services",
        "tthc",
        "dich_vu_tthc",
        "tiep_nhan_tthc",
        "hanh_chinh_cong",
        "admin",
        "public_admin",
    ),
    "operator": ("operator", "doanh_nghiep", "don_vi", "nha_cung_cap", "company"),
    "declared_commune_code": (
        "commune_code",
        "ma_xa",
        "maxa",
        "ma_phuong_xa",
        "ma_dvhc",
    ),
    "lat": ("lat", "latitude", "vi_do", "vido", "y"),
    "lon": ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "x"),
}

# Ordered: the first pattern that matches the folded text decides the kind.
_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bculture\b|\bvhx\b|\bbd ?vhx\b|van hoa", "culture_post"),
    (r"letter|\bbox\b|thung thu|hop thu", "letter_box"),
    (r"agent|dai ly", "agent"),
    (r"deliver|phat", "delivery"),
    (r"post|buu cuc|buu dien|\bbc\b|\bbd\b", "post_office"),
    (r"other|khac", "other"),
)

_TRUE = {"1", "true", "yes", "y", "x", "co", "t", "staffed", "có"}
_FALSE = {"0", "false", "no", "n", "khong", "f", "", "không", "nan", "none"}


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


def normalise_key(text: str) -> str:
    """Fold a column name or label: no diacritics, lower case, ``_`` for spaces.

    Examples
    --------
    >>> normalise_key("Dân số")
    'dan_so'
    >>> normalise_key("Mã xã")
    'ma_xa'
    """
    text = str(text).replace("đ", "d").replace("Đ", "D")
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "_", folded.lower()).strip("_")


def _map_columns(
    available: list[str],
    aliases: dict[str, tuple[str, ...]],
    explicit: dict[str, str] | None,
    *,
    source: str,
) -> dict[str, str]:
    """Map canonical names to source column names (explicit names win)."""
    explicit = dict(explicit or {})
    by_key: dict[str, str] = {}
    for col in available:
        by_key.setdefault(normalise_key(col), col)
    mapping: dict[str, str] = {}
    for canonical, wanted in explicit.items():
        if canonical not in aliases:
            continue
        if wanted in available:
            mapping[canonical] = wanted
        elif normalise_key(wanted) in by_key:
            mapping[canonical] = by_key[normalise_key(wanted)]
        else:
            msg = (
                f"{source}: column {wanted!r} (given for {canonical}) not found; "
                f"available columns: {', '.join(map(str, available))}"
            )
            raise InputError(msg)
    used = set(mapping.values())
    for canonical, names in aliases.items():
        if canonical in mapping:
            continue
        for name in names:
            col = by_key.get(name)
            if col is not None and col not in used:
                mapping[canonical] = col
                used.add(col)
                break
    return mapping


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the path (or its folder) and try again"
        raise InputError(msg)
    if path.is_dir() and not any(path.glob("*.shp")):
        msg = f"{path}: is a folder, not a file; pass the .geojson/.gpkg/.shp/.csv file"
        raise InputError(msg)
    try:
        with path.open("rb") if path.is_file() else open(path / ".", "rb"):
            pass
    except IsADirectoryError:
        pass
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror}); check its permissions"
        raise InputError(msg) from None
    return path


def _read_spatial(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: the file is empty; export the layer again"
        raise InputError(msg)
    try:
        import pyogrio

        with warnings.catch_warnings():
            # GDAL notes on odd properties (lists, JSON-like text) are not for users.
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise many types for unreadable files
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = (
            f"{path}: not a readable spatial file ({reason}); use GeoJSON, "
            "GeoPackage, Shapefile (.shp or zipped) or, for points, CSV with lat/lon"
        )
        raise InputError(msg) from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{path}: the file has no geometry column; export it as a spatial layer"
        raise InputError(msg)
    return gdf


def _apply_crs(gdf: gpd.GeoDataFrame, crs: str | None, *, source: str) -> None:
    if crs is not None:
        try:
            target = CRS.from_user_input(crs)
        except Exception:
            msg = f"--crs {crs!r} is not a CRS; use e.g. EPSG:4326 or EPSG:32648"
            raise CRSError(msg) from None
        if gdf.crs is None:
            gdf.set_crs(target, inplace=True)
        elif CRS.from_user_input(gdf.crs) != target:
            msg = (
                f"{source}: the file declares CRS {gdf.crs.to_string()[:50]} but "
                f"--crs says {crs}; drop --crs (it is only for files without one)"
            )
            raise CRSError(msg)
    if gdf.crs is None:
        msg = (
            f"{source}: the layer has no coordinate reference system; set one with "
            "--crs (e.g. --crs EPSG:4326 for lon/lat degrees, EPSG:32648 for UTM 48N)"
        )
        raise CRSError(msg)


def parse_number(
    values: pd.Series, *, integer: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers written by people and spreadsheets.

    Decimal commas (``21,0333``) are always accepted. With ``integer=True`` (counts
    such as population) thousands separators in the English and Vietnamese styles
    (``1,234``, ``1.234``, ``1 234``) are accepted too; coordinates never take them,
    since ``21.033`` is a latitude, not 21,033.

    Returns
    -------
    (pandas.Series of float, numpy.ndarray of bool)
        The values (NaN where unparseable or blank) and a mask of unparseable
        non-blank entries.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = pd.to_numeric(values, errors="coerce").astype(float)
        return out, np.zeros(len(values), dtype=bool)
    text = values.astype("string").fillna("").str.strip().str.replace("\u00a0", " ")
    cleaned = text
    if integer:
        cleaned = cleaned.str.replace(r"(?<=\d)[ '](?=\d{3}\b)", "", regex=True)
        grouped = cleaned.str.fullmatch(r"-?\d{1,3}([.,]\d{3})+").fillna(False)
        cleaned = cleaned.where(~grouped, cleaned.str.replace(r"[.,]", "", regex=True))
    cleaned = cleaned.str.replace(",", ".", regex=False)
    out = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = (out.isna() & (text != "")).to_numpy()
    return out, bad


def parse_bool(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse yes/no columns (``yes``, ``1``, ``true``, ``có``, ``x`` and negatives).

    Returns
    -------
    (pandas.Series of bool, numpy.ndarray of bool)
        The values (False where blank) and a mask of unrecognised entries.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool), np.zeros(len(values), dtype=bool)
    keys = values.astype("string").fillna("").str.strip().str.lower()
    folded = keys.map(normalise_key).astype("string").fillna("")
    is_true = keys.isin(_TRUE) | folded.isin(_TRUE) | folded.isin({"1_0", "true"})
    is_false = keys.isin(_FALSE) | folded.isin(_FALSE) | folded.isin({"0_0"})
    bad = (~is_true & ~is_false).to_numpy()
    return is_true.astype(bool), bad


def _decode(raw: bytes, *, source: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1258", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    msg = f"{source}: text encoding not recognised; save the CSV as UTF-8"
    raise InputError(msg)


def read_table(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV as Excel and people write it: any common encoding and delimiter.

    Every cell is read as text (codes keep leading zeros); numbers are parsed later
    by the caller so that errors can name the row.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The table and notes on what was detected (encoding, delimiter).
    """
    path = _check_path(path)
    raw = path.read_bytes()
    if not raw.strip():
        msg = f"{path}: the file is empty; export the table again"
        raise InputError(msg)
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = (
            f"{path}: a binary file, not a CSV text table; export the points as CSV "
            "(or pass them as GeoJSON/GeoPackage/Shapefile)"
        )
        raise InputError(msg)
    text, encoding = _decode(raw, source=str(path))
    # Windows-1258 and some GIS exports store tone marks as combining characters.
    text = unicodedata.normalize("NFC", text)
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})"
        raise InputError(msg) from None
    table.columns = [str(c).strip() for c in table.columns]
    notes = [f"{path.name}: read as {encoding}, delimiter {delimiter!r}"]
    return table, notes


def read_communes(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
) -> Loaded:
    """Read a commune layer into the canonical model and validate it.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped) or any file GDAL reads.
    columns
        Explicit source column names keyed by canonical name (``commune_code``,
        ``commune_name``, ``district_name``, ``province_name``, ``population``).
    crs
        CRS to assume when the file declares none.
    layer
        Layer name in a multi-layer file.
    fix_invalid
        Repair invalid geometries with ``shapely.make_valid`` instead of failing.

    Returns
    -------
    Loaded
        The canonical frame (in its source CRS) and notes.

    Raises
    ------
    InputError, CRSError, ValidationError
        With every problem found, each naming the feature and the fix.
    """
    loaded, problems = load_communes(
        path,
        columns=columns,
        crs=crs,
        layer=layer,
        fix_invalid=fix_invalid,
        population_table=population_table,
    )
    if problems:
        raise ValidationError(problems)
    return loaded


def _code_text(values: pd.Series) -> pd.Series:
    """Codes as stripped text; ``4552.0`` (a code read as a number) becomes ``4552``."""
    return values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)


def _blank_cells(values: pd.Series) -> np.ndarray:
    return (values.astype("string").str.strip().fillna("") == "").to_numpy()


def _join_population_table(
    layer_codes: pd.Series,
    path: str | Path,
    columns: dict[str, str] | None,
    *,
    source: str,
) -> tuple[pd.Series, list[str], list[Problem]]:
    """Look up the population of each feature in a table keyed by commune code."""
    table_path = _check_path(path)
    table_source = str(table_path)
    table, notes = read_table(table_path)
    present = {normalise_key(c) for c in table.columns}
    wanted = {
        k: v
        for k, v in (columns or {}).items()
        if k in ("commune_code", "population")
        and (v in table.columns or normalise_key(v) in present)
    }
    mapping = _map_columns(
        list(table.columns),
        {k: COMMUNE_ALIASES[k] for k in ("commune_code", "population")},
        wanted,
        source=table_source,
    )
    missing = [k for k in ("commune_code", "population") if k not in mapping]
    if missing:
        msg = (
            f"{table_source}: no {' or '.join(missing)} column found in the "
            f"population table (columns: {', '.join(map(str, table.columns[:12]))}); "
            "name it with --column commune_code=COL / --column population=COL"
        )
        raise InputError(msg)

    codes = _code_text(table[mapping["commune_code"]]).fillna("")
    problems: list[Problem] = []
    dup = codes.duplicated(keep=False) & (codes != "")
    for code, grp in codes[dup].groupby(codes[dup]):
        rows = ", ".join(f"row {i + 2}" for i in grp.index[:5])
        problems.append(
            Problem(
                table_source,
                rows,
                f"commune code {_shown(code)} appears {len(grp)} times",
                "keep one population per commune",
            )
        )
    values = table[mapping["population"]].set_axis(codes.to_numpy())
    values = values[~codes.duplicated().to_numpy()]
    layer_keys = _code_text(layer_codes).fillna("")
    joined = values.reindex(layer_keys.to_numpy())
    unmatched = np.flatnonzero(~layer_keys.isin(codes).to_numpy())
    for i in unmatched[:20]:
        problems.append(
            Problem(
                table_source,
                "",
                f"no population for commune code {_shown(layer_keys.iloc[i])} "
                f"(feature {i + 1} of {Path(source).name})",
                "add the commune to the table, or check that both use the same codes",
            )
        )
    if len(unmatched) > 20:
        problems.append(_more(table_source, len(unmatched) - 20, "codes like these"))
    extra = int((~codes.isin(layer_keys) & (codes != "")).sum())
    notes.append(
        f"population from {table_path.name}: {len(layer_keys) - len(unmatched)} of "
        f"{len(layer_keys)} communes matched by code"
        + (f"; {extra} table row(s) match no commune" if extra else "")
    )
    return pd.Series(joined.to_numpy(), index=layer_codes.index), notes, problems


def load_communes(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    fix_invalid: bool = False,
    population_table: str | Path | None = None,
) -> tuple[Loaded, list[Problem]]:
    """Read a commune layer and return it with the problems found, without raising.

    Used by :func:`coverage.validate.validate_inputs` to report the problems of
    both layers together; the frame keeps the faulty features so that cross-layer
    checks can still run.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped) or any file GDAL reads.
    columns
        Explicit source column names keyed by canonical name (``commune_code``,
        ``commune_name``, ``district_name``, ``province_name``, ``population``).
    crs
        CRS to assume when the file declares none.
    layer
        Layer name in a multi-layer file.
    fix_invalid
        Repair invalid geometries with ``shapely.make_valid`` instead of failing.
    population_table
        A table (CSV) of commune code and population joined to the layer on the
        code, for layers without population such as GADM; it replaces a population
        column of the layer.

    Returns
    -------
    (Loaded, list of Problem)
        The canonical frame (in its source CRS) with notes, and every problem.

    Raises
    ------
    InputError, CRSError
        When the layer cannot be read at all (missing file, no population column).
    """
    path = _check_path(path)
    source = str(path)
    gdf = _read_spatial(path, layer=layer)
    _apply_crs(gdf, crs, source=source)
    layer_columns = dict(columns or {})
    if population_table is not None:
        # the population comes from the table: a --column population names its column
        layer_columns.pop("population", None)
    mapping = _map_columns(
        [c for c in gdf.columns if c != gdf.geometry.name],
        COMMUNE_ALIASES,
        layer_columns,
        source=source,
    )
    notes: list[str] = []
    if len(gdf) == 0:
        msg = f"{source}: the layer has no features; export the communes again"
        raise InputError(msg)
    table_problems: list[Problem] = []
    unmatched_in_table = np.zeros(len(gdf), dtype=bool)
    if population_table is not None:
        if "commune_code" not in mapping:
            msg = (
                f"{source}: a population table is joined on the commune code, but "
                "the layer has no code column; name it with --column "
                "commune_code=COLUMN"
            )
            raise InputError(msg)
        joined, table_notes, table_problems = _join_population_table(
            gdf[mapping["commune_code"]], population_table, columns, source=source
        )
        gdf = gdf.assign(__population__=joined)
        mapping["population"] = "__population__"
        unmatched_in_table = joined.isna().to_numpy() & ~_blank_cells(
            gdf[mapping["commune_code"]]
        )
        notes.extend(table_notes)
    if "population" not in mapping:
        msg = (
            f"{source}: no population column found (looked for "
            f"{', '.join(COMMUNE_ALIASES['population'][:5])}, ...); name it with "
            "--column population=YOUR_COLUMN"
        )
        raise InputError(msg)
    problems: list[Problem] = list(table_problems)
    out = pd.DataFrame(index=gdf.index)
    feature = pd.Series(np.arange(1, len(gdf) + 1), index=gdf.index)
    if "commune_code" in mapping:
        codes = _code_text(gdf[mapping["commune_code"]])
    else:
        codes = pd.Series([f"F{i:05d}" for i in feature], index=gdf.index)
        notes.append(
            "no commune code column: features are numbered F00001, ...; name one "
            "with --column commune_code=COLUMN"
        )
    out["commune_code"] = codes.astype(str)
    if "commune_name" in mapping:
        out["commune_name"] = (
            gdf[mapping["commune_name"]]
            .astype("string")
            .fillna("")
            .str.strip()
            .str.normalize("NFC")
        ).astype(str)
    else:
        out["commune_name"] = out["commune_code"]
        notes.append("no commune name column: codes are used as names")
    for level in ("district_name", "province_name"):
        if level in mapping:
            out[level] = (
                gdf[mapping[level]]
                .astype("string")
                .fillna("")
                .str.strip()
                .str.normalize("NFC")
                .astype(str)
            )
    blank = codes.isna() | (codes == "")
    for i in feature[blank.to_numpy()]:
        problems.append(
            Problem(source, f"feature {i}", "empty commune code", "fill in the code")
        )
    dup = out["commune_code"].duplicated(keep=False) & ~blank
    for code, grp in out.loc[dup, "commune_code"].groupby(out.loc[dup, "commune_code"]):
        rows = ", ".join(str(f) for f in feature[grp.index][:5])
        problems.append(
            Problem(
                source,
                f"features {rows}",
                f"commune code {_shown(code)} appears {len(grp)} times",
                "codes must be unique; fix the codes or dissolve the duplicates",
            )
        )
    pop, bad = parse_number(gdf[mapping["population"]], integer=True)
    infinite = np.isinf(pop.to_numpy())
    bad = bad | infinite
    pop = pop.where(~infinite)
    name_of = out["commune_name"].to_numpy()
    raw_pop = gdf[mapping["population"]]
    if not pd.api.types.is_numeric_dtype(raw_pop):
        grouped = (
            raw_pop.astype("string")
            .str.strip()
            .str.fullmatch(r"-?\d{1,3}([.,]\d{3})+")
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        if grouped.any():
            notes.append(
                f"{int(grouped.sum())} population value(s) with thousands separators "
                f"read as whole numbers (e.g. {raw_pop[grouped].iloc[0]!r} = "
                f"{pop[grouped].iloc[0]:,.0f})"
            )
    for i in np.flatnonzero(bad)[:20]:
        raw_value = gdf[mapping["population"]].iloc[i]
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {_shown(raw_value)} is not a number",
                "write a whole number such as 12345",
            )
        )
    missing = pop.isna().to_numpy() & ~bad & ~unmatched_in_table
    for i in np.flatnonzero(missing)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                "population is missing",
                "fill it in (0 if nobody lives there)",
            )
        )
    negative = (pop < 0).to_numpy()
    for i in np.flatnonzero(negative)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {pop.iloc[i]:g} is negative",
                "population must be 0 or more",
            )
        )
    huge = (pop > MAX_POPULATION).to_numpy()
    for i in np.flatnonzero(huge)[:20]:
        problems.append(
            Problem(
                source,
                f"feature {i + 1} ({name_of[i]})",
                f"population {pop.iloc[i]:.4g} is more than the world's population",
                "check the column (is it an area, a code or a typo?)",
            )
        )
    problems.extend(
        _more(source, n, "features with this population problem")
        for n in (bad.sum() - 20, missing.sum() - 20, negative.sum() - 20)
        if n > 0
    )
    pop = pop.where(~huge, 0)
    out["population"] = pop.fillna(0).clip(lower=0).round().astype("int64").to_numpy()
    geoms = gdf.geometry.to_numpy()
    geoms, geom_problems, geom_notes = _check_polygons(
        geoms, name_of, source=source, fix_invalid=fix_invalid
    )
    problems.extend(geom_problems)
    notes.extend(geom_notes)
    if CRS.from_user_input(gdf.crs).is_geographic:
        xy = shapely.bounds(geoms)
        beyond = (np.abs(xy[:, [0, 2]]) > 180).any(axis=1) | (
            np.abs(xy[:, [1, 3]]) > 90
        ).any(axis=1)
        if beyond.any():
            problems.append(
                Problem(
                    source,
                    f"{int(beyond.sum())} feature(s)",
                    "coordinates are not degrees although the layer declares "
                    f"{gdf.crs.to_string()[:40]} (metres of a projected CRS?)",
                    "export the layer again with its real CRS",
                )
            )
    frame = gpd.GeoDataFrame(out, geometry=geoms, crs=gdf.crs).reset_index(drop=True)
    return Loaded(frame, notes, mapping), problems


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


def _check_polygons(
    geoms: np.ndarray,
    names: np.ndarray,
    *,
    source: str,
    fix_invalid: bool,
) -> tuple[np.ndarray, list[Problem], list[str]]:
    problems: list[Problem] = []
    notes: list[str] = []
    geoms = np.asarray(geoms, dtype=object).copy()

    def report(mask: np.ndarray, problem, fix: str) -> None:
        for i in np.flatnonzero(mask)[:20]:
            text = problem(i) if callable(problem) else problem
            problems.append(Problem(source, f"feature {i + 1} ({names[i]})", text, fix))
        if mask.sum() > 20:
            problems.append(_more(source, mask.sum() - 20, "features like these"))

    missing = shapely.is_missing(geoms)
    empty = shapely.is_empty(geoms) & ~missing
    report(missing, "has no geometry", "draw its boundary or remove the feature")
    report(empty, "has an empty geometry", "draw its boundary or remove the feature")
    present = ~missing & ~empty
    types = shapely.get_type_id(geoms)
    collections = present & (types == 7)
    if fix_invalid and collections.any():
        parts, index = shapely.get_parts(geoms[collections], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (3, 6))
        merged = np.asarray([shapely.Polygon()] * int(collections.sum()), dtype=object)
        if keep.any():
            built = shapely.multipolygons(
                shapely.get_parts(parts[keep]), indices=index[keep]
            )
            merged[: len(built)] = built
        geoms[collections] = merged
        notes.append(
            f"{int(collections.sum())} geometry collection(s) reduced to polygons"
        )
        lost = np.zeros(len(geoms), dtype=bool)
        lost[collections] = shapely.is_empty(merged)
        report(
            lost,
            "geometry collection holds no polygon",
            "draw its boundary or remove the feature",
        )
        present &= ~lost
        types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, (3, 6))
    report(
        wrong,
        lambda i: (
            f"geometry is a {_TYPE_NAMES.get(int(types[i]), 'non-polygon')}, "
            "not a polygon"
        ),
        "communes must be polygons; redraw or remove the feature"
        + (
            " (--fix-invalid keeps the polygons of a collection)"
            if not fix_invalid
            else ""
        ),
    )
    checkable = present & ~wrong
    zero = np.zeros(len(geoms), dtype=bool)
    # A bow-tie has zero signed area too: only what make_valid keeps tells them apart.
    zero[checkable] = ~(shapely.area(geoms[checkable]) > 0)
    zero[zero] = ~(shapely.area(shapely.make_valid(geoms[zero])) > 0)
    report(
        zero,
        "has zero area (its corners lie on one line or one point)",
        "draw its real boundary or remove the feature",
    )
    checkable &= ~zero
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[checkable] = ~shapely.is_valid(geoms[checkable])
    if invalid.any() and fix_invalid:
        repaired = shapely.make_valid(geoms[invalid], method="structure")
        polygonal = [
            g
            if shapely.get_type_id(g) in (3, 6)
            else shapely.union_all(
                [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
            )
            for g in repaired
        ]
        fixed = np.empty(len(polygonal), dtype=object)
        fixed[:] = polygonal
        geoms[invalid] = fixed
        notes.append(f"{int(invalid.sum())} invalid geometry(ies) repaired")
        lost = np.zeros(len(geoms), dtype=bool)
        lost[invalid] = ~(shapely.area(geoms[invalid]) > 0)
        report(
            lost,
            "invalid geometry could not be repaired (nothing of its area is left)",
            "draw its boundary again or remove the feature",
        )
    elif invalid.any():
        reasons = dict(
            zip(
                np.flatnonzero(invalid),
                shapely.is_valid_reason(geoms[invalid]),
                strict=True,
            )
        )
        report(
            invalid,
            lambda i: f"invalid geometry ({reasons[i]})",
            "repair it in your GIS or run with --fix-invalid",
        )
    return geoms, problems, notes


_TYPE_NAMES = {
    0: "point",
    1: "line",
    2: "ring",
    3: "polygon",
    4: "multi-point",
    5: "multi-line",
    6: "multi-polygon",
    7: "geometry collection",
}


def _kind_of(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    folded = (
        values.astype("string").fillna("").map(normalise_key).astype("string")
    ).str.replace("_", " ")
    kinds = pd.Series(pd.NA, index=values.index, dtype="string")
    for pattern, kind in _KIND_PATTERNS:
        hit = folded.str.contains(pattern, regex=True).fillna(False) & kinds.isna()
        kinds[hit] = kind
    bad = (kinds.isna() & (folded != "")).to_numpy()
    return kinds.fillna("other").astype(str), bad


def read_points(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> Loaded:
    """Read a service-point layer (CSV with lat/lon, or any spatial file).

    Parameters
    ----------
    path
        CSV (UTF-8, UTF-8 with BOM, UTF-16, Windows-1258/1252; comma, semicolon or
        tab), GeoJSON, GeoPackage or Shapefile.
    columns
        Explicit source column names keyed by canonical name (``point_id``,
        ``name``, ``kind``, ``staffed``, ``admin_services``, ``operator``,
        ``declared_commune_code``, ``lat``, ``lon``).
    crs
        CRS of the coordinates; CSV coordinates default to EPSG:4326.
    layer
        Layer name in a multi-layer file.

    Returns
    -------
    Loaded
        The canonical frame and notes (defaults applied for missing columns).

    Raises
    ------
    InputError, CRSError, ValidationError
        With every problem found, each naming the row or feature and the fix.
    """
    loaded, problems = load_points(path, columns=columns, crs=crs, layer=layer)
    if problems:
        raise ValidationError(problems)
    return loaded


def read_settlements(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read settlement points (villages, hamlets) with their population.

    Parameters
    ----------
    path
        CSV with lat/lon and a population column (``population``, ``dan_so``,
        ``pop``...), or a point layer.
    columns
        Explicit column names (``lat``, ``lon``, ``population``...).
    crs
        CRS of the coordinates; CSV coordinates default to EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``population`` and point geometry, one row per settlement.

    Raises
    ------
    InputError, ValidationError
        Unreadable file, no population column, bad coordinates or populations.
    """
    loaded, problems = load_points(path, columns=columns, crs=crs)
    source = str(path)
    src = Path(path)
    if src.suffix.lower() in {".csv", ".txt", ".tsv"}:
        table, _ = read_table(src)
    else:
        gdf = _read_spatial(src)
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    mapping = _map_columns(
        list(table.columns),
        {"population": COMMUNE_ALIASES["population"]},
        columns,
        source=source,
    )
    if "population" not in mapping:
        msg = (
            f"{source}: no population column found in the settlements; name it with "
            "--column population=YOUR_COLUMN"
        )
        raise InputError(msg)
    pop, bad = parse_number(
        table[mapping["population"]].reset_index(drop=True), integer=True
    )
    frame = loaded.frame.reset_index(drop=True)
    for i in np.flatnonzero(bad | pop.isna().to_numpy() | (pop < 0).to_numpy())[:20]:
        problems.append(
            Problem(
                source,
                f"row {i + 2}",
                f"settlement population {_shown(table[mapping['population']].iloc[i])}"
                " is not a number of 0 or more",
                "write a whole number such as 350",
            )
        )
    if problems:
        raise ValidationError(problems)
    return gpd.GeoDataFrame(
        {"name": frame["name"], "population": pop.to_numpy(float)},
        geometry=frame.geometry.values,
        crs=frame.crs,
    )


def load_points(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | None = None,
    layer: str | None = None,
) -> tuple[Loaded, list[Problem]]:
    """Read a service-point layer and return it with the problems found.

    Same parameters as :func:`read_points`; rows with problems stay in the frame
    (with their coordinates as read) so that cross-layer checks can look at them.

    Returns
    -------
    (Loaded, list of Problem)
        The canonical frame with notes, and every problem.

    Raises
    ------
    InputError, CRSError
        When the layer cannot be read at all (missing file, no coordinate columns).
    """
    path = _check_path(path)
    source = str(path)
    notes: list[str] = []
    is_csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
    if is_csv:
        table, read_notes = read_table(path)
        notes.extend(read_notes)
        mapping = _map_columns(
            list(table.columns), POINT_ALIASES, columns, source=source
        )
        if "lat" not in mapping or "lon" not in mapping:
            msg = (
                f"{source}: no latitude/longitude columns found (columns: "
                f"{', '.join(table.columns[:12])}); name them with --column lat=COL "
                "--column lon=COL"
            )
            raise InputError(msg)
        frame, problems = _points_from_table(table, mapping, source=source, crs=crs)
    else:
        gdf = _read_spatial(path, layer=layer)
        _apply_crs(gdf, crs, source=source)
        mapping = _map_columns(
            [c for c in gdf.columns if c != gdf.geometry.name],
            {k: v for k, v in POINT_ALIASES.items() if k not in ("lat", "lon")},
            columns,
            source=source,
        )
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        frame, problems = _points_from_table(
            table, mapping, source=source, geometry=gdf.geometry, crs=None
        )
    if len(frame) == 0 and not problems:
        msg = f"{source}: the layer has no service points"
        raise InputError(msg)
    for key, default in (
        ("kind", "all points counted as kind 'other'"),
        ("staffed", "all points except letter boxes assumed staffed"),
        ("admin_services", "no point assumed to offer administrative (TTHC) services"),
    ):
        if key not in mapping:
            notes.append(f"no {key} column: {default}")
    return Loaded(frame, notes, mapping), problems


def _points_from_table(
    table: pd.DataFrame,
    mapping: dict[str, str],
    *,
    source: str,
    geometry: gpd.GeoSeries | None = None,
    crs: str | None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    problems: list[Problem] = []
    n = len(table)
    row_label = (
        (lambda i: f"row {i + 2}")
        if geometry is None
        else (lambda i: f"feature {i + 1}")
    )
    out = pd.DataFrame(index=pd.RangeIndex(n))

    def text(key: str, default: str) -> pd.Series:
        if key in mapping:
            return (
                table[mapping[key]].astype("string").fillna("").str.strip().astype(str)
            ).reset_index(drop=True)
        return pd.Series([default] * n, dtype=str)

    ids = text("point_id", "")
    if "point_id" not in mapping:
        ids = pd.Series([f"P{i + 1:05d}" for i in range(n)], dtype=str)
    blank_id = (ids == "").to_numpy()
    if blank_id.any():
        # a point without an id is still a point: name it after its row or feature
        rows = np.flatnonzero(blank_id)
        ids = ids.copy()
        ids.iloc[rows] = [row_label(i).replace(" ", "-") for i in rows]
    out["point_id"] = ids
    out["name"] = text("name", "")
    if "kind" in mapping:
        kinds, bad = _kind_of(table[mapping["kind"]].reset_index(drop=True))
        for i in np.flatnonzero(bad)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    f"kind {_shown(table[mapping['kind']].iloc[i])} not recognised",
                    f"use one of {', '.join(KINDS)}",
                )
            )
        out["kind"] = kinds.to_numpy()
    else:
        out["kind"] = "other"
    for key in ("staffed", "admin_services"):
        if key in mapping:
            values, bad = parse_bool(table[mapping[key]].reset_index(drop=True))
            for i in np.flatnonzero(bad)[:20]:
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"{key} value {_shown(table[mapping[key]].iloc[i])} "
                        "is not yes/no",
                        "write yes or no (1/0, true/false, có/không also work)",
                    )
                )
            out[key] = values.to_numpy()
        elif key == "staffed":
            out[key] = (out["kind"] != "letter_box").to_numpy()
        else:
            out[key] = False
    out["operator"] = text("operator", "")
    if "declared_commune_code" in mapping:
        out["declared_commune_code"] = _code_text(
            text("declared_commune_code", "")
        ).astype(str)
    dup = out["point_id"].duplicated(keep=False) & (out["point_id"] != "")
    for pid, grp in out.loc[dup, "point_id"].groupby(out.loc[dup, "point_id"]):
        rows = ", ".join(row_label(i) for i in grp.index[:5])
        problems.append(
            Problem(
                source,
                rows,
                f"point id {_shown(pid)} appears {len(grp)} times",
                "ids must be unique; fix or remove the duplicates",
            )
        )
    if geometry is None:
        lat, bad_lat = parse_number(table[mapping["lat"]].reset_index(drop=True))
        lon, bad_lon = parse_number(table[mapping["lon"]].reset_index(drop=True))
        bad_lat |= np.isinf(lat.to_numpy())
        bad_lon |= np.isinf(lon.to_numpy())
        lat, lon = lat.where(~bad_lat), lon.where(~bad_lon)
        blank = (lat.isna() & ~bad_lat) | (lon.isna() & ~bad_lon)
        for i in np.flatnonzero(bad_lat | bad_lon)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    f"coordinates ({_shown(table[mapping['lat']].iloc[i])}, "
                    f"{_shown(table[mapping['lon']].iloc[i])}) are not numbers",
                    "write decimal degrees such as 20.8133, 105.3383",
                )
            )
        for i in np.flatnonzero(blank.to_numpy())[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "latitude or longitude is blank",
                    "fill in both coordinates or remove the row",
                )
            )
        try:
            target_crs = CRS.from_user_input(crs) if crs else WGS84
        except Exception:
            msg = f"--points-crs {crs!r} is not a CRS; use e.g. EPSG:4326 or EPSG:32648"
            raise CRSError(msg) from None
        if target_crs.is_geographic:
            out_of_range = ((lat.abs() > 90) | (lon.abs() > 180)) & ~blank
            metres = ((lat.abs() > 1000) & (lon.abs() > 1000)).to_numpy()
            if out_of_range.any() and metres[out_of_range.to_numpy()].all():
                problems.append(
                    Problem(
                        source,
                        "",
                        f"{int(out_of_range.sum())} row(s) have coordinates in the "
                        "thousands: they look like metres of a projected CRS, not "
                        "degrees",
                        "give their CRS with --points-crs (e.g. EPSG:32648 for UTM "
                        "zone 48N, EPSG:9210 for VN-2000)",
                    )
                )
            for i in np.flatnonzero(out_of_range.to_numpy())[:20]:
                swapped = abs(lon.iloc[i]) <= 90 < abs(lat.iloc[i]) <= 180
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"coordinates lat={lat.iloc[i]:g}, lon={lon.iloc[i]:g} are out "
                        "of range"
                        + (" (latitude and longitude swapped?)" if swapped else ""),
                        "latitude must be within ±90 and longitude within ±180"
                        + ("; swap the two columns" if swapped else ""),
                    )
                )
        geoms = shapely.points(lon.to_numpy(), lat.to_numpy())
        frame = gpd.GeoDataFrame(out, geometry=geoms, crs=target_crs)
    else:
        geoms = geometry.reset_index(drop=True).to_numpy()
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        for i in np.flatnonzero(missing)[:20]:
            problems.append(
                Problem(source, row_label(i), "has no geometry", "give it a location")
            )
        types = shapely.get_type_id(geoms)
        multi = types == 4
        if multi.any():
            geoms = geoms.copy()
            geoms[multi] = shapely.centroid(geoms[multi])
        wrong = ~np.isin(shapely.get_type_id(geoms), (0,)) & ~missing
        xy = np.full((len(geoms), 2), np.nan)
        is_point = ~wrong & ~missing
        xy[is_point] = shapely.get_coordinates(geoms[is_point])[:, :2]
        unusable = is_point & ~np.isfinite(xy).all(axis=1)
        for i in np.flatnonzero(unusable)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "point has no usable coordinates (NaN or infinite)",
                    "give it a location or remove it",
                )
            )
        if geometry.crs is not None and CRS.from_user_input(geometry.crs).is_geographic:
            outside = is_point & ~unusable
            outside[outside] = (np.abs(xy[outside, 0]) > 180) | (
                np.abs(xy[outside, 1]) > 90
            )
            for i in np.flatnonzero(outside)[:20]:
                problems.append(
                    Problem(
                        source,
                        row_label(i),
                        f"coordinates x={xy[i, 0]:g}, y={xy[i, 1]:g} are not degrees "
                        f"although the layer declares {geometry.crs.to_string()[:40]}",
                        "export the layer again with its real CRS",
                    )
                )
        for i in np.flatnonzero(wrong)[:20]:
            problems.append(
                Problem(
                    source,
                    row_label(i),
                    "geometry is not a point",
                    "service points must be points",
                )
            )
        frame = gpd.GeoDataFrame(out, geometry=geoms, crs=geometry.crs)
    return frame, problems


def assign_points(
    points: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Assign each point to the commune that contains it.

    Points on a shared boundary go to the first commune that touches them; points
    outside every commune get an empty ``commune_code`` and are listed in the notes.
    When the points carry a ``declared_commune_code`` column, disagreements with the
    spatial assignment are reported (the spatial assignment is kept).

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        The points with ``commune_code`` and ``inside`` columns, and notes.
    """
    notes: list[str] = []
    if points.crs is None or communes.crs is None:
        msg = "points and communes need a CRS before points can be assigned"
        raise CRSError(msg)
    pts = points.to_crs(communes.crs) if points.crs != communes.crs else points
    tree = shapely.STRtree(communes.geometry.to_numpy())
    point_idx, commune_idx = tree.query(pts.geometry.to_numpy(), predicate="intersects")
    first = np.full(len(pts), -1, dtype=np.int64)
    order = np.argsort(point_idx, kind="stable")
    point_idx, commune_idx = point_idx[order], commune_idx[order]
    uniq, start = np.unique(point_idx, return_index=True)
    first[uniq] = commune_idx[start]
    codes = communes["commune_code"].to_numpy()
    assigned = np.where(first >= 0, codes[np.clip(first, 0, None)], "")
    result = points.copy()
    result["commune_code"] = assigned.astype(str)
    result["inside"] = first >= 0
    outside = int((first < 0).sum())
    if outside:
        ids = ", ".join(result.loc[first < 0, "point_id"].astype(str).head(5))
        more = "" if outside <= 5 else f" and {outside - 5} more"
        notes.append(
            f"{outside} point(s) lie outside every commune ({ids}{more}); they are "
            "listed in points_outside.csv and not counted"
        )
    if "declared_commune_code" in result.columns:
        declared = result["declared_commune_code"].astype(str)
        disagree = (
            (declared != "") & (declared != result["commune_code"]) & (first >= 0)
        )
        n = int(disagree.sum())
        if n:
            ids = ", ".join(result.loc[disagree, "point_id"].astype(str).head(5))
            notes.append(
                f"{n} point(s) lie in another commune than their commune_code column "
                f"says ({ids}{'' if n <= 5 else ', ...'}); the location was used"
            )
        result["declared_mismatch"] = disagree.to_numpy()
    return result, notes
