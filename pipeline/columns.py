"""How the store keeps a file's records: column by column, packed and deflated (file_columns.columns),
and each record's 64-bit digest of its content. Pure functions over frames and bytes (NumPy, pandas):
the readers encode in their own processes, the store loads what it kept. Only pipeline.store and the
readers use this module, and only when records are stored or loaded, so that a run that finds nothing
changed never imports pandas.
"""
from __future__ import annotations

import datetime as dt
import functools
from itertools import repeat
import hashlib
import json
import math
import operator
from json.encoder import encode_basestring
from dataclasses import dataclass

import numpy as np
import pandas as pd
from isal import isal_zlib

from pipeline.convert import TEXTS_OR_NONE, mostly_distinct

DERIVED = "_d:"          # columns a programme's rules work out when a file is read (pipeline.rules.programmes)
# Each record's digest is kept beside its values, as a _d: column (in no digest itself): a long list
# made row by row from records is known by them in the workbook writer (xlsx.KnownRows).
RECORD_DIGEST = DERIVED + "指纹"


def _json_column(values: pd.Series) -> list[object]:
    """A column's values as JSON takes them, the way _json_value gives them, built per column."""
    if pd.api.types.is_datetime64_any_dtype(values):
        # Dates as dates, moments with their time: each written in its own form only.
        dated = (values == values.dt.normalize()).to_numpy()
        text = np.empty(len(values), dtype=object)
        for chosen, form in ((dated, "%Y-%m-%d"), (~dated, "%Y-%m-%d %H:%M:%S")):
            if chosen.any():
                text[chosen] = values[chosen].dt.strftime(form).to_numpy(dtype=object)
        return [v if type(v) is str else None for v in text.tolist()]
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and values.dtype.kind in "iuf":
        return values.to_numpy(dtype=object, na_value=None).tolist()      # Int64, Float64: NA is null
    found = values.tolist()
    if set(map(type, found)) <= _PLAIN_JSON:
        return found
    return [_json_value(v) for v in found]


_PLAIN_JSON = {str, type(None), int, bool}


_JSON_TEXT = {str: encode_basestring, type(None): lambda _: "null", bool: lambda v: "true" if v else "false",
              int: int.__repr__, float: lambda v: float.__repr__(v) if math.isfinite(v) else json.dumps(v)}


# A record's digest: each value's canonical JSON text (what json.dumps gives) hashed with its column's
# name, folded in sorted column order. The store compares records by it: what a clerk changed, what a
# rebuilt store gives again. Texts are hashed per distinct value of a column, eight bytes at a time in
# NumPy (a multiply-xorshift hash, MurmurHash3's finaliser at the end); a long text goes to blake2b.
_FOLD_START, _FOLD_PRIME = 0xCBF29CE484222325, 0x100000001B3
_WORD_PRIME, _FINAL_1, _FINAL_2 = 0x9E3779B97F4A7C15, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
LONG_TEXT = 256             # bytes: longer texts are hashed one by one
_NUMBERS = {int, float, bool}


def _finalised(h: np.ndarray) -> np.ndarray:
    for multiplier in (_FINAL_1, _FINAL_2):
        np.bitwise_xor(h, h >> np.uint64(33), out=h)
        np.multiply(h, np.uint64(multiplier), out=h)
    np.bitwise_xor(h, h >> np.uint64(33), out=h)
    return h


