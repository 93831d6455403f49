"""A fast, streaming writer of the pipeline's own statistics workbooks (plain tables, one per sheet).

openpyxl builds an object per cell and spends minutes on a 200,000-card month; this writes the sheet
XML column by column from the frames. Every text is an inline string (never a formula: a text starting
with = + - @ tab or CR gets the quote-prefix style as well), numbers and dates are real values (dates
as Excel serials with a date format), shares (…率, …占比) show as percentages. The same frames give
the same bytes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import math
import os
import re
import struct
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from multiprocessing import get_context

import numpy as np
import pandas as pd
from isal import isal_zlib

from pipeline.convert import mostly_distinct
from pipeline.outputs import ZIP_TIME
from pipeline.problems import column_letter
from pipeline.processes import frozen_heap
from pipeline.xml_text import escape

CELL_LIMIT = 32_767                  # characters Excel holds in one cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHARE_SUFFIXES = ("率", "占比")
EPOCH = pd.Timestamp("1899-12-30")
# Characters XML 1.0 does not allow; a clerk's cell may hold them.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Styles (cellXfs): 0 plain, 1 header, 2 date, 3 date-time, 4 percentage, 5 text that looks like a formula.
PLAIN, HEADER, DATE, MOMENT, SHARE, QUOTED = range(6)

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="166" formatCode="0.0%"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="等线"/><family val="2"/></font><font><b/><sz val="11"/><name val="等线"/><family val="2"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def _text_body(text: str) -> str:
    """A text cell after its reference: an inline string, quote-prefixed when it looks like a formula."""
    if not text.isprintable():                       # only then can it hold a control character
        text = ILLEGAL_XML.sub("", text)
    if len(text) > CELL_LIMIT:
        text = text[:CELL_LIMIT - 1] + "…"
    return _text_xml(text, escape(text))


def _text_xml(text: str, escaped: str) -> str:
    """An inline string cell after its reference. Quote-prefixed when the text looks like a formula;
    marked xml:space="preserve" only when white space at its ends or runs of it would otherwise be
    let go (a long list's texts rarely have any: the mark is most of a short cell's bytes)."""
    space = _PRESERVE if text != text.strip() or "  " in text or "\n" in text or "\t" in text else ">"
    return (_QUOTED_TEXT if text.startswith(FORMULA_STARTS) else _PLAIN_TEXT) + space + escaped + _TEXT_END


_PLAIN_TEXT = ' t="inlineStr"><is><t'
_QUOTED_TEXT = f' t="inlineStr" s="{QUOTED}"><is><t'
_PRESERVE = ' xml:space="preserve">'
_TEXT_END = "</t></is></c>"


def _text_bodies(texts: list[str]) -> dict[str, str]:
    """_text_body of each text; when none of them needs escaping, cleaning or cutting (looked at in
    one go), put together without looking at each again."""
    joined = "\n".join(texts)
    if "&" in joined or "<" in joined or ">" in joined or ILLEGAL_XML.search(joined) \
            or (len(joined) > CELL_LIMIT and max(map(len, texts)) > CELL_LIMIT):
        return {text: _text_body(text) for text in texts}
    return {text: _text_xml(text, text) for text in texts}


def _text_cell(opening: str, text: str) -> str:
    return f"{opening}{_text_body(text)}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _numbers_text(values: np.ndarray) -> list[str]:
    """Each float of a column as the shortest text that reads back the same (whole numbers without
    ".0"); NaN gives ''."""
    return ["" if v != v else (str(int(v)) if v.is_integer() else repr(v)) for v in values.tolist()]


def _serial(moment: pd.Timestamp) -> float:
    return (moment - EPOCH) / pd.Timedelta(days=1)


def _value_cell(opening: str, value: object, share: bool, blank: str) -> str:
    """One cell of an object column (opening: its "<c r=…" or "<c"), by the value's own type."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT or value is pd.NA:
        return blank
    if isinstance(value, str):
        return _text_cell(opening, value) if value else blank
    if isinstance(value, (bool, np.bool_)):
        return _text_cell(opening, "是" if value else "否")
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        moment = pd.Timestamp(value)
        style = DATE if moment == moment.normalize() else MOMENT
        return f'{opening} s="{style}"><v>{_number(_serial(moment))}</v></c>'
    if isinstance(value, (int, float, np.integer, np.floating)):
        style = f' s="{SHARE}"' if share and isinstance(value, (float, np.floating)) else ""
        return f"{opening}{style}><v>{_number(value)}</v></c>"
    return _text_cell(opening, str(value))


