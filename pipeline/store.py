"""The only module that speaks SQL: a ledger of inbox files and every accepted record with its origin.

Each file is stored in one transaction, so a run killed half-way leaves the store as it was before
that file. The newest file wins per key; older records stay, marked superseded by the file that
replaced them. A file whose content was stored before is not read again.
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
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from isal import isal_zlib

from pipeline import failpoints
from pipeline.convert import TEXTS_OR_NONE, mostly_distinct
from pipeline.problems import Problem

SCHEMA_VERSION = 6
# Columns added to files after version 1, with their definitions, for stores made by earlier versions.
ADDED_FILE_COLUMNS = {"reader": "TEXT NOT NULL DEFAULT ''", "layout": "TEXT NOT NULL DEFAULT '{}'"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id            INTEGER PRIMARY KEY,   -- the order files entered the store: higher is newer
    programme     TEXT NOT NULL,
    name          TEXT NOT NULL,         -- path inside the programme's inbox folder
    sha256        TEXT NOT NULL,
    reader        TEXT NOT NULL,         -- version of reading and validation that produced the rows
    size          INTEGER NOT NULL,
    first_seen    TEXT NOT NULL,
    kinds         TEXT NOT NULL,         -- JSON list of the form kinds found
    rows_accepted INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    problems      TEXT NOT NULL,         -- JSON list of the file's problems
    layout        TEXT NOT NULL DEFAULT '{}',  -- JSON: sheet → header → Excel column letter
    UNIQUE (programme, sha256, reader)
);
CREATE TABLE IF NOT EXISTS records (
    id            INTEGER PRIMARY KEY,
    file_id       INTEGER NOT NULL REFERENCES files(id),
    programme     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    sheet         TEXT NOT NULL,
    row           INTEGER NOT NULL,
    digest        INTEGER NOT NULL,      -- of the record's content (record_digests); the content itself
                                         -- is in the file's column-wise copy (file_columns)
    superseded_by INTEGER REFERENCES files(id)
);
CREATE TABLE IF NOT EXISTS archive (  -- every ingested file's bytes, by content: the store can be rebuilt
    sha256        TEXT PRIMARY KEY,      -- from them, and a file deleted from the inbox keeps its history
    size          INTEGER NOT NULL,
    data          BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS file_columns (  -- a file's records of one kind column by column, loaded in one go
    file_id       INTEGER NOT NULL REFERENCES files(id),
    kind          TEXT NOT NULL,
    first_id      INTEGER NOT NULL,      -- the records' ids run from here, in the columns' order
    columns       BLOB NOT NULL,         -- {"_sheet": …, "_row": …, header: …} packed and deflated
                                         -- (_deflated_columns); before version 6, JSON text
    PRIMARY KEY (file_id, kind)
);
CREATE INDEX IF NOT EXISTS records_current ON records (programme, kind, key) WHERE superseded_by IS NULL;
CREATE INDEX IF NOT EXISTS records_file ON records (file_id);
CREATE INDEX IF NOT EXISTS records_superseded ON records (programme, kind) WHERE superseded_by IS NOT NULL;
CREATE TABLE IF NOT EXISTS documents (  -- 发文字号: numbered per programme and year, once per document
    programme     TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- 通报, 考核评优
    period        TEXT NOT NULL,         -- 2026-11, 2026, 2026秋
    year          INTEGER NOT NULL,
    number        INTEGER NOT NULL,
    PRIMARY KEY (programme, kind, period),
    UNIQUE (programme, year, number)
);
CREATE TABLE IF NOT EXISTS outputs (  -- what a run wrote from which inputs, so an unchanged rerun reuses it
    programme     TEXT NOT NULL,
    command       TEXT NOT NULL,
    period        TEXT NOT NULL,
    inputs        TEXT NOT NULL,         -- fingerprint of everything the outputs depend on
    manifest      TEXT NOT NULL,         -- JSON: {"files": [[path, sha256]], "problems": [...]}
    PRIMARY KEY (programme, command, period)
);
CREATE TABLE IF NOT EXISTS returned (  -- annotated copies in 退回/: written from which file and problems
    path          TEXT PRIMARY KEY,
    inputs        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stretches (  -- deflated stretches of big workbooks' sheets, by the digest of
    digest        TEXT PRIMARY KEY,      -- what they hold: a rerun that changed one outlet's cards makes
    crc           INTEGER NOT NULL,      -- only the stretches holding them again (pipeline.xlsx)
    size          INTEGER NOT NULL,
    packed        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS stretch_uses (  -- which workbook last used which stretch: the others are let go
    workbook      TEXT NOT NULL,
    digest        TEXT NOT NULL,
    PRIMARY KEY (workbook, digest)
);
CREATE TABLE IF NOT EXISTS pseudonyms (  -- confidential programmes: officer id → its number for ever
    programme     TEXT NOT NULL,
    officer       TEXT NOT NULL,
    number        INTEGER NOT NULL,
    PRIMARY KEY (programme, officer),
    UNIQUE (programme, number)
);
"""


