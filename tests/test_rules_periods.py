"""Periods: months, quarters, half-years, terms and the biweekly windows of a term."""
import datetime as dt

from pipeline.rules.periods import (assessment_year, counting_span, current_term, half_year_of, months_in,
                                    quarter_of, term, windows)

TERMS = {"2026秋": (dt.date(2026, 9, 1), dt.date(2027, 1, 20)), "2027春": (dt.date(2027, 2, 24), dt.date(2027, 7, 5))}


def test_half_years_are_january_to_june_and_july_to_december():
    assert (half_year_of(dt.date(2026, 6, 30)).start, half_year_of(dt.date(2026, 6, 30)).end) == \
        (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert half_year_of(dt.date(2026, 7, 1)).name == "2026H2"


def test_quarters_and_months_of_a_span():
    assert quarter_of(dt.date(2026, 11, 3)).start == dt.date(2026, 10, 1)
    assert [m.name for m in months_in(term("2026秋", TERMS))] == ["2026-09", "2026-10", "2026-11", "2026-12",
                                                                  "2027-01"]


def test_biweekly_windows_start_on_the_terms_first_day_and_the_last_ends_with_the_term():
    found = windows(term("2026秋", TERMS), 14)
    assert found[0].start == dt.date(2026, 9, 1) and found[0].end == dt.date(2026, 9, 14)
    assert found[1].start == dt.date(2026, 9, 15)
    assert found[-1].end == dt.date(2027, 1, 20)                  # a term ending in the middle of a month
    assert all(later.start == earlier.end + dt.timedelta(days=1) for earlier, later in zip(found, found[1:]))


def test_a_holiday_reports_on_the_term_that_just_ended():
    assert current_term(dt.date(2027, 2, 10), TERMS).name == "2026秋"
    assert current_term(dt.date(2026, 8, 1), TERMS) is None
    assert counting_span(dt.date(2026, 8, 31), TERMS).name == "2026"      # no term yet: the year
    assert counting_span(dt.date(2026, 8, 31), {}).name == "2026"


def test_a_school_year_preset_runs_september_to_august():
    school = assessment_year("2026", 9)
    assert (school.start, school.end) == (dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    assert assessment_year("2026").end == dt.date(2026, 12, 31)


def test_a_kinds_records_of_the_period_are_counted_by_their_own_date_the_last_day_whole():
    import pandas as pd

    from pipeline.rules.counts import count_in_period
    from pipeline.rules.periods import month

    november = month("2026-11")
    moments = pd.Series(pd.to_datetime(["2026-10-31 23:59", "2026-11-01 00:00", "2026-11-30 23:59",
                                        "2026-12-01 00:00", None]))
    assert count_in_period(pd.DataFrame({"日期": moments}), "日期", november) == 2
    # Stored by earlier versions as ISO text; a text that is no date counts nowhere.
    texts = pd.Series(["2026-11-03", "2026-11-30 18:00", "2026-12-01", "不详", None], dtype=object)
    assert count_in_period(pd.DataFrame({"日期": texts}), "日期", november) == 2
    # A kind without a date counts every record, as does a frame without the date column.
    assert count_in_period(pd.DataFrame({"x": [1, 2, 3]}), None, november) == 3
    assert count_in_period(pd.DataFrame({"x": [1, 2, 3]}), "日期", november) == 3
