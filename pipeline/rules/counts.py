"""How many records each form kind holds, in all and in the period."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.periods import Period


def records_in_period(records: pd.DataFrame, date_field: str | None, period: Period) -> pd.DataFrame:
    """The records whose own date falls in the period (all of them when the kind has no date)."""
    if records.empty or date_field is None or date_field not in records:
        return records
    dates = pd.to_datetime(records[date_field], errors="coerce").dt.date
    return records[(dates >= period.start) & (dates <= period.end)]


def record_counts(records: dict[str, pd.DataFrame], titles: dict[str, str], date_fields: dict[str, str | None],
                  period: Period) -> pd.DataFrame:
    """One row per form kind that has records: 表格种类, 累计有效记录, 本期记录."""
    rows = [{"表格种类": titles[kind], "累计有效记录": len(frame),
             "本期记录": len(records_in_period(frame, date_fields[kind], period))}
            for kind, frame in records.items() if len(frame)]
    return pd.DataFrame(rows, columns=["表格种类", "累计有效记录", "本期记录"])
