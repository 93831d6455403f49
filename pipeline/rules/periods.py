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