# A row of a long list is written without addresses (<row>, <c …>): its XML then does not depend on
# where the row stands, so that the stretches of a rerun that moved rows can be found in the cache.
# An empty cell keeps its place as <c/>.
UNNUMBERED_BLANK = "<c/>"


def _column_cells(series: pd.Series, letter: str, share: bool, first_row: int = 2, numbered: bool = True
                  ) -> list[str]:
    """The XML of every cell of one column (its first value on Excel row `first_row`), built per column
    for speed: numbers turned to text for the whole column at once, each distinct text escaped once.
    Unnumbered, cells carry no address and an empty cell is <c/>."""
    if numbered:
        openings = [f'<c r="{letter}{row}"' for row in range(first_row, len(series) + first_row)]
        blank = ""
    else:
        openings, blank = ["<c"] * len(series), UNNUMBERED_BLANK
    if pd.api.types.is_datetime64_any_dtype(series):
        serials = _numbers_text(((series - EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64"))
        dated = (series == series.dt.normalize()).to_numpy()
        return [blank if s == "" else f'{opening} s="{DATE if d else MOMENT}"><v>{s}</v></c>'
                for opening, s, d in zip(openings, serials, dated.tolist())]
    if pd.api.types.is_bool_dtype(series):
        return [_value_cell(opening, bool(v), share, blank) for opening, v in zip(openings, series.to_numpy())]
    if pd.api.types.is_numeric_dtype(series):
        values = _numbers_text(series.astype("float64").to_numpy())
        style = f' s="{SHARE}"' if share and pd.api.types.is_float_dtype(series) else ""
        return [blank if v == "" else f"{opening}{style}><v>{v}</v></c>" for opening, v in zip(openings, values)]
    values = series.tolist()
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        # Texts only (and blanks): each distinct text made into XML once.
        bodies = _text_bodies([v for v in set(values) if isinstance(v, str) and v != ""])
        return [blank if body is None else f"{opening}{body}" for opening, body in zip(openings, map(bodies.get, values))]
    return [_value_cell(opening, v, share, blank) for opening, v in zip(openings, values)]


def column_width(header: str, values: list[object]) -> float:
    """A column width that fits the header and the values (CJK characters count double), at most 60."""
    longest = 4
    cells = [header, *values]
    for kind, value in dict.fromkeys(zip(map(type, cells), cells)):     # each (type, value) once
        if value is None or (kind is float and math.isnan(value)):
            continue
        if isinstance(value, pd.Timestamp):
            text = "2026-11-03 09:30" if value != value.normalize() else "2026-11-03"
        else:
            text = str(value)[:60]
        longest = max(longest, len(text) if text.isascii() else sum(2 if ord(ch) > 0x2E80 else 1 for ch in text))
    return min(longest + 2, 60)


ROWS_PER_CHUNK = 20_000


def sheet_head(frame: pd.DataFrame) -> str:
    """The worksheet XML up to its data rows: a bold frozen header row and fitted widths."""
    columns = [str(c) for c in frame.columns]
    letters = [column_letter(i) for i in range(len(columns))]
    header = "".join(f'<c r="{letter}1" t="inlineStr" s="{HEADER}"><is><t xml:space="preserve">'
                     f'{escape(ILLEGAL_XML.sub("", name))}</t></is></c>' for letter, name in zip(letters, columns))
    widths = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{column_width(name, frame.iloc[:200, i].tolist())}"'
                     f' customWidth="1"/>' for i, name in enumerate(columns))
    cols = f"<cols>{widths}</cols>" if columns else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
            f' state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>'
            f'<row r="1">{header}</row>')


SHEET_TAIL = "</sheetData></worksheet>"


def _unnumbered_cells(series: pd.Series, share: bool) -> list[bytes]:
    """The UTF-8 XML of every cell of a column without addresses: a cell then depends on its value
    alone, so each distinct value is made into XML once (outlets, engineers and amounts repeat by the
    thousand); dates, moments and amounts also recur from one stretch to the next, and are remembered.
    A column of texts that are (nearly) all distinct, such as 工单号, is made in one go when it can be."""
    if series.dtype == object:
        values = series.tolist()
        if len(set(map(type, values)) & _EQUAL_NUMBERS) > 1:
            # 1, 1.0 and True are one key to a hash table: cell by cell.
            return [cell.encode("utf-8") for cell in _column_cells(series, "", share, numbered=False)]
        if mostly_distinct(values) and (plain := _plain_text_cells(values)) is not None:
            return plain
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    distinct = pd.Series(distinct, dtype=series.dtype)
    made = np.empty(len(distinct) + 1, dtype=object)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "Mfiu":
        label = (str(series.dtype), share)
        known, cells = _CELL_MEMO.get(label, (pd.Index([], dtype=series.dtype), np.empty(0, dtype=object)))
        found = known.get_indexer(distinct)
        new = np.flatnonzero(found < 0)
        if len(new):
            made_now = np.empty(len(new), dtype=object)
            made_now[:] = [cell.encode("utf-8") for cell in _column_cells(distinct.iloc[new], "", share, numbered=False)]
            found[new] = np.arange(len(known), len(known) + len(new))
            known, cells = known.append(pd.Index(distinct.iloc[new])), np.concatenate([cells, made_now])
            _CELL_MEMO[label] = (known, cells) if len(known) <= MEMO_LIMIT else (known[:0], cells[:0])
        made[:-1] = cells[found]
    else:
        plain = _plain_text_cells(distinct.tolist()) if series.dtype == object else None
        made[:-1] = plain if plain is not None else \
            [cell.encode("utf-8") for cell in _column_cells(distinct, "", share, numbered=False)]
    made[-1] = UNNUMBERED_BLANK.encode()                            # code -1: a blank cell
    return made[codes].tolist()


# What makes a text more than its escaped self in a cell, looked for in the texts joined by line breaks:
# a character XML does not allow or a tab; white space at either end of a text or a formula's start
# (each search made of what is quick for re: a class alone, and a pattern starting with a line break).
_NOT_PLAIN_CHARACTER = re.compile(r"[\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_PLAIN_JOIN = re.compile(r"\n(?:[\s=+\-@]|(?<=\s\n))")
_PLAIN_CELL = f"<c{_PLAIN_TEXT}>"


def _plain_text_cells(texts: list[object]) -> list[bytes] | None:
    """The unnumbered cells of a column's distinct texts, the same _text_body gives one by one, made
    in one go (joined, escaped, encoded and split again) when every text is only its escaped self:
    none empty, too long, holding a line break, or needing quotes, cleaning or kept white space.
    None when one of them does (or is not a text): they are then made one by one."""
    if not texts or set(map(type, texts)) != {str} or "" in texts:
        return None
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1 or "  " in joined or joined[0].isspace() or joined[-1].isspace() \
            or joined.startswith(FORMULA_STARTS) or _NOT_PLAIN_CHARACTER.search(joined) \
            or _NOT_PLAIN_JOIN.search(joined) or (len(joined) > CELL_LIMIT and max(map(len, texts)) > CELL_LIMIT):
        return None
    between = f"{_TEXT_END}\n{_PLAIN_CELL}"
    return f"{_PLAIN_CELL}{between.join(escape(joined).split(chr(10)))}{_TEXT_END}".encode("utf-8").split(b"\n")


_CELL_MEMO: dict[tuple[str, bool], tuple[pd.Index, np.ndarray]] = {}    # per process
MEMO_LIMIT = 1_000_000
_EQUAL_NUMBERS = {bool, int, float, np.bool_}


def unnumbered_rows_xml(frame: pd.DataFrame, start: int, stop: int) -> bytes:
    """The UTF-8 XML of the frame's rows start..stop, rows and cells without addresses (see
    UNNUMBERED_BLANK)."""
    columns = [str(c) for c in frame.columns]
    part = frame.iloc[start:stop]
    cells = [_unnumbered_cells(part.iloc[:, i], columns[i].endswith(SHARE_SUFFIXES)) for i in range(len(columns))]
    opening, closing = [b"<row>"] * len(part), [b"</row>"] * len(part)
    return b"".join(itertools.chain.from_iterable(zip(opening, *cells, closing)))


def rows_xml(frame: pd.DataFrame, start: int, stop: int) -> str:
    """The XML of the frame's rows start..stop (the first data row is Excel row 2)."""
    columns = [str(c) for c in frame.columns]
    part = frame.iloc[start:stop]
    cells = [_column_cells(part.iloc[:, i], column_letter(i), columns[i].endswith(SHARE_SUFFIXES), start + 2)
             for i in range(len(columns))]
    return "".join(f'<row r="{number}">{"".join(row)}</row>' for number, row in enumerate(zip(*cells), start=start + 2))


def sheet_names(names: list[str]) -> list[str]:
    """Sheet names as Excel allows them: at most 31 characters, none of []:*?/\\, unique."""
    found = []
    for name in names:
        clean = re.sub(r"[\[\]:*?/\\]", "_", str(name))[:31] or "表"
        candidate, n = clean, 2
        while candidate in found:
            candidate = f"{clean[:28]}_{n}"
            n += 1
        found.append(candidate)
    return found


def workbook_bytes(sheets: dict[str, pd.DataFrame], title: str = "", creator: str = "officer-report-pipeline",
                   parallel: bool | None = None, cache: "StretchCache | None" = None,
                   known: "dict[str, KnownRows] | None" = None) -> bytes:
    """The .xlsx bytes of the frames, one sheet each, in order (sheets deflated in two processes when
    the workbook is big, or as `parallel` says; stretches found in `cache` are not made again, the
    long lists of `known` recognised by their rows' KnownRows; the bytes are the same either way)."""
    frames = list(sheets.values()) or [pd.DataFrame()]
    names = sheet_names(list(sheets) or ["空"])
    count = len(frames)
    content_types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                     '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                     '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                     + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                               for i in range(1, count + 1)) + "</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            "</Relationships>")
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:title>{escape(title)}</dc:title><dc:creator>{escape(creator)}</dc:creator>'
            '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
            '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified></cp:coreProperties>')
    workbook = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                + "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                          for i, name in enumerate(names, start=1)) + "</sheets></workbook>")
    workbook_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     + "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                               for i in range(1, count + 1))
                     + f'<Relationship Id="rId{count + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                     "</Relationships>")
    parts = [_packed(name, [text]) for name, text in (
        ("[Content_Types].xml", content_types), ("_rels/.rels", rels), ("docProps/core.xml", core),
        ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels), ("xl/styles.xml", STYLES))]
    return zip_bytes(parts + _sheet_parts(frames, parallel, cache, [(known or {}).get(name) for name in sheets]))


