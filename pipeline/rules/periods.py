"""Months, years and terms as date ranges."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    """A span of days with a name: 2026-11, 2026, 2026秋."""

    name: str
    start: dt.date
    end: dt.date              # inclusive
    label: str                # as a document says it: 2026年11月

    @property
    def year(self) -> int:
        return self.start.year


def month(name: str) -> Period:
    """The month of `YYYY-MM`; raises ValueError for anything else."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", name.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(name)
    year, number = int(match[1]), int(match[2])
    start = dt.date(year, number, 1)
    end = (dt.date(year + number // 12, number % 12 + 1, 1) - dt.timedelta(days=1))
    return Period(f"{year:04d}-{number:02d}", start, end, f"{year}年{number}月")


def previous_month(today: dt.date) -> Period:
    """The calendar month before the one `today` falls in."""
    last_day = today.replace(day=1) - dt.timedelta(days=1)
    return month(f"{last_day.year}-{last_day.month}")


def year(name: str) -> Period:
    """The calendar year `YYYY`."""
    if not re.fullmatch(r"\d{4}", name.strip()):
        raise ValueError(name)
    number = int(name)
    return Period(str(number), dt.date(number, 1, 1), dt.date(number, 12, 31), f"{number}年")


def term(name: str, terms: dict[str, tuple[dt.date, dt.date]]) -> Period:
    """A term (学期) named in the programme's settings, such as 2026秋."""
    if name not in terms:
        raise ValueError(name)
    start, end = terms[name]
    season = "秋季" if name.endswith("秋") else "春季"
    return Period(name, start, end, f"{name[:4]}年{season}学期")


def so_far(span: Period, day: dt.date) -> Period:
    """The part of the span up to `day` (the whole span when it ended before), under the span's name."""
    return Period(span.name, span.start, min(span.end, day), span.label)


def month_of(day: dt.date) -> Period:
    """The calendar month a day falls in."""
    return month(f"{day.year}-{day.month}")


def months_in(period: Period) -> list[Period]:
    """The calendar months that overlap the period, in order."""
    months, current = [], month_of(period.start)
    while current.start <= period.end:
        months.append(current)
        current = month_of(current.end + dt.timedelta(days=1))
    return months


def quarter_of(day: dt.date) -> Period:
    """The calendar quarter a day falls in: 2026Q4."""
    number = (day.month - 1) // 3 + 1
    start = dt.date(day.year, 3 * number - 2, 1)
    end = month(f"{day.year}-{3 * number}").end
    return Period(f"{day.year}Q{number}", start, end, f"{day.year}年第{'一二三四'[number - 1]}季度")


def half_year_of(day: dt.date) -> Period:
    """The half-year a day falls in: H1 = January–June, H2 = July–December."""
    if day.month <= 6:
        return Period(f"{day.year}H1", dt.date(day.year, 1, 1), dt.date(day.year, 6, 30), f"{day.year}年上半年")
    return Period(f"{day.year}H2", dt.date(day.year, 7, 1), dt.date(day.year, 12, 31), f"{day.year}年下半年")


def assessment_year(name: str, start_month: int = 1) -> Period:
    """The assessment year `YYYY`: the calendar year, or September–August when the preset starts it in month 9."""
    calendar = year(name)
    if start_month == 1:
        return calendar
    start = dt.date(calendar.year, start_month, 1)
    end = dt.date(calendar.year + 1, start_month, 1) - dt.timedelta(days=1)
    return Period(calendar.name, start, end, f"{calendar.year}—{calendar.year + 1}学年")


def windows(span: Period, length_days: int) -> list[Period]:
    """Consecutive windows of `length_days` from the span's first day; the last one ends with the span."""
    found, start, number = [], span.start, 1
    while start <= span.end:
        end = min(start + dt.timedelta(days=length_days - 1), span.end)
        found.append(Period(f"{span.name}#{number}", start, end,
                            f"第{number}周期（{start.month}月{start.day}日—{end.month}月{end.day}日）"))
        start, number = end + dt.timedelta(days=1), number + 1
    return found


def term_containing(day: dt.date, terms: dict[str, tuple[dt.date, dt.date]]) -> Period | None:
    """The term a day falls in, or None between terms."""
    for name, (start, end) in sorted(terms.items(), key=lambda item: item[1]):
        if start <= day <= end:
            return term(name, terms)
    return None


def current_term(day: dt.date, terms: dict[str, tuple[dt.date, dt.date]]) -> Period | None:
    """The term a day falls in, else the last term that ended before it (a holiday month reports on it)."""
    found = term_containing(day, terms)
    if found:
        return found
    earlier = [name for name, (start, end) in terms.items() if end < day]
    return term(max(earlier, key=lambda name: terms[name][1]), terms) if earlier else None


def counting_span(day: dt.date, terms: dict[str, tuple[dt.date, dt.date]] | None) -> Period:
    """Where counts 'so far' run: the current term up to `day` for programmes with terms, else the year."""
    if terms:
        found = current_term(day, terms)
        if found:
            return found
    return year(str(day.year))


def last_months(period: Period, count: int) -> list[Period]:
    """The `count` calendar months ending with the one `period` ends in, oldest first."""
    months = [month_of(period.end)]
    while len(months) < count:
        months.insert(0, month_of(months[0].start - dt.timedelta(days=1)))
    return months