@dataclass(frozen=True)
class Change:
    """What storing one file did to the current records."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    replaced_keys: tuple[tuple[str, str], ...] = ()   # (kind, key) of the records whose content changed


LOOKUP_CHUNK = 500
# A file f no newer file of the same name replaced (storing a newer version supersedes all its records).
_NEWEST_VERSION = "NOT EXISTS (SELECT 1 FROM files g WHERE g.programme = f.programme AND g.name = f.name AND g.id > f.id)"
DERIVED = "_d:"          # columns a programme's rules work out when a file is read (pipeline.rules.programmes)


def _rows_with(db: sqlite3.Connection, query: str, fixed: tuple, values) -> list[tuple]:
    """The rows of `query` (its IN ({}) filled with marks) for each distinct value, a few hundred a time."""
    unique = list(dict.fromkeys(values))
    rows: list[tuple] = []
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        rows += db.execute(query.format(",".join("?" * len(chunk))), (*fixed, *chunk)).fetchall()
    return rows


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
    worked_out = {c: _repeated(_json_column(frame[c])) for c in frame.columns if str(c).startswith(DERIVED)}
    kept = {name: _repeated(values) for name, values in origin.items()} | worked_out
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
    return Encoded(folded.view(np.int64), _deflated_columns(kept))


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


def _deflated_columns(kept: dict) -> bytes:
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


def _numbers_unpacked(body: memoryview, form: dict) -> list[object]:
    """The list _numbers_packed packed: Python ints, or floats with None at the blanks."""
    start, stop = form["numbers"]
    values = np.frombuffer(body[start:stop], dtype="<i8" if form["type"] == "int64" else "<f8").tolist()
    if "nulls" in form:
        start, stop = form["nulls"]
        for position in np.frombuffer(body[start:stop], dtype="<i4").tolist():
            values[position] = None
    return values


# A column of few distinct values is kept as {"values": distinct, "codes": one per record}: loading it
# then makes one object per distinct value instead of one per record (outlets, engineers, enums).
REPEATED_SHARE = 4          # at most one distinct value in this many records


def _repeated(values: list[object]) -> list[object] | dict:
    """A column of JSON values as the store keeps it (_kept): texts and blanks that repeat as their
    distinct values and codes, anything else as it is."""
    if not set(map(type, values)) <= TEXTS_OR_NONE:
        return values
    return _kept(*_distinct_values(values))


def _columns_of(kept: bytes | str) -> dict[str, list[object] | np.ndarray]:
    """A file's column-wise copy as stored (packed and deflated; deflated JSON, or JSON text before
    version 6), each column as its values."""
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
            columns[name] = _numbers_unpacked(body, form)
        elif isinstance(form, dict) and "codes32" in form:
            start, stop = form["codes32"]
            columns[name] = _by_codes(form["values"], np.frombuffer(body[start:stop], dtype="<i4"))
        else:
            columns[name] = _unrepeated(form)
    return columns


def _loaded(first_id: int, kept: bytes | str) -> pd.DataFrame:
    """A file's records of one kind from their column-wise copy, each with its record id (_id)."""
    frame = pd.DataFrame(_columns_of(kept), copy=False)      # the columns are made here and nowhere else held
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