# -- the archive -----------------------------------------------------------------------------------
# Sheets are deflated apart (in two processes when they are big) and the zip is put together here:
# Python's zipfile cannot take a part deflated elsewhere. ISA-L deflates (standard deflate bytes) four
# times as fast as zlib's level 3, for a part some 15 % larger.
DEFLATE_LEVEL = 2                    # ISA-L's levels run 0-3; 3 costs four times the time for 1 % less
PARALLEL_ROWS = 50_000               # below this many rows in all, a second process does not pay
CACHED_ROWS = 20_000                 # below this many rows in all, a workbook is made anew every time
STRETCH_ROWS = 5_000                 # a long list is cut about this often (_spans)
MIN_STRETCH = 2_000
SAMPLE_ROWS = 1_000                  # rows looked at to tell a column of few distinct texts
_DOS_DATE = (ZIP_TIME[0] - 1980) << 9 | ZIP_TIME[1] << 5 | ZIP_TIME[2]
_DOS_TIME = ZIP_TIME[3] << 11 | ZIP_TIME[4] << 5 | ZIP_TIME[5] // 2
_PENDING: list[pd.DataFrame] = []    # the frames a forked worker reads (inherited, never pickled)


@dataclass(frozen=True)
class Part:
    """One deflated member of the archive."""

    name: str
    crc: int
    size: int
    packed: bytes


