"""How many records each form kind holds, in all and in the period."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.officers import in_period
from pipeline.rules.periods import Period


def count_in_period(records: pd.DataFrame, date_field: str | None, period: Period) -> int:
    """How many records have their own date in the period (all of them when the kind has no date)."""
    if records.empty or date_field is None or date_field not in records:
        return len(records)
    dates = pd.to_datetime(records[date_field], errors="coerce", format="ISO8601")     # as records.typed reads them
    return int(in_period(dates, period).sum())


def record_counts(records: dict[str, pd.DataFrame], titles: dict[str, str], date_fields: dict[str, str | None],
                  period: Period) -> pd.DataFrame:
    """One row per form kind that has records: 表格种类, 累计有效记录, 本期记录."""
    rows = [{"表格种类": titles[kind], "累计有效记录": len(frame),
             "本期记录": count_in_period(frame, date_fields[kind], period)}
            for kind, frame in records.items() if len(frame)]
    return pd.DataFrame(rows, columns=["表格种类", "累计有效记录", "本期记录"])