def _text_digests(texts: list[str]) -> np.ndarray:
    """A 64-bit digest (uint64) of each text's UTF-8 bytes."""
    raw = list(map(str.encode, texts))                    # UTF-8
    lengths = np.fromiter(map(len, raw), np.uint64, len(raw))
    digests = np.empty(len(raw), dtype=np.uint64)
    short = np.flatnonzero(lengths <= LONG_TEXT)
    if len(short):
        width = max(8, -(-int(lengths[short].max()) // 8) * 8)
        words = np.array(raw if len(short) == len(raw) else [raw[i] for i in short], dtype=f"S{width}")
        digests[short] = _word_digests(words.view("<u8").reshape(len(short), width // 8), lengths[short])
    for i in np.flatnonzero(lengths > LONG_TEXT):
        digests[i] = int.from_bytes(hashlib.blake2b(raw[i], digest_size=8).digest(), "little")
    return digests


def _word_digests(words: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The digest of each short text given as its bytes in little-endian 64-bit words, zero-padded
    (one row each), and its length in bytes."""
    h = sizes * np.uint64(_WORD_PRIME)
    for column in range(words.shape[1]):
        mixed = (h ^ words[:, column]) * np.uint64(_WORD_PRIME)
        mixed ^= mixed >> np.uint64(29)
        # Only a text's own words count, not the padding up to the longest text hashed with it.
        h = mixed if column == 0 else np.where(sizes > np.uint64(8 * column), mixed, h)
    return _finalised(h)


_NULL_WORD = int.from_bytes(b"null", "little")


def _moment_digests(name: str, values: np.ndarray) -> np.ndarray | None:
    """The value digest of each cell of a date or date-time column (datetime64), the same as those of
    its JSON texts ("2026-11-03", "2026-11-03 09:30:00", null for NaT), their bytes put together from
    the numbers in NumPy rather than written one by one; None for a year outside 1900–9999 (the texts
    are written then)."""
    unit, count = np.datetime_data(values.dtype)
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit)
    if per_second is None or count != 1:
        return None
    missing = np.isnat(values)
    seconds = np.where(missing, 946684800 * per_second, values.view(np.int64)) // per_second   # NaT: 2000
    if len(seconds) and not (-2208988800 <= seconds.min() and seconds.max() < 253402300800):    # 1900–9999
        return None
    days, in_day = np.divmod(seconds, 86400)
    year, month, day = _civil(days)
    text = np.zeros((len(values), 24), dtype=np.uint8)          # "YYYY-MM-DD HH:MM:SS", quoted
    text[:, [0, 20]] = ord('"')
    text[:, [5, 8]] = ord("-")
    text[:, 11] = ord(" ")
    text[:, [14, 17]] = ord(":")
    for start, number, digits in ((1, year, 4), (6, month, 2), (9, day, 2), (12, in_day // 3600, 2),
                                  (15, in_day // 60 % 60, 2), (18, in_day % 60, 2)):
        for place in range(digits):
            text[:, start + place] = number // 10 ** (digits - 1 - place) % 10 + ord("0")
    dated = ~missing & (in_day == 0) & (values.view(np.int64) % per_second == 0)
    text[dated, 11:] = 0                                          # "YYYY-MM-DD"
    text[dated, 11] = ord('"')
    sizes = np.where(dated, 12, 21).astype(np.uint64)
    words = text.view("<u8")
    words[missing] = 0
    words[missing, 0] = _NULL_WORD
    sizes[missing] = 4
    return _finalised(_word_digests(words, sizes) ^ _name_digest(name))


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each count of days since 1970-01-01 (the proleptic Gregorian calendar,
    as H. Hinnant's days_from_civil inverted)."""
    z = days + 719468
    era = z // 146097
    of_era = z - era * 146097
    year_of_era = (of_era - of_era // 1460 + of_era // 36524 - of_era // 146096) // 365
    of_year = of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted = (5 * of_year + 2) // 153
    day = of_year - (153 * shifted + 2) // 5 + 1
    month = np.where(shifted < 10, shifted + 3, shifted - 9)
    return year_of_era + era * 400 + (month <= 2), month, day


def _column_digests(name: str, values: list[object]) -> np.ndarray:
    """The value digest of each cell of a column (its JSON values), as uint64."""
    codes, distinct = _distinct_values(values)
    return _distinct_digests(name, distinct)[codes]


def _distinct_digests(name: str, distinct: list[object]) -> np.ndarray:
    named = _name_digest(name)
    texts = list(map(encode_basestring, distinct)) if set(map(type, distinct)) == {str} \
        else [_JSON_TEXT[type(v)](v) for v in distinct]
    return _finalised(_text_digests(texts) ^ named)


@functools.lru_cache(maxsize=1024)
def _name_digest(name: str) -> np.uint64:
    """The digest of a column's name (the same few names, column after column, file after file)."""
    return _text_digests([encode_basestring(name)])[0]


def _distinct_values(values: list[object]) -> tuple[np.ndarray, list[object]]:
    """JSON values as codes into their distinct values (1, 1.0 and true kept apart, and 0.0 and -0.0)."""
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    types = set(map(type, values))
    if len(types & _NUMBERS) > 1 or float in types:     # 1 == 1.0 == true and 0.0 == -0.0 to a hash table
        cells[:] = [_JSON_TEXT[type(v)](v) for v in values]
        codes, _ = pd.factorize(cells, use_na_sentinel=False)
        _, first = np.unique(codes, return_index=True)
        return codes, [values[i] for i in first]
    codes, distinct = pd.factorize(cells, use_na_sentinel=False)
    if types <= {str}:
        return codes, distinct.tolist()
    return codes, [None if v is not None and not isinstance(v, str) and v != v else v   # null comes back as NaN
                   for v in distinct]


def _column_parts(column: pd.Series) -> tuple[np.ndarray, list[object]]:
    """A typed column as codes into its distinct values as JSON takes them (what _json_column gives
    for each row, worked out once per distinct value). Dates, moments and numbers are told apart
    before conversion (by their bits, so 0.0 and -0.0 stay two); texts and other objects after."""
    dtype = column.dtype
    fast = (isinstance(dtype, np.dtype) and dtype.kind in "Mbiuf") or pd.api.types.is_datetime64_any_dtype(dtype) \
        or (isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iuf")
    if not fast:
        if dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string":
            texts = column.tolist()
            if mostly_distinct(texts):                    # ids, names: each row its own value
                return np.arange(len(texts)), texts
            codes, distinct = pd.factorize(column.to_numpy(), use_na_sentinel=False)     # texts only: as they are
            return codes, distinct.tolist()
        return _distinct_values(_json_column(column))
    keys = column.to_numpy().view(np.int64) if isinstance(dtype, np.dtype) and dtype.kind == "f" else column
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    firsts = np.unique(codes[codes >= 0], return_index=True)[1] if len(codes) else np.zeros(0, dtype=np.intp)
    positions = np.flatnonzero(codes >= 0)[firsts]
    distinct = _json_column(column.iloc[positions])
    if (codes < 0).any():
        codes = np.where(codes < 0, len(distinct), codes)
        distinct.append(None)
    return codes, distinct


def record_digests(columns: dict[str, list[object]]) -> np.ndarray:
    """Each record's digest (int64) from its columns' JSON values (_json_column of each)."""
    rows = len(next(iter(columns.values()))) if columns else 0
    folded = np.full(rows, _FOLD_START, dtype=np.uint64)
    prime = np.uint64(_FOLD_PRIME)
    for name in sorted(columns):
        np.bitwise_xor(folded, _column_digests(name, columns[name]), out=folded)
        np.multiply(folded, prime, out=folded)
    return folded.view(np.int64)


@dataclass(frozen=True)
class Encoded:
    """A frame of records as the store keeps them: each record's digest, and all of them column-wise."""

    digests: np.ndarray
    columns: bytes              # packed and deflated (file_columns.columns)


def encode_records(frame: pd.DataFrame) -> Encoded:
    """How the store keeps a frame of records (pure: done where the file is read, in parallel). Each
    record column is taken apart into its distinct values once: they give both the column-wise copy
    and the digests (the same digests record_digests gives for the columns' JSON values)."""
    origin = {"_sheet": frame["_sheet"].tolist(), "_row": frame["_row"].astype("int64").tolist()}
    # Values the rules worked out when the file was read (_d:…): kept column-wise, not in the digests.
    worked_out = {c: kept_values(_json_column(frame[c])) for c in frame.columns if str(c).startswith(DERIVED)}
    kept = {name: kept_values(values) for name, values in origin.items()} | worked_out
    folded = np.full(len(frame), _FOLD_START, dtype=np.uint64)
    for name in sorted(c for c in frame.columns if not str(c).startswith("_")):
        column = frame[name]
        moments = isinstance(column.dtype, np.dtype) and column.dtype.kind == "M"
        values = column.to_numpy() if moments else None
        digests = _moment_digests(name, values) if moments else None
        if digests is None:
            codes, distinct = _column_parts(column)
            digests = _distinct_digests(name, distinct)[codes]
        np.bitwise_xor(folded, digests, out=folded)
        np.multiply(folded, np.uint64(_FOLD_PRIME), out=folded)
        if moments:
            # Dates and moments are kept as numbers, and loaded as dates again without being read as text.
            kept[name] = {"moments": values.view(np.int64), "unit": np.datetime_data(values.dtype)[0]}
        else:
            kept[name] = _kept(codes, distinct)
    kept[RECORD_DIGEST] = folded.view(np.int64).tolist()
    return Encoded(folded.view(np.int64), deflated_columns(kept))


def _kept(codes: np.ndarray, distinct: list[object]) -> list[object] | dict:
    """A column as the store keeps it: its distinct values and codes when they are texts (or blanks)
    that repeat, else row by row (numbers loaded from a list keep their type)."""
    if len(distinct) * REPEATED_SHARE > len(codes) or not all(v is None or type(v) is str for v in distinct):
        return _by_codes(distinct, codes).tolist()
    return {"values": distinct, "codes": np.asarray(codes, dtype=np.int32)}


def _by_codes(distinct: list[object], codes) -> np.ndarray:
    """Each row's value, from the column's distinct values and each row's code into them."""
    values = np.empty(len(distinct), dtype=object)
    values[:] = distinct
    return values[np.asarray(codes, dtype=np.intp)]


# The deflated copy starts with PACKED: a JSON header line naming each column's form, then the
# columns' bytes. Texts (and blanks) are kept joined by TEXT_SEPARATOR, which no converted cell holds
# (validation removes control characters), and codes as 32-bit integers: loading them is a split and
# a copy, where JSON would read them character by character. Whole numbers, and fractions with blanks,
# are kept as 64-bit numbers (_numbers_packed). Other values stay in the header as JSON.
PACKED = b"\x00columns 2\n"
DEFLATE_LEVEL = 2           # ISA-L's levels run 0-3: 2 is four times as fast as zlib's 1, as small
TEXT_SEPARATOR, BLANK = "\x1f", "\x1e"


def deflated_columns(kept: dict) -> bytes:
    """A column-wise copy as the store keeps it, packed and deflated quickly by ISA-L (zlib's format;
    a 10,000-card file's columns take 0.6 MB)."""
    header, body, size = {}, [], 0
    for name, column in kept.items():
        form: object = column
        if isinstance(column, dict) and "moments" in column:
            data = np.asarray(column["moments"], dtype="<i8").tobytes()
            form = {"moments": [size, size + len(data)], "unit": column["unit"]}
            body.append(data)
            size += len(data)
        elif isinstance(column, dict):
            codes = np.asarray(column["codes"], dtype="<i4").tobytes()
            form = {"values": column["values"], "codes32": [size, size + len(codes)]}
            body.append(codes)
            size += len(codes)
        elif column and (numbers := _numbers_packed(column)) is not None:
            kind, data, nulls = numbers
            form = {"numbers": [size, size + len(data)], "type": kind}
            body.append(data)
            size += len(data)
            if nulls is not None:
                form["nulls"] = [size, size + len(nulls)]
                body.append(nulls)
                size += len(nulls)
        elif column and set(map(type, column)) <= TEXTS_OR_NONE:
            joined = TEXT_SEPARATOR.join(column if None not in column else [BLANK if v is None else v for v in column])
            # Kept joined only when no cell holds either mark itself.
            if joined.count(TEXT_SEPARATOR) == len(column) - 1 and joined.count(BLANK) == column.count(None):
                data = joined.encode("utf-8")
                form = {"texts": [size, size + len(data)]}
                body.append(data)
                size += len(data)
        header[name] = form
    packed = PACKED + json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + b"".join(body)
    return isal_zlib.compress(packed, DEFLATE_LEVEL)


def _numbers_packed(column: list[object]) -> tuple[str, bytes, bytes | None] | None:
    """A list of whole numbers (not booleans), or of fractions and blanks, as its type ("int64" or
    "float64"), its 64-bit numbers and, when there are blanks, the positions of the blanks (32-bit);
    None for any other list. Such columns (row numbers, amounts) took as JSON most of the time of
    packing and loading a copy."""
    types = set(map(type, column))
    if types == {int}:
        try:
            return "int64", np.array(column, dtype="<i8").tobytes(), None
        except OverflowError:                  # beyond 64 bits: kept as JSON
            return None
    if float not in types or not types <= {float, type(None)}:
        return None
    if type(None) not in types:
        return "float64", np.array(column, dtype="<f8").tobytes(), None
    nulls = np.fromiter(map(operator.is_, column, repeat(None)), dtype=bool, count=len(column))
    values = np.array([0.0 if v is None else v for v in column], dtype="<f8")
    return "float64", values.tobytes(), np.flatnonzero(nulls).astype("<i4").tobytes()


def _numbers_unpacked(body: memoryview, form: dict, as_array: bool = False) -> list[object] | np.ndarray:
    """The list _numbers_packed packed: Python ints, or floats with None at the blanks. As an array,
    the column pandas would make of that list: int64, or float64 with NaN at the blanks."""
    start, stop = form["numbers"]
    values = np.frombuffer(body[start:stop], dtype="<i8" if form["type"] == "int64" else "<f8")
    nulls = np.frombuffer(body[slice(*form["nulls"])], dtype="<i4") if "nulls" in form else None
    if as_array:
        values = values.astype(np.int64 if form["type"] == "int64" else np.float64)     # native, writable
        if nulls is not None:
            values[nulls] = np.nan
        return values
    values = values.tolist()
    for position in nulls.tolist() if nulls is not None else []:
        values[position] = None
    return values


# A column of few distinct values is kept as {"values": distinct, "codes": one per record}: loading it
# then makes one object per distinct value instead of one per record (outlets, engineers, enums).
REPEATED_SHARE = 4          # at most one distinct value in this many records


def kept_values(values: list[object]) -> list[object] | dict:
    """A column of JSON values as the store keeps it (_kept): texts and blanks that repeat as their
    distinct values and codes, anything else as it is."""
    if not set(map(type, values)) <= TEXTS_OR_NONE:
        return values
    return _kept(*_distinct_values(values))


def _columns_of(kept: bytes | str, as_arrays: bool = False) -> dict[str, list[object] | np.ndarray]:
    """A file's column-wise copy as stored (packed and deflated; deflated JSON, or JSON text before
    version 6), each column as its values (packed numbers as arrays, with `as_arrays`)."""
    data = isal_zlib.decompress(kept) if isinstance(kept, bytes) else kept
    if not (isinstance(data, bytes) and data.startswith(PACKED)):
        return {name: _unrepeated(column) for name, column in json.loads(data).items()}
    end = data.index(b"\n", len(PACKED))
    body = memoryview(data)[end + 1:]
    columns = {}
    for name, form in json.loads(data[len(PACKED):end]).items():
        if isinstance(form, dict) and "texts" in form:
            start, stop = form["texts"]
            values = np.array(str(body[start:stop], "utf-8").split(TEXT_SEPARATOR), dtype=object)
            values[values == BLANK] = None
            columns[name] = values
        elif isinstance(form, dict) and "moments" in form:
            start, stop = form["moments"]
            columns[name] = np.frombuffer(body[start:stop], dtype="<i8").astype(np.int64).view(f"M8[{form['unit']}]")
        elif isinstance(form, dict) and "numbers" in form:
            columns[name] = _numbers_unpacked(body, form, as_arrays)
        elif isinstance(form, dict) and "codes32" in form:
            start, stop = form["codes32"]
            columns[name] = _by_codes(form["values"], np.frombuffer(body[start:stop], dtype="<i4"))
        else:
            columns[name] = _unrepeated(form)
    return columns


def loaded_frame(first_id: int, kept: bytes | str) -> pd.DataFrame:
    """A file's records of one kind from their column-wise copy, each with its record id (_id). Its
    texts stay Python objects, None where blank, as records.typed hands them to the rules: pandas is
    not left to make them its str type (which marks a blank NaN), only for typed to turn them back."""
    columns = {name: pd.Series(values, dtype=object, copy=False)
               if isinstance(values, np.ndarray) and values.dtype == object else values
               for name, values in _columns_of(kept, as_arrays=True).items()}
    frame = pd.DataFrame(columns, copy=False)      # the columns are made here and nowhere else held
    frame.insert(0, "_id", range(first_id, first_id + len(frame)))
    return frame


def _unrepeated(column: list[object] | dict) -> list[object] | np.ndarray:
    """A column kept as distinct values and codes (or as a list), as values again."""
    return _by_codes(column["values"], column["codes"]) if isinstance(column, dict) else column


def _json_value(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if not isinstance(value, str) and pd.isna(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