def _packed(name: str, pieces) -> Part:
    return _joined(name, [_deflated(pieces, last=True)])


def _deflated(pieces, last: bool) -> tuple[int, int, bytes]:
    """(crc, size, raw deflate) of the pieces' UTF-8 bytes. Only the last stretch of a part finishes
    its stream; the others end on a sync flush, so that stretches deflated apart can be joined."""
    crc, size, out = 0, 0, []
    packer = isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -15)
    for piece in pieces:
        data = piece.encode("utf-8") if isinstance(piece, str) else piece
        crc, size = isal_zlib.crc32(data, crc), size + len(data)
        out.append(packer.compress(data))
    out.append(packer.flush(isal_zlib.Z_FINISH if last else isal_zlib.Z_SYNC_FLUSH))
    return crc, size, b"".join(out)


def _joined(name: str, stretches: list[tuple[int, int, bytes]]) -> Part:
    crc, size = 0, 0
    for part_crc, part_size, _ in stretches:
        crc, size = isal_zlib.crc32_combine(crc, part_crc, part_size), size + part_size
    return Part(name, crc, size, b"".join(packed for *_, packed in stretches))


def _stretch(task: tuple[int, int, int, bool]) -> tuple[int, int, bytes]:
    """One stretch of a sheet (frame, first row, last row, numbered), deflated: the head with the
    first, the tail with the last."""
    index, start, stop, numbered = task
    frame = _PENDING[index]
    pieces = [sheet_head(frame)] if start == 0 else []
    if stop > start:
        pieces.append(rows_xml(frame, start, stop) if numbered else unnumbered_rows_xml(frame, start, stop))
    last = stop >= len(frame)
    if last:
        pieces.append(SHEET_TAIL)
    return _deflated(pieces, last)


