"""Recognising source columns and parsing the cells people write."""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "COMMUNE_ALIASES",
    "POINT_ALIASES",
    "check_column_keys",
    "normalise_key",
    "parse_bool",
    "parse_number",
]

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
    # last: the list of valid keys in messages keeps its order
    "capacity": (
        "capacity",
        "suc_chua",
        "cong_suat",
        "counters",
        "so_quay",
        "n_staff",
        "so_nhan_vien",
        "dossiers_per_day",
        "ho_so_ngay",
    ),
}


_TRUE = {"1", "true", "yes", "y", "x", "co", "t", "staffed", "có"}
_FALSE = {"0", "false", "no", "n", "khong", "f", "", "không", "nan", "none"}


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


def check_column_keys(columns: dict[str, str] | None) -> None:
    """Refuse explicit column names given under a key that names no column.

    Parameters
    ----------
    columns
        Explicit source column names keyed by canonical name, as given with
        ``--column KEY=COLUMN``.

    Raises
    ------
    InputError
        For the first unknown key, with the closest valid key and all of them.

    Examples
    --------
    >>> check_column_keys({"populaton": "DS_2024"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    coverage.errors.InputError: ...key 'populaton' (did you mean population?)...
    """
    valid = list(dict.fromkeys([*COMMUNE_ALIASES, *POINT_ALIASES]))
    for key, column in (columns or {}).items():
        if key in valid:
            continue
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        msg = (
            f"--column {key}={column}: unknown key {key!r}{hint}; the keys are "
            + ", ".join(valid)
        )
        raise InputError(msg)


def _map_columns(
    available: list[str],
    aliases: dict[str, tuple[str, ...]],
    explicit: dict[str, str] | None,
    *,
    source: str,
) -> dict[str, str]:
    """Map canonical names to source column names (explicit names win)."""
    check_column_keys(explicit)
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
            found = by_key.get(name)
            if found is not None and found not in used:
                mapping[canonical] = found
                used.add(found)
                break
    return mapping


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


def _code_text(values: pd.Series) -> pd.Series:
    """Codes as stripped text; ``4552.0`` (a code read as a number) becomes ``4552``."""
    return values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)


def _blank_cells(values: pd.Series) -> np.ndarray:
    return (values.astype("string").str.strip().fillna("") == "").to_numpy()