class Store:
    """An open store file. Use as a context manager."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        present = {row[1] for row in self.db.execute("PRAGMA table_info(records)")}
        if "data" in present:
            _records_to_digests(self.db)
        self.db.executescript(SCHEMA)
        present = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        for column, definition in ADDED_FILE_COLUMNS.items():
            if column not in present:
                self.db.execute(f"ALTER TABLE files ADD COLUMN {column} {definition}")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.prefetched: dict[tuple[int, str], pd.DataFrame] = {}    # (file id, kind) → its records

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def ledger(self) -> list[dict]:
        """Every file entry in the order the files entered the store."""
        rows = self.db.execute(
            "SELECT id, programme, name, sha256, reader, size, first_seen, kinds, rows_accepted, rows_rejected,"
            " problems, layout FROM files ORDER BY id").fetchall()
        names = ["id", "programme", "name", "sha256", "reader", "size", "first_seen", "kinds", "rows_accepted",
                 "rows_rejected", "problems", "layout"]
        return [dict(zip(names, row)) for row in rows]

    def archived(self, sha256: str) -> bytes | None:
        """The bytes of an ingested file, by content hash; None when the store has no copy."""
        row = self.db.execute("SELECT data FROM archive WHERE sha256 = ?", (sha256,)).fetchone()
        return bytes(row[0]) if row else None

    def keep_archived(self, sha256: str, content: bytes) -> None:
        """Archive a file's bytes unless the store has a copy already (checked first, so that a file
        seen again costs no write)."""
        if self.db.execute("SELECT 1 FROM archive WHERE sha256 = ?", (sha256,)).fetchone() is None:
            self.db.execute("INSERT OR IGNORE INTO archive (sha256, size, data) VALUES (?, ?, ?)",
                            (sha256, len(content), content))

    def record_rows(self) -> list[tuple]:
        """Every record as (programme, kind, key, digest, file name, sheet, row, name of the file that
        superseded it or None), in a stable order: what a rebuilt store must give again."""
        return self.db.execute(
            "SELECT r.programme, r.kind, r.key, r.digest, f.name, r.sheet, r.row, s.name FROM records r"
            " JOIN files f ON f.id = r.file_id LEFT JOIN files s ON s.id = r.superseded_by"
            " ORDER BY r.programme, r.kind, r.key, f.id, r.sheet, r.row").fetchall()

    def copy_kept_tables(self, source: Path) -> None:
        """Copy from another store what no inbox file can give again: 发文字号, pseudonym numbers, and
        archived files (so that a rebuilt store can be rebuilt again)."""
        self.db.execute("ATTACH DATABASE ? AS old", (str(source),))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for table in ("documents", "pseudonyms", "archive"):
                self.db.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM old.{table}")
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE old")

    def seen(self, programme: str, sha256: str, reader: str) -> dict | None:
        """The ledger entry of a file with this content read by this reader, or None."""
        row = self.db.execute(
            "SELECT id, name, kinds, rows_accepted, rows_rejected, problems FROM files"
            " WHERE programme = ? AND sha256 = ? AND reader = ?", (programme, sha256, reader)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "name": row[1], "kinds": json.loads(row[2]), "rows_accepted": row[3],
                "rows_rejected": row[4], "problems": [Problem(**p) for p in json.loads(row[5])]}

    def add_file(self, programme: str, name: str, sha256: str, reader: str, size: int,
                 records: dict[str, pd.DataFrame], keys: dict[str, pd.Series],
                 problems: list[Problem], rows_rejected: int, now: dt.datetime,
                 layout: dict[str, dict[str, str]] | None = None, content: bytes | None = None,
                 encoded: dict[str, Encoded] | None = None, keep_loaded: bool = False) -> Change:
        """Store one file (its bytes in the archive) and its records in one transaction; returns what changed.
        `encoded` is the records' text when already made (encode_records). With `keep_loaded`, the
        records are also kept loaded for current_records, as prefetch would load them."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if content is not None:
                self.keep_archived(sha256, content)
            accepted = sum(len(frame) for frame in records.values())
            cursor = db.execute(
                "INSERT INTO files (programme, name, sha256, reader, size, first_seen, kinds, rows_accepted,"
                " rows_rejected, problems, layout) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (programme, name, sha256, reader, size, now.isoformat(timespec="seconds"),
                 json.dumps(sorted(records), ensure_ascii=False), accepted, rows_rejected,
                 json.dumps([p.to_json() for p in problems], ensure_ascii=False),
                 json.dumps(layout or {}, ensure_ascii=False)))
            file_id = cursor.lastrowid
            # Earlier versions of the same file: their records are replaced as a whole.
            earlier = [r[0] for r in db.execute(
                "SELECT id FROM files WHERE programme = ? AND name = ? AND id <> ?", (programme, name, file_id))]
            old_current = {}
            if earlier:
                marks = ",".join("?" * len(earlier))
                for kind, key, digest in db.execute(
                        f"SELECT kind, key, digest FROM records WHERE superseded_by IS NULL AND file_id IN ({marks})",
                        earlier):
                    old_current[(kind, key)] = digest
                db.execute(f"UPDATE records SET superseded_by = ? WHERE superseded_by IS NULL AND file_id IN ({marks})",
                           [file_id, *earlier])
            added = replaced = unchanged = 0
            replaced_keys = []
            loaded = {}
            for kind, frame in records.items():
                kind_keys = list(map(str, keys[kind]))
                text = encoded[kind] if encoded and kind in encoded else encode_records(frame)
                digests = text.digests.tolist()
                current = self._current_digests(programme, kind, [k for k in kind_keys if (kind, k) not in old_current]
                                                if old_current else kind_keys)
                if not old_current and not current:         # a file of new records only (a first reading)
                    added += len(kind_keys)
                for key, digest in zip(kind_keys, digests) if old_current or current else ():
                    previous = old_current.pop((kind, key), None)
                    if previous is None:
                        previous = current.get(key)
                    if previous is None:
                        added += 1
                    elif previous == digest:
                        unchanged += 1
                    else:
                        replaced += 1
                        replaced_keys.append((kind, key))
                # Only keys held by another file can have a record to supersede.
                db.executemany(
                    "UPDATE records SET superseded_by = ? WHERE programme = ? AND kind = ? AND key = ?"
                    " AND superseded_by IS NULL AND file_id <> ?",
                    [(file_id, programme, kind, key, file_id) for key in current])
                first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM records").fetchone()[0]
                db.executemany(
                    "INSERT INTO records (id, file_id, programme, kind, key, sheet, row, digest)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    zip(range(first, first + len(kind_keys)), repeat(file_id), repeat(programme), repeat(kind),
                        kind_keys, frame["_sheet"].tolist(), frame["_row"].astype("int64").tolist(), digests))
                db.execute("INSERT INTO file_columns (file_id, kind, first_id, columns) VALUES (?, ?, ?, ?)",
                           (file_id, kind, first, text.columns))
                if keep_loaded:
                    loaded[kind] = (first, text.columns)
            failpoints.reached("store")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for kind, (first, columns) in loaded.items():
            self.prefetched[(file_id, kind)] = _loaded(first, columns)
        return Change(added, replaced, unchanged, withdrawn=len(old_current), replaced_keys=tuple(replaced_keys))

    def _current_digests(self, programme: str, kind: str, keys: list[str]) -> dict[str, int]:
        """The digests of the current records with these keys (looked up a few hundred at a time)."""
        return dict(_rows_with(self.db, "SELECT key, digest FROM records WHERE programme = ? AND kind = ?"
                                        " AND superseded_by IS NULL AND key IN ({})", (programme, kind), keys))

    def current_records(self, programme: str, kind: str) -> pd.DataFrame:
        """The records of a kind that no newer file replaced, in the order they were stored, with their
        origin: _file, _sheet, _row, and _column (header → Excel column letter in that sheet).
        Each file's records are loaded column by column in one go, then those no longer current dropped.
        A file of which a newer version (same name) was stored has no current record and is not loaded."""
        # Which files brought the kind: file_columns answers by its key, where records would be read
        # through, file by file, for a kind the files never held (a programme's other forms).
        files = self.db.execute(
            f"SELECT f.id, f.name, f.layout FROM files f WHERE f.programme = ? AND {_NEWEST_VERSION}"
            " AND EXISTS (SELECT 1 FROM file_columns c WHERE c.file_id = f.id AND c.kind = ?) ORDER BY f.id",
            (programme, kind)).fetchall()
        superseded = {row[0] for row in self.db.execute(
            "SELECT id FROM records INDEXED BY records_superseded WHERE programme = ? AND kind = ?"
            " AND superseded_by IS NOT NULL", (programme, kind))}
        parts = []
        for file_id, name, layout in files:
            part = self._file_records(file_id, kind)
            if superseded:
                part = part[~part["_id"].isin(superseded)]
            if part.empty:
                continue
            sheets = json.loads(layout)
            part.insert(len(part.columns), "_file", name)
            codes, names = pd.factorize(part["_sheet"])
            columns = np.empty(len(names), dtype=object)
            columns[:] = [sheets.get(sheet, {}) for sheet in names]
            part["_column"] = columns[codes]
            parts.append(part)
        if not parts:
            return pd.DataFrame()
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        if not frame["_id"].is_monotonic_increasing:
            frame = frame.sort_values("_id", kind="stable").reset_index(drop=True)
        data = sorted(c for c in frame.columns if not str(c).startswith("_"))
        worked_out = [c for c in frame.columns if str(c).startswith(DERIVED)]
        return frame[[*data, *worked_out, "_file", "_sheet", "_row", "_column"]]

    def record_versions(self, programme: str, kind: str, key: str) -> pd.DataFrame:
        """Every version the store holds of one record (`key` as kept: the JSON list of its key columns'
        texts), oldest first, with the file it came from (_file) and the id of the file that superseded
        it (_superseded_by, None for the current one)."""
        rows = self.db.execute(
            "SELECT r.id, r.file_id, f.name, r.superseded_by FROM records r JOIN files f ON f.id = r.file_id"
            " WHERE r.programme = ? AND r.kind = ? AND r.key = ? ORDER BY r.id", (programme, kind, key)).fetchall()
        versions = []
        for record_id, file_id, name, superseded_by in rows:
            found = self._stored_columns(file_id, kind)
            version = found[found["_id"] == record_id].drop(columns="_id")
            versions.append(version.assign(_file=name, _superseded_by=superseded_by))
        return pd.concat(versions, ignore_index=True) if versions else pd.DataFrame()

    def prefetch(self, programme: str) -> None:
        """Load, ahead of current_records, the column-wise records of the programme's files stored so
        far (those no newer version replaced): done while new files are being read elsewhere."""
        for file_id, kind in self.db.execute(
                "SELECT c.file_id, c.kind FROM file_columns c JOIN files f ON f.id = c.file_id"
                f" WHERE f.programme = ? AND {_NEWEST_VERSION}", (programme,)).fetchall():
            self.prefetched[(file_id, kind)] = self._file_records(file_id, kind)

    def _file_records(self, file_id: int, kind: str) -> pd.DataFrame:
        """All records of a kind a file brought, from its column-wise copy (or as prefetched: records
        of a stored file never change, only whether they are current)."""
        if (file_id, kind) in self.prefetched:
            return self.prefetched.pop((file_id, kind))
        return self._stored_columns(file_id, kind)

    def _stored_columns(self, file_id: int, kind: str) -> pd.DataFrame:
        """A file's records of a kind from its column-wise copy, each with its record id (_id)."""
        row = self.db.execute("SELECT first_id, columns FROM file_columns WHERE file_id = ? AND kind = ?",
                              (file_id, kind)).fetchone()
        return _loaded(row[0], row[1])

    def changed_keys(self, programme: str, kind: str) -> set[str]:
        """Keys of current records that replaced an earlier version with different content."""
        rows = self.db.execute(
            "SELECT DISTINCT old.key FROM records old JOIN records cur ON cur.programme = old.programme"
            " AND cur.kind = old.kind AND cur.key = old.key AND cur.superseded_by IS NULL"
            " WHERE old.programme = ? AND old.kind = ? AND old.superseded_by IS NOT NULL AND old.digest <> cur.digest",
            (programme, kind))
        return {row[0] for row in rows}

    def files_state(self, programme: str) -> tuple[int, int]:
        """The newest file id and the number of files stored for the programme (any new file changes it)."""
        row = self.db.execute("SELECT COALESCE(MAX(id), 0), COUNT(*) FROM files WHERE programme = ?",
                              (programme,)).fetchone()
        return int(row[0]), int(row[1])

    def outputs_of(self, programme: str, command: str, period: str) -> tuple[str, dict] | None:
        """The inputs fingerprint and manifest of the last outputs written for this programme and period."""
        row = self.db.execute("SELECT inputs, manifest FROM outputs WHERE programme = ? AND command = ? AND period = ?",
                              (programme, command, period)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def keep_outputs(self, programme: str, command: str, period: str, inputs: str, manifest: dict) -> None:
        """Remember what was written from which inputs."""
        self.db.execute("INSERT OR REPLACE INTO outputs (programme, command, period, inputs, manifest)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (programme, command, period, inputs, json.dumps(manifest, ensure_ascii=False)))

    def returned_inputs(self, path: str) -> str | None:
        """The fingerprint an annotated copy at `path` was written from, if any."""
        row = self.db.execute("SELECT inputs FROM returned WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def keep_returned(self, path: str, inputs: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO returned (path, inputs) VALUES (?, ?)", (path, inputs))

    def document_number(self, programme: str, kind: str, period: str, year: int) -> int:
        """The 发文字号 number of a document: the one it was given before, else the next of its programme
        and year (so a document rendered again keeps its number)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT number FROM documents WHERE programme = ? AND kind = ? AND period = ?",
                                  (programme, kind, period)).fetchone()
            if row is None:
                number = self.db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM documents"
                                         " WHERE programme = ? AND year = ?", (programme, year)).fetchone()[0]
                self.db.execute("INSERT INTO documents (programme, kind, period, year, number) VALUES (?, ?, ?, ?, ?)",
                                (programme, kind, period, year, number))
            else:
                number = row[0]
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return number

    def stretch_cache(self, workbook: str) -> "StoredStretches":
        """The stretches of sheets kept for big workbooks, as the cache pipeline.xlsx asks for; what
        `workbook` (an output's path) keeps replaces what it kept before."""
        return StoredStretches(self, workbook)

    def pseudonym_numbers(self, programme: str) -> dict[str, int]:
        """The pseudonym number of every officer that ever had one in the programme."""
        return dict(self.db.execute("SELECT officer, number FROM pseudonyms WHERE programme = ?", (programme,)))

    def keep_pseudonyms(self, programme: str, numbers: dict[str, int]) -> None:
        """Record new pseudonym numbers; numbers already given are never changed."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR IGNORE INTO pseudonyms (programme, officer, number) VALUES (?, ?, ?)",
                                [(programme, officer, number) for officer, number in sorted(numbers.items())])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise


def _records_to_digests(db: sqlite3.Connection) -> None:
    """Bring a store made before version 6 up to date, in one transaction: its records kept each a JSON
    copy of their content (records.data); now a digest stands there, and the content is in the files'
    column-wise copies, made here for the files stored before those were kept."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS file_columns (file_id INTEGER NOT NULL REFERENCES files(id),"
                   " kind TEXT NOT NULL, first_id INTEGER NOT NULL, columns TEXT NOT NULL,"
                   " PRIMARY KEY (file_id, kind))")
        db.execute("ALTER TABLE records ADD COLUMN digest INTEGER NOT NULL DEFAULT 0")
        missing = db.execute("SELECT DISTINCT file_id, kind FROM records r WHERE NOT EXISTS (SELECT 1 FROM"
                             " file_columns c WHERE c.file_id = r.file_id AND c.kind = r.kind)").fetchall()
        for file_id, kind in missing:
            rows = db.execute("SELECT id, sheet, row, data FROM records WHERE file_id = ? AND kind = ? ORDER BY id",
                              (file_id, kind)).fetchall()
            first = rows[0][0]
            if [row[0] for row in rows] != list(range(first, first + len(rows))):
                # The copy's records are numbered on from `first`: records numbered otherwise take new numbers.
                first = db.execute("SELECT MAX(id) + 1 FROM records").fetchone()[0]
                db.executemany("UPDATE records SET id = ? WHERE id = ?",
                               [(first + n, row[0]) for n, row in enumerate(rows)])
            datas = [json.loads(row[3]) for row in rows]
            names = sorted({name for data in datas for name in data})
            kept = {"_sheet": [row[1] for row in rows], "_row": [row[2] for row in rows],
                    **{name: [data.get(name) for data in datas] for name in names}}
            db.execute("INSERT INTO file_columns (file_id, kind, first_id, columns) VALUES (?, ?, ?, ?)",
                       (file_id, kind, first, _deflated_columns({n: _repeated(v) for n, v in kept.items()})))
        for file_id, kind in db.execute("SELECT DISTINCT file_id, kind FROM records").fetchall():
            rows = db.execute("SELECT id, data FROM records WHERE file_id = ? AND kind = ?", (file_id, kind)).fetchall()
            datas = [json.loads(row[1]) for row in rows]
            names = sorted({name for data in datas for name in data})
            digests = record_digests({name: [data.get(name) for data in datas] for name in names})
            db.executemany("UPDATE records SET digest = ? WHERE id = ?",
                           zip(digests.tolist(), (row[0] for row in rows)))
        db.execute("ALTER TABLE records DROP COLUMN data")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class StoredStretches:
    """A workbook's view of the stretches table (pipeline.xlsx.StretchCache)."""

    def __init__(self, store: Store, workbook: str):
        self.db, self.workbook = store.db, workbook

    def found(self, digests: list[str]) -> dict[str, tuple[int, int, bytes]]:
        return {digest: (crc, size, bytes(packed)) for digest, crc, size, packed in _rows_with(
            self.db, "SELECT digest, crc, size, packed FROM stretches WHERE digest IN ({})", (), digests)}

    def keep(self, stretches: dict[str, tuple[int, int, bytes]]) -> None:
        """Keep these as the workbook's stretches, and let go of every stretch no workbook uses now."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR IGNORE INTO stretches (digest, crc, size, packed) VALUES (?, ?, ?, ?)",
                                [(digest, crc, size, packed) for digest, (crc, size, packed) in stretches.items()])
            self.db.execute("DELETE FROM stretch_uses WHERE workbook = ?", (self.workbook,))
            self.db.executemany("INSERT OR IGNORE INTO stretch_uses (workbook, digest) VALUES (?, ?)",
                                [(self.workbook, digest) for digest in stretches])
            self.db.execute("DELETE FROM stretches WHERE digest NOT IN (SELECT digest FROM stretch_uses)")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