class StretchCache(Protocol):
    """Deflated stretches of sheets written before, by the digest of what they hold (_stretches_of)."""

    def found(self, digests: list[str]) -> dict[str, tuple[int, int, bytes]]: ...

    def keep(self, stretches: dict[str, tuple[int, int, bytes]]) -> None: ...


_WRITER = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()    # new writer code, new stretches


@dataclass(frozen=True)
class KnownRows:
    """For a long list made row by row from records: each row's record digest (pipeline.columns
    RECORD_DIGEST), and `salt`, what else its cells depend on (the code and settings that make them).
    The two stand for the row's cells: the writer cuts and recognises its stretches by them, without
    hashing 200,000 rows' cells again (_column_hashes, ~0.2 s for the after-sales 工单 sheet)."""

    digests: np.ndarray
    salt: str


def _column_hashes(frame: pd.DataFrame) -> list[tuple[str, np.ndarray]] | None:
    """Each column's label (name and type) and its values hashed row by row (pandas); None when a
    column holds values of mixed types, which pandas hashes by their text (1 and "1" alike)."""
    hashed = []
    for i, name in enumerate(frame.columns):
        column = frame.iloc[:, i]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
                return None
            texts = column.to_numpy(dtype=object)
            # Few distinct texts (outlets, codes): hashed once each; mostly distinct ones (ids): directly.
            repeated = len(set(texts[:SAMPLE_ROWS].tolist())) < SAMPLE_ROWS // 2
            values = pd.util.hash_array(texts, categorize=repeated)
        else:
            values = pd.util.hash_pandas_object(column, index=False).to_numpy()
        hashed.append((f"{name}\x1f{column.dtype}", values))
    return hashed


def _spans(length: int, hashed: list[tuple[str, np.ndarray]] | None) -> list[tuple[int, int]]:
    """A long list's stretches, cut where a row's hash says so (about every STRETCH_ROWS rows, at
    least MIN_STRETCH and at most 2 × STRETCH_ROWS apart): rows moved by a rerun, or new rows, move
    the cuts with them, and the stretches around them stay as they were. A rerun makes again only
    the stretches holding changed rows, so short stretches keep that little; each stretch costs only
    its digest and its row in the cache."""
    if hashed is None:
        return [(start, min(start + STRETCH_ROWS, length)) for start in range(0, length, STRETCH_ROWS)]
    rows = np.zeros(length, dtype=np.uint64)
    for _, values in hashed:
        rows = rows * np.uint64(1_000_003) + values
    marks = np.flatnonzero(rows % np.uint64(STRETCH_ROWS) == 0) + 1
    spans, start = [], 0
    for mark in [*marks.tolist(), length]:
        while mark - start > 2 * STRETCH_ROWS:
            spans.append((start, start + STRETCH_ROWS))
            start += STRETCH_ROWS
        if mark - start >= MIN_STRETCH or mark == length:
            spans.append((start, mark))
            start = mark
    return [span for span in spans if span[1] > span[0]] or [(0, 0)]


