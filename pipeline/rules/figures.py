"""What the rules hand to the writers: named tables (one sheet each) and a few facts for sentences."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.rules.officers import (appointed_officers, feedback_items, joined_reasons, leaving_reasons,
                                     officer_status, on_the_books, records_in, unexcused_absences)
from pipeline.rules.periods import Period, last_months, so_far

# How many months the trend table (and the bulletin's trend chart) looks back, this month included.
TREND_MONTHS = 6


class Later:
    """A table worked out only when it is first looked at (a long list that only the workbook shows:
    the bulletin can be rendered meanwhile)."""

    def __init__(self, make: Callable[[], pd.DataFrame]):
        self.make = make


@dataclass(frozen=True)
class ByRecord:
    """A long list made row by row from records, and for each row the digest its record is kept with
    (pipeline.columns.RECORD_DIGEST): what a Later may give, for the workbook writer to know its
    unchanged rows by (xlsx.KnownRows)."""

    frame: pd.DataFrame
    digests: object                 # np.ndarray of int64, one per row of frame


class Tables(Mapping):
    """Sheet name → table, in reading order; a Later is worked out the first time it is looked at (one
    that gives a ByRecord leaves its rows' record digests in record_digests)."""

    def __init__(self, tables: dict[str, "pd.DataFrame | Later"]):
        self._tables = dict(tables)
        self.record_digests: dict[str, object] = {}

    def __getitem__(self, sheet: str) -> pd.DataFrame:
        table = self._tables[sheet]
        if isinstance(table, Later):
            table = table.make()
            if isinstance(table, ByRecord):
                self.record_digests[sheet], table = table.digests, table.frame
            self._tables[sheet] = table
        return table

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


@dataclass
class Figures:
    """The figures of one programme for one period."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)   # sheet name → table, in reading order
    facts: dict[str, object] = field(default_factory=dict)          # numbers and lists for the bulletin


def officer_table(officers: pd.DataFrame, period: Period, counting: Period, feedback: pd.DataFrame,
                  attendance: pd.DataFrame, dismissal: pd.Series, renewal: pd.Series,
                  extra: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Sheet 信息员: every officer serving in the period or leaving in it, with 反馈数 (items in the period), 缺席次数
    (unexcused absences in `counting`, the term or year so far), 状态 and every reason (原因)."""
    serving = officers[on_the_books(officers, period)]
    index = serving.index
    status = officer_status(serving, period.end, dismissal.reindex(index), renewal.reindex(index))
    reasons = joined_reasons(leaving_reasons(serving, period.end), dismissal.reindex(index), renewal.reindex(index))
    table = pd.DataFrame({
        "工号": index, "姓名": serving["姓名"].to_numpy(), "单位": serving["单位"].to_numpy(),
        "职务": serving["职务"].to_numpy(),
        "反馈数": feedback_items(feedback, index, period).to_numpy(),
        "缺席次数": unexcused_absences(attendance, index, so_far(counting, period.end)).to_numpy(),
        "状态": status.to_numpy(), "原因": reasons.to_numpy()})
    for name, values in (extra or {}).items():
        table[name] = values.reindex(index).to_numpy()
    return table.reset_index(drop=True)


def officers_of(records: dict[str, pd.DataFrame], rules: dict) -> pd.DataFrame:
    """The programme's officers from its roster records (see appointed_officers)."""
    return appointed_officers(records["roster"], rules.get("term_years", 1))


def no_reasons(officers: pd.DataFrame) -> pd.Series:
    """A reason series with nothing in it, for programmes without such a rule."""
    return pd.Series(None, index=officers.index, dtype=object)


def trend(period: Period, count_of_month) -> pd.DataFrame:
    """趋势: one row per month of the last TREND_MONTHS (月份 like 2026年6月, then `count_of_month(month)`'s
    columns), oldest first."""
    rows = [{"月份": m.label, **count_of_month(m)} for m in last_months(period, TREND_MONTHS)]
    return pd.DataFrame(rows)


def feedback_trend(feedback: pd.DataFrame, period: Period) -> pd.DataFrame:
    """趋势 of the feedback items handed in per month."""
    return trend(period, lambda m: {"反馈数": len(records_in(feedback, "反馈日期", m)),
                                    "已处理数": int((records_in(feedback, "反馈日期", m)["处理状态"] == "已处理").sum())})
