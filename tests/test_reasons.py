"""Gap reasons as codes: the words in each language come from one place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage.reasons import (
    REASONS,
    encode_reason,
    format_number,
    join_reasons,
    render_reasons,
)

YES = np.array([True])


@pytest.mark.parametrize(
    ("code", "values", "en", "vi"),
    [
        ("no_point", (), "no service point", "chưa có điểm phục vụ"),
        ("no_staffed", (), "no staffed point", "chưa có điểm có người phục vụ"),
        (
            "communes_unstaffed",
            (1007,),
            "1007 commune(s) without a staffed point",
            "1.007 xã chưa có điểm có người phục vụ",
        ),
        (
            "radius_above",
            (5.1271, 2.9),
            "radius 5.13 km > 2.9 km",
            "bán kính 5,13 km > 2,9 km",
        ),
        (
            "people_above",
            (13558.4, 7105),
            "13,558 people/point > 7,105",
            "13.558 người/điểm > 7.105",
        ),
        (
            "share_below",
            (0.95, 5, 82.4321),
            "95% within 5 km needed, 82.4% reached",
            "cần 95% dân số trong phạm vi 5 km, đạt 82,4%",
        ),
        (
            "time_share_below",
            (0.9, 30, 61.05),
            "90% within 30 min needed, 61.0% reached",
            "cần 90% dân số trong phạm vi 30 phút, đạt 61,0%",
        ),
    ],
)
def test_each_reason_in_both_languages(code, values, en, vi):
    codes = encode_reason(code, YES, *values)
    assert render_reasons(codes, "en").tolist() == [en]
    assert render_reasons(codes, "vi").tolist() == [vi]


def test_rows_without_reason_stay_empty_and_order_is_kept():
    mask = np.array([True, False, True])
    codes = join_reasons(
        encode_reason("no_point", np.array([False, False, True])),
        encode_reason("radius_above", mask, np.array([3.0, 9.9, 4.25]), 2.9),
        encode_reason("people_above", np.array([True, False, False]), 8000.0, 7105),
    )
    words = render_reasons(pd.Series(codes, index=[10, 11, 12]), "en")
    assert words.index.tolist() == [10, 11, 12]
    assert words.tolist() == [
        "radius 3.00 km > 2.9 km; 8,000 people/point > 7,105",
        "",
        "no service point; radius 4.25 km > 2.9 km",
    ]


def test_missing_values_render_as_no_reason():
    assert render_reasons(pd.Series([None, np.nan, ""]), "vi").tolist() == ["", "", ""]


def test_wrong_number_of_values_is_a_programming_error():
    with pytest.raises(ValueError, match="radius_above takes 2 values"):
        encode_reason("radius_above", YES, 3.0)


def test_every_reason_renders_in_both_languages():
    for code, reason in REASONS.items():
        codes = encode_reason(code, YES, *([1.0] * reason.n_values))
        en, vi = render_reasons(codes, "en")[0], render_reasons(codes, "vi")[0]
        assert en and vi and en != vi and code not in en


@given(st.floats(0, 1e9), st.integers(0, 3))
def test_vietnamese_numbers_swap_the_separators(value, decimals):
    en = format_number(value, decimals)
    vi = format_number(value, decimals, "vi")
    assert vi == en.replace(",", "_").replace(".", ",").replace("_", ".")
    assert float(en.replace(",", "")) == pytest.approx(value, abs=10**-decimals)