def _stretches_of(index: int, frame: pd.DataFrame, cached: bool, known: KnownRows | None = None
                  ) -> list[tuple[tuple, str | None]]:
    """The stretches of one sheet as ((index, start, stop, numbered), digest or None). A sheet of at
    most ROWS_PER_CHUNK rows is one numbered stretch; a longer list is cut by _spans, unnumbered.
    The digest covers everything the deflated stretch depends on: the writer's code, the head (first
    stretch), the tail (last), the columns' names and types, every value (or, with `known`, what
    stands for the values of each row)."""
    long = len(frame) > ROWS_PER_CHUNK
    if known is not None and len(known.digests) == len(frame) and (cached or long):
        label = "\x1f".join(["rows", known.salt, *(f"{name}\x1e{dtype}" for name, dtype in frame.dtypes.items())])
        hashed = [(label, np.ascontiguousarray(known.digests).view(np.uint64))]
    else:
        hashed = _column_hashes(frame) if cached or long else None
    spans = _spans(len(frame), hashed) if long else [(0, len(frame))]
    found = []
    for start, stop in spans:
        digest = None
        if cached and hashed is not None:
            head = sheet_head(frame) if start == 0 else ""
            hasher = hashlib.sha256(f"{_WRITER}\x1e{long}\x1e{start if not long else ''}\x1e{stop >= len(frame)}"
                                    f"\x1e{head}".encode())
            for label, values in hashed:
                hasher.update(label.encode())
                hasher.update(values[start:stop].tobytes())
            digest = hasher.hexdigest()
        found.append(((index, start, stop, not long), digest))
    return found


def _sheet_parts(frames: list[pd.DataFrame], parallel: bool | None = None, cache: StretchCache | None = None,
                 known: list[KnownRows | None] | None = None) -> list[Part]:
    """Each frame's sheet XML, deflated in stretches (_stretches_of): in two processes when the
    workbook is big (the bytes are the same either way); stretches the cache has are taken from it."""
    cached = cache is not None and sum(len(frame) for frame in frames) >= CACHED_ROWS
    known = known or [None] * len(frames)
    planned = [stretch for i, frame in enumerate(frames) for stretch in _stretches_of(i, frame, cached, known[i])]
    tasks = [task for task, _ in planned]
    digests = [digest for _, digest in planned]
    kept = cache.found([d for d in digests if d is not None]) if cached else {}
    missing = [n for n, digest in enumerate(digests) if digest not in kept]
    _PENDING[:] = frames
    try:
        if parallel is None:
            parallel = sum(tasks[n][2] - tasks[n][1] for n in missing) >= PARALLEL_ROWS and (os.cpu_count() or 1) >= 2
        if not parallel or len(missing) < 2:
            made = [_stretch(tasks[n]) for n in missing]
        else:
            with frozen_heap(), ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
                made = list(pool.map(_stretch, [tasks[n] for n in missing]))
    finally:
        _PENDING.clear()
    done = [kept.get(digest) for digest in digests]
    for n, stretch in zip(missing, made):
        done[n] = stretch
    if cached:
        cache.keep({digest: stretch for digest, stretch in zip(digests, done) if digest is not None})
    stretches: dict[int, list] = {}
    for (index, *_), stretch in zip(tasks, done):
        stretches.setdefault(index, []).append(stretch)
    return [_joined(f"xl/worksheets/sheet{i + 1}.xml", stretches[i]) for i in range(len(frames))]


def zip_bytes(parts: list[Part]) -> bytes:
    """A zip archive of deflated parts, in order, with fixed times (the same parts, the same bytes)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for part in parts:
        name = part.name.encode("utf-8")
        if max(part.size, len(part.packed), out.tell()) >= 0xFFFFFFFF:
            raise ValueError("工作簿超过 4 GiB，无法写入")
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, _DOS_TIME, _DOS_DATE, part.crc,
                              len(part.packed), part.size, len(name), 0) + name)
        out.write(part.packed)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0x800, 8, _DOS_TIME, _DOS_DATE,
                                    part.crc, len(part.packed), part.size, len(name), 0, 0, 0, 0, 0o600 << 16,
                                    offset) + name)
    start = out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory.getvalue()), start, 0))
    return out.getvalue()
