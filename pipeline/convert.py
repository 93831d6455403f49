"""Cells as clerks type them → typed values. Each converter returns the value, or raises BadValue."""
from __future__ import annotations

import datetime as dt
import math
import operator
import re
import unicodedata

import numpy as np
import pandas as pd

# Excel serial numbers accepted as dates: 1990-01-01 … 2099-12-31. Anything else is not a date.
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 32874, 73415

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE = re.compile(
    r"(?P<y>\d{4})\s*(?:[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?|(?P<m8>\d{2})(?P<d8>\d{2}))"
    r"(?:(?:\s+|T|\s*日?\s*)(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})\s*(?:[:分]\s*(?:(?P<S>\d{1,2})\s*秒?)?)?)?"
)
_ID_FLOAT = re.compile(r"(\d+)\.0+")
_SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+\d+")  # how Excel shows a long number: 2.02E+09
_MONEY = re.compile(r"[¥￥元,，\s]")


class BadValue(ValueError):
    """A cell that cannot be read as its column's type; `code` names the problem in the catalogue."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def is_blank(value: object) -> bool:
    """True for an empty cell: None, NaN, or text that is only white space."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


_NEVER_BLANK = {int, bool, dt.datetime, dt.date, dt.time, dt.timedelta}
TEXTS_OR_NONE = frozenset({str, type(None)})   # a column of texts and empty cells, the common case
DISTINCT_SAMPLE = 1_000      # cells looked at to tell a column of mostly distinct values


def mostly_distinct(values: list[object]) -> bool:
    """Whether the filled cells (blanks aside) among a column's first DISTINCT_SAMPLE are nearly all
    different, as ids, names and moments are: finding the few repeats would cost more than it saves."""
    filled = [value for value in values[:DISTINCT_SAMPLE] if value is not None and (type(value) is not str or value)]
    return bool(filled) and len(set(filled)) >= len(filled) * 0.9


def blank_flags(values: list[object]) -> np.ndarray:
    """is_blank of each value, for a column's distinct values at once."""
    types = set(map(type, values))
    if types <= _NEVER_BLANK:                           # dates, times and whole numbers: nothing to look at
        return np.zeros(len(values), dtype=bool)
    if types <= TEXTS_OR_NONE:                         # texts (and None): nothing left once stripped
        texts = values if type(None) not in types else [value or "" for value in values]
        return np.fromiter(map(operator.not_, map(str.strip, texts)), dtype=bool, count=len(values))
    if types - TEXTS_OR_NONE <= _NEVER_BLANK:          # moments with a few texts (or None) among them:
        texts = np.fromiter(map(TEXTS_OR_NONE.__contains__, map(type, values)), dtype=bool, count=len(values))
        where = np.flatnonzero(texts)                  # only those looked at
        flags = np.zeros(len(values), dtype=bool)
        flags[where] = blank_flags([values[i] for i in where.tolist()])
        return flags
    if not any(issubclass(t, str) for t in types):     # no text: blank is None or NaN, looked at in C
        cells = np.empty(len(values), dtype=object)
        cells[:] = values
        return pd.isna(cells)
    return np.fromiter((v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and v != v)
                        for v in values), dtype=bool, count=len(values))


def normalise_text(value: str) -> str:
    """NFKC (full-width → half-width), control characters removed, outer white space stripped."""
    return _CONTROL.sub("", unicodedata.normalize("NFKC", value)).strip()


DISPLAY_LIMIT = 200


def display(value: object) -> str:
    """The cell as the clerk sees it, for messages: 2023001 not 2023001.0, dates as 2026-11-03."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if len(text) > DISPLAY_LIMIT:    # a 40,000-character cell is quoted by its start and its length
        return f"{text[:DISPLAY_LIMIT]}…（共{len(text)}字）"
    return text


def to_text(value: object) -> str:
    if isinstance(value, (float, int, dt.date, bool)):
        return display(value)
    return normalise_text(str(value))


def to_id(value: object) -> str:
    """An id as text: Excel's 2023001.0 becomes 2023001; 2.02E+09 is refused, its digits are lost."""
    if isinstance(value, bool):
        raise BadValue("E_ID")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (not value.is_integer() or abs(value) >= 2**53):
            raise BadValue("E_ID")
        return str(int(value))
    text = _SPACES.sub("", normalise_text(str(value)))
    if _SCIENTIFIC.fullmatch(text):
        raise BadValue("E_ID_SCIENTIFIC")
    match = _ID_FLOAT.fullmatch(text)
    return match.group(1) if match else text


def _from_serial(value: float) -> dt.datetime:
    if not SERIAL_MIN <= value <= SERIAL_MAX:
        raise BadValue("E_DATE")
    moment = EXCEL_EPOCH + dt.timedelta(days=value)
    # Round to the minute: Excel stores 09:30 as a binary fraction a few microseconds off.
    return (moment + dt.timedelta(seconds=30)).replace(second=0, microsecond=0) if value % 1 else moment


