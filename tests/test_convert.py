"""Cells as clerks type them → typed values; nothing becomes a date silently."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.convert import (BadValue, blank_flags, ids_as_texts, is_blank, moments_to_the_minute, texts_normalised, to_date, to_datetime,
                              to_id, to_money, to_text)

NOV_3 = dt.date(2026, 11, 3)


@pytest.mark.parametrize("value", ["2026-11-03", "2026/11/3", "2026.11.3", "2026年11月3日", "20261103",
                                   "２０２６－１１－０３", dt.date(2026, 11, 3), dt.datetime(2026, 11, 3),
                                   46329.0, 20261103.0])
def test_every_date_form_of_forms_md_is_read(value):
    assert to_date(value) == NOV_3


@pytest.mark.parametrize("value", ["2026/13/01", "2026-02-30", "1900-01-00", "46023", "明天", 100.0, True])
def test_impossible_or_ambiguous_dates_are_refused(value):
    with pytest.raises(BadValue):
        to_date(value)


@pytest.mark.parametrize("value", ["2026-11-03 09:30", "2026/11/3 9:30", "2026年11月3日 9时30分",
                                   dt.datetime(2026, 11, 3, 9, 30), 46329.395833333336])
def test_date_times_are_read_to_the_minute(value):
    assert to_datetime(value) == dt.datetime(2026, 11, 3, 9, 30)


def test_a_date_time_without_its_time_is_refused():
    with pytest.raises(BadValue):
        to_datetime("2026-11-03")


@pytest.mark.parametrize("value, expected", [(2023001.0, "2023001"), ("2023001.0", "2023001"),
                                             (202300100012345.0, "202300100012345"), (" JX001 ", "JX001"),
                                             ("０１２３", "0123")])
def test_ids_that_excel_made_numeric_come_back_exact(value, expected):
    assert to_id(value) == expected


def test_an_id_in_scientific_notation_is_refused():
    with pytest.raises(BadValue) as error:
        to_id("2.02E+09")
    assert error.value.code == "E_ID_SCIENTIFIC"


def test_money_accepts_yuan_signs_and_refuses_negatives():
    assert to_money("¥1,200.5元") == 1200.5
    with pytest.raises(BadValue):
        to_money(-3)


def test_a_number_in_a_text_column_stays_text_and_never_becomes_a_date():
    assert to_text(46023.0) == "46023"


def test_blank_flags_of_a_column_are_is_blank_of_each_value():
    import datetime as dt
    import numpy as np
    from pipeline.convert import blank_flags, is_blank

    values = [None, float("nan"), np.float64("nan"), "", "  ", "\u3000", "\t\n", "a", " a ", 0, 0.0, False, True,
              dt.datetime(2026, 11, 3), dt.date(2026, 11, 3), np.float64(1.5), -0.0]
    assert blank_flags(values).tolist() == [is_blank(v) for v in values]
    assert blank_flags([dt.datetime(2026, 11, 3), 1, True]).tolist() == [False, False, False]
    assert blank_flags([]).tolist() == []


# A column's cells converted at once give what converting them one by one gives.
ODD_TEXTS = [" 张三 ", "ＡＢＣ１２３", "李\x07四", "王\u3000五", "ﬁ", "e\u0301", "\u0301开头", "2023001.0", "2.02E+09",
             "GD 001", "GD\t001", "\x0b竖\x0c", "\ufeff标记", "回\r车", "换\n行", "", "   ", "①", "㈱"]
cells = st.lists(st.one_of(st.text(max_size=10), st.sampled_from(ODD_TEXTS)), min_size=1, max_size=25)


def one_by_one(convert, values):
    made = []
    for value in values:
        try:
            made.append(convert(value))
        except BadValue:
            return None
    return made


@given(cells)
@settings(max_examples=400, deadline=None)
def test_texts_normalised_at_once_are_the_texts_normalised_one_by_one(values):
    at_once = texts_normalised(values)
    if at_once is not None:
        assert at_once == [to_text(v) for v in values]


@given(cells)
@settings(max_examples=400, deadline=None)
def test_ids_read_at_once_are_the_ids_read_one_by_one(values):
    at_once = ids_as_texts(values)
    if at_once is not None:
        assert at_once == one_by_one(to_id, values)


def test_only_cells_that_need_no_more_are_taken_at_once():
    assert texts_normalised(["张三", " ＡＢＣ ", "李\x07四", "ﬁ"]) == ["张三", "ABC", "李四", "fi"]
    assert texts_normalised(["换\n行", "张三"]) is None and texts_normalised(["张三", 1]) is None
    assert ids_as_texts(["GD001", "ＧＤ００２"]) == ["GD001", "GD002"]
    for odd in ("2023001.0", "2.02E+09", "GD 001", "GD\u3000001"):
        assert ids_as_texts(["GD001", odd]) is None, odd


@given(st.lists(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2099, 12, 31)), min_size=1,
                max_size=20))
@settings(max_examples=200, deadline=None)
def test_moments_taken_at_once_are_the_moments_taken_one_by_one(values):
    at_once = moments_to_the_minute(values)
    assert at_once.astype(object).tolist() == [to_datetime(v) for v in values]
    assert moments_to_the_minute([*values, "2026-11-03 09:30"]) is None


@given(st.lists(st.one_of(st.text(alphabet=" \t\u3000\n\x1fa张", max_size=4), st.none(), st.just(float("nan")),
                          st.floats(allow_nan=False), st.integers(), st.booleans(),
                          st.datetimes(min_value=dt.datetime(1990, 1, 1))), max_size=30))
@settings(max_examples=300, deadline=None)
def test_blank_flags_agree_with_is_blank_on_any_mix_of_cells(values):
    assert blank_flags(values).tolist() == [is_blank(v) for v in values]
