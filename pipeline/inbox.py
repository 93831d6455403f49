"""Inbox files' sheets (read by pipeline.sheets) → forms: find the header, know the form; and the
editable copy of a clerk's file that annotated copies are made from.

Nothing here changes an inbox file. A file that cannot be read becomes a problem, never an exception
in front of a clerk.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.convert import blank_flags, mostly_distinct
from pipeline.sheets import RawSheet, read_sheets
from pipeline.problems import column_letter
from pipeline.xlsx import ILLEGAL_XML
from schemas import FormKind

if TYPE_CHECKING:
    from openpyxl import Workbook

HEADER_SEARCH_ROWS = 30

_HEADER_NOISE = re.compile(r"[\s*＊]+|[（(](必填|选填|必选|可选)[)）]")
_NOTE_ROW = re.compile(
    r"^(填表人|填报人|制表人?|审核人?|审批人?|负责人|联系人|联系电话|说明|注|备注|签字|签名|填表日期|填报日期)\s*[:：]"
    r"|^(合计|总计|小计)"
)


class Column:
    """One column's cells as its distinct values and, for each row, which of them it holds: the
    checks and conversions look at each distinct value once (outlets, engineers, enums and dates
    repeat thousands of times). Values are told apart by type as well: 1, 1.0 and True are three.
    A column of mostly distinct values keeps every cell as its own value (a value may then repeat)."""

    def __init__(self, codes: np.ndarray, values: list[object]):
        self.codes = codes
        self.values = values
        self._blank: np.ndarray | None = None

    @classmethod
    def of(cls, cells) -> "Column":
        cells = list(cells)
        if mostly_distinct(cells):
            return cls(np.arange(len(cells)), cells)
        array = np.empty(len(cells), dtype=object)
        array[:] = cells
        codes, uniques = pd.factorize(array, use_na_sentinel=False)
        types = set(map(type, cells))
        if len(types & _EQUAL_NUMBERS) > 1:    # Python holds 1 == 1.0 == True: keep them apart
            kinds = np.empty(len(cells), dtype=object)
            kinds[:] = list(map(type, cells))
            type_codes, _ = pd.factorize(kinds)
            combined = codes.astype(np.int64) * len(types) + type_codes
            _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
            return cls(codes.reshape(-1), [cells[i] for i in first])
        return cls(codes, list(uniques))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, position: int) -> object:
        return self.values[self.codes[position]]

    def blank_values(self) -> np.ndarray:
        """True for each distinct value that is empty (None, NaN, or only white space); worked out once."""
        if self._blank is None:
            self._blank = blank_flags(self.values)
        return self._blank

    def blank(self) -> np.ndarray:
        """True for each row whose cell is empty."""
        return self.blank_values()[self.codes] if len(self.codes) else np.zeros(0, dtype=bool)

    def take(self, positions: np.ndarray) -> "Column":
        taken = Column(self.codes[positions], self.values)
        taken._blank = self._blank
        return taken


_EQUAL_NUMBERS = {bool, int, float}


@dataclass
class FormSheet:
    """A sheet recognised as a form: its header row and, per data row, the raw cells by header
    (column by column: `rows` holds the Excel row numbers, `cells` each header's column)."""

    sheet: str
    kind: FormKind
    header_row: int                       # Excel row number of the header
    columns: dict[str, int]               # canonical header → 0-based column index
    rows: list[int] = field(default_factory=list)
    cells: dict[str, Column] = field(default_factory=dict)
    unknown_headers: list[str] = field(default_factory=list)

    def letter(self, header: str) -> str:
        return column_letter(self.columns[header])

    def column(self, header: str) -> Column:
        """A header's cells; a header the sheet does not have is empty in every row."""
        found = self.cells.get(header)
        return found if found is not None else Column(np.zeros(len(self.rows), dtype=np.intp), [None])

    @property
    def records(self) -> list[tuple[int, dict[str, object]]]:
        """(Excel row, cells by header) of each data row."""
        return [(row, {header: column[i] for header, column in self.cells.items()})
                for i, row in enumerate(self.rows)]


@dataclass
class Unrecognised:
    """A sheet with data whose header is not (or not completely) one of the forms."""

    sheet: str
    header_row: int | None
    closest: FormKind | None
    missing: list[str]
    unknown: list[str]


def editable_copy(path: Path) -> Workbook:
    """An openpyxl workbook of the clerk's file to annotate: the file itself for .xlsx/.xlsm, else its
    cells rebuilt as .xlsx. Read from bytes: the inbox file is never opened for writing."""
    from openpyxl import Workbook, load_workbook     # here: a run imports openpyxl only to make copies

    data = path.read_bytes()
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        try:
            return load_workbook(io.BytesIO(data), keep_vba=path.suffix.lower() == ".xlsm")
        except Exception:  # a workbook openpyxl cannot load is rebuilt from what calamine read
            pass
    book = Workbook()
    book.remove(book.active)
    for sheet in read_sheets(path):
        target = book.create_sheet(sheet.name[:31])
        for row in sheet.rows:
            target.append([ILLEGAL_XML.sub("", cell) or None if isinstance(cell, str) else cell for cell in row])
        for row in target.iter_rows():
            for cell in row:
                if cell.data_type == "f":           # a text the clerk typed, not a formula we would write
                    cell.data_type = "s"
    return book


def normalise_header(text: object) -> str:
    """A header cell reduced to its words: full-width folded, spaces, line breaks, * and （必填） removed."""
    if not isinstance(text, str):
        return ""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).strip()