def _parse_text_moment(text: str) -> tuple[dt.date, dt.time | None]:
    match = _DATE.fullmatch(_SPACES.sub(" ", normalise_text(text)))
    if not match:
        raise BadValue("E_DATE")
    year = int(match["y"])
    month = int(match["m"] or match["m8"])
    day = int(match["d"] or match["d8"])
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise BadValue("E_DATE") from None
    if not 1990 <= year <= 2099:
        raise BadValue("E_DATE")
    if match["H"] is None:
        return date, None
    try:
        time = dt.time(int(match["H"]), int(match["M"]), int(match["S"] or 0))
    except ValueError:
        raise BadValue("E_DATETIME") from None
    return date, time


def to_date(value: object) -> dt.date:
    """A date from a real Excel date, a serial number in a plausible range, or text in FORMS.md's forms."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise BadValue("E_DATE")
    if isinstance(value, (int, float)):
        if float(value).is_integer() and 19900101 <= value <= 20991231:
            return _parse_text_moment(str(int(value)))[0]
        return _from_serial(float(value)).date()
    date, _ = _parse_text_moment(str(value))
    return date


def to_datetime(value: object) -> dt.datetime:
    """A date-time to the minute; a date without a time is refused (times matter on service cards)."""
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0) if value.second or value.microsecond else value
    if isinstance(value, dt.date) or isinstance(value, bool):
        raise BadValue("E_DATETIME")
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            raise BadValue("E_DATETIME")
        return _from_serial(float(value))
    date, time = _parse_text_moment(str(value))
    if time is None:
        raise BadValue("E_DATETIME")
    return dt.datetime.combine(date, time)


def _number(value: object, code: str) -> float:
    """A number from a numeric cell or from text such as ¥1,200.50元; raises BadValue(code)."""
    if isinstance(value, bool):
        raise BadValue(code)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(_MONEY.sub("", normalise_text(str(value))))
    except ValueError:
        raise BadValue(code) from None


def to_int(value: object) -> int:
    number = _number(value, "E_INT")
    if not number.is_integer() or number < 0:
        raise BadValue("E_INT")
    return int(number)


def to_money(value: object) -> float:
    number = _number(value, "E_MONEY")
    if math.isnan(number) or number < 0:
        raise BadValue("E_MONEY")
    return round(number, 2)


def to_enum(value: object) -> str:
    """Enum text after NFKC, with every space removed (`已 处理` is 已处理)."""
    return _SPACES.sub("", to_text(value))


def to_loose(value: object) -> str:
    """Kept as the clerk wrote it (dates as ISO text); never an error."""
    return to_text(value)


CONVERTERS = {
    "text": to_text, "id": to_id, "date": to_date, "datetime": to_datetime,
    "int": to_int, "money": to_money, "enum": to_enum, "loose": to_loose,
}


# -- a column's cells at once ----------------------------------------------------------------------
# A month's cards hold tens of thousands of distinct ids, names, phones and moments: converting them
# one call at a time is most of the reading after the parsing. A batch converter takes a column's
# filled cells and gives what its converter gives for each, worked out over the whole column at once;
# or None when a cell is not of the kind it takes at once, or would fail (then each cell is converted
# one by one, as before, and a bad one reported).
_NOT_ID_AS_IS = re.compile(r"[^\S\n]|^(?:\d(?:\.\d+)?[eE]\+\d+|\d+\.0+)$", re.MULTILINE)


def texts_normalised(cells: list[object]) -> list[str] | None:
    """normalise_text of each cell, when every cell is a text: the texts are joined by line breaks
    and normalised (NFKC, control characters) in one go — a line break is left as it is by both and
    ends whatever came before it — then split again and stripped."""
    if set(map(type, cells)) != {str}:
        return None
    joined = "\n".join(cells)
    if joined.count("\n") != len(cells) - 1:         # a cell holds a line break itself
        return None
    parts = _CONTROL.sub("", unicodedata.normalize("NFKC", joined)).split("\n")
    return list(map(str.strip, parts)) if len(parts) == len(cells) else None


def ids_as_texts(cells: list[object]) -> list[str] | None:
    """to_id of each cell, when every cell is a text that needs no more than normalising: none holds
    white space inside or looks like 2.02E+09 or 2023001.0."""
    texts = texts_normalised(cells)
    if texts is None or _NOT_ID_AS_IS.search("\n".join(texts)):
        return None
    return texts


def moments_to_the_minute(cells: list[object]) -> np.ndarray | None:
    """to_datetime of each cell, when every cell is a real date-time: as datetime64, seconds dropped."""
    if set(map(type, cells)) != {dt.datetime}:
        return None
    return pd.DatetimeIndex(cells).floor("min").to_numpy()


BATCH_CONVERTERS = {"text": texts_normalised, "loose": texts_normalised, "id": ids_as_texts,
                    "datetime": moments_to_the_minute}
