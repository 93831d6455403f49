"""The cells of an inbox file, as python-calamine reads them: every sheet of a workbook (or a CSV
file) as rows of values, after the checks that refuse a file before it is unpacked. Needs neither
pandas nor pandera, so that a run can start reading a file while it is still importing them
(pipeline.ahead)."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# What a workbook from Excel, WPS or LibreOffice stays far below; a zip bomb does not. Checked from
# the archive's directory before anything is unpacked.
MAX_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 2 << 30
MAX_RATIO = 250                  # unpacked / packed, for an entry of more than RATIO_FLOOR bytes unpacked
RATIO_FLOOR = 1 << 20
XML_HEAD_BYTES = 1 << 20         # a DOCTYPE (entity definitions) can only come before the root element
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


class UnreadableFile(Exception):
    """A file that cannot be opened at all; `code` names the problem in the catalogue."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def check_package(data: bytes) -> None:
    """Refuse a zip-based workbook that would unpack to far more than any real one (a zip bomb), or
    whose XML declares a DOCTYPE (entity definitions: the 'billion laughs'); raises UnreadableFile.
    Only the archive's directory and the first bytes of each XML part are looked at."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return                                   # not a readable archive: the reader says so
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise UnreadableFile("E_FILE_UNSAFE")
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise UnreadableFile("E_FILE_UNSAFE")
    for entry in entries:
        if not entry.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        try:
            with archive.open(entry) as part:
                head = part.read(XML_HEAD_BYTES)
        except Exception:  # a broken part: the reader reports the file as unreadable
            return
        if not _plain_prolog(head):
            raise UnreadableFile("E_FILE_UNSAFE")


def _plain_prolog(head: bytes) -> bool:
    """Whether an XML part reaches its root element through nothing but the XML declaration,
    processing instructions, comments and white space (no DOCTYPE, so no entity can be defined) within
    its first XML_HEAD_BYTES."""
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[2:].decode(encoding, errors="ignore").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf")
    at = 0
    while True:
        while at < len(head) and head[at:at + 1].isspace():
            at += 1
        if head.startswith(b"<?", at):
            end = head.find(b"?>", at)
            at = end + 2
        elif head.startswith(b"<!--", at):
            end = head.find(b"-->", at)
            at = end + 3
        elif at >= len(head):
            return len(head) < XML_HEAD_BYTES    # a part of nothing but a prolog; or undecided: refused
        else:
            return head.startswith(b"<", at) and not head.startswith(b"<!", at)
        if end < 0:
            return False                         # a prolog longer than anything Excel writes


@dataclass
class RawSheet:
    """A sheet's cells as python-calamine gives them; rows[i] is Excel row i + 1, column 0 is A.
    A sheet beyond Excel's own limits is not read: `too_large`, and no rows."""

    name: str
    rows: list[list[object]]
    too_large: bool = False


def read_sheets(path: Path) -> list[RawSheet]:
    """Every sheet of a workbook or CSV file, as raw cells; raises UnreadableFile."""
    return sheets_of(path.read_bytes(), path)


def sheets_of(data: bytes, path: Path) -> list[RawSheet]:
    """Every sheet of the bytes of the file at `path` (its name tells a CSV file), as raw cells;
    raises UnreadableFile."""
    if not data:
        raise UnreadableFile("E_FILE_EMPTY")
    if path.suffix.lower() == ".csv":
        return [RawSheet(path.stem, _read_csv(data))]
    if data.startswith(CFB_MAGIC) and _ENCRYPTION_STREAM in data[:1 << 20]:
        raise UnreadableFile("E_FILE_ENCRYPTED")
    if data.startswith(ZIP_MAGIC):
        check_package(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in workbook.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            if sheet.end is not None and (sheet.end[0] >= EXCEL_ROWS or sheet.end[1] >= EXCEL_COLUMNS):
                sheets.append(RawSheet(meta.name, [], too_large=True))
                continue
            rows = sheet.to_python(skip_empty_area=False)
            sheets.append(RawSheet(meta.name, rows))
        return sheets
    except PasswordError:
        raise UnreadableFile("E_FILE_ENCRYPTED") from None
    except Exception:  # calamine raises many kinds; to a clerk they all mean "cannot be opened"
        if data.startswith(CFB_MAGIC) and path.suffix.lower() in {".xlsx", ".xlsm"}:
            raise UnreadableFile("E_FILE_ENCRYPTED") from None
        raise UnreadableFile("E_FILE_UNREADABLE") from None


def _read_csv(data: bytes) -> list[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("E_CSV_ENCODING")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]