def header_lookup(kind: FormKind) -> dict[str, str]:
    """Normalised header text → canonical header, for one form kind."""
    lookup: dict[str, str] = {}
    for f in kind.fields:  # canonical names first, so that a canonical name is never taken as a synonym
        lookup[normalise_header(f.header)] = f.header
    for f in kind.fields:
        for name in kind.synonyms_of(f):
            lookup.setdefault(normalise_header(name), f.header)
    return lookup


def _match_row(words: list[str], lookup: dict[str, str]) -> dict[str, int]:
    """Canonical header → column index, for a row's cells already normalised (normalise_header)."""
    columns: dict[str, int] = {}
    for index, word in enumerate(words):
        canonical = lookup.get(word)
        if canonical and canonical not in columns:
            columns[canonical] = index
    return columns


def _is_blank_row(row: list[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def _is_note_row(row: list[object]) -> bool:
    filled = [cell for cell in row if not (cell is None or (isinstance(cell, str) and not cell.strip()))]
    return 0 < len(filled) <= 2 and isinstance(filled[0], str) and bool(_NOTE_ROW.match(filled[0].strip()))


def recognise(sheet: RawSheet, kinds: list[FormKind]) -> FormSheet | Unrecognised | None:
    """The sheet as a form of one kind; Unrecognised when its header is not one; None when it is empty."""
    if all(_is_blank_row(row) for row in sheet.rows):
        return None
    lookups = {kind.name: header_lookup(kind) for kind in kinds}
    best: tuple[int, int, FormKind, dict[str, int]] | None = None  # (score, -row, kind, columns)
    for row_index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        words = [normalise_header(cell) for cell in row]
        for kind in kinds:
            columns = _match_row(words, lookups[kind.name])
            required = sum(1 for h in kind.required_headers if h in columns)
            complete = required == len(kind.required_headers)
            score = (complete * 1000 + required * 10 + len(columns))
            if best is None or score > best[0]:
                best = (score, row_index, kind, columns)
    score, row_index, kind, columns = best
    header_cells = sheet.rows[row_index]
    unknown = [str(c).strip() for i, c in enumerate(header_cells)
               if isinstance(c, str) and c.strip() and i not in columns.values()]
    missing = [h for h in kind.required_headers if h not in columns]
    if missing:
        recognisable = len(kind.required_headers) - len(missing) >= 2
        return Unrecognised(sheet.name, row_index + 1 if recognisable else None,
                            kind if recognisable else None, missing, unknown)
    form = FormSheet(sheet.name, kind, row_index + 1, columns, unknown_headers=unknown)
    body = sheet.rows[row_index + 1:]
    if not body:
        return form
    width = max(max(map(len, body)), max(columns.values()) + 1)
    if any(len(row) != width for row in body):
        body = [list(row) + [None] * (width - len(row)) for row in body]
    transposed = list(zip(*body))
    grid = {index: Column.of(transposed[index]) for index in set(columns.values())}
    filled = np.zeros(len(body), dtype=np.int64)
    for column in grid.values():
        filled += ~column.blank()
    keep = filled > 0
    # A row with one or two cells filled may be a note (填表人：…, 合计) rather than data.
    for position in np.flatnonzero(keep & (filled <= 2)):
        if _is_note_row(body[position]):
            keep[position] = False
    positions = np.flatnonzero(keep)
    form.rows = (positions + row_index + 2).tolist()
    form.cells = {header: grid[index].take(positions) for header, index in columns.items()}
    return form
