"""What time it is, in the offices' time (China Standard Time, UTC+8, no summer time), whatever the
machine's time zone: a period not yet over is assessed as of the offices' today, so the same inbox
gives the same documents on a server set to UTC and on a clerk's PC set to Asia/Shanghai."""
from __future__ import annotations

import datetime as dt

OFFICE_TIME = dt.timezone(dt.timedelta(hours=8), "CST")


def now() -> dt.datetime:
    """The offices' wall-clock time, to the second (naive, like the times clerks type)."""
    return dt.datetime.now(OFFICE_TIME).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()
