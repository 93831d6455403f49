"""Hostile and broken inbox files, built byte by byte: what a careless or malicious hand can drop in."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from tests.conftest import ROSTER_HEADERS, write_xlsx

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def package(sheet_xml: str, extra: dict[str, bytes] | None = None, entries: int = 0) -> bytes:
    """A minimal .xlsx with one sheet 「表」 whose XML is given; extra parts; `entries` more empty parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                         '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        archive.writestr("_rels/.rels",
                         '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml",
                         f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                         '<sheets><sheet name="表" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels",
                         '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        for n in range(entries):
            archive.writestr(f"xl/media/x{n}.bin", b"")
    return buffer.getvalue()


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet(rows: str, doctype: str = "") -> str:
    return f'<?xml version="1.0"?>{doctype}<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'


def zip_bomb() -> bytes:
    """64 MB of zeros packed into some 60 KB (a ratio of about 1000), beside a harmless sheet."""
    return package(sheet(f'<row r="1">{cell("A1", "工号")}</row>'), {"xl/media/image1.bin": bytes(64 << 20)})


def zip_claiming_gigabytes() -> bytes:
    """A small archive whose directory says one part unpacks to 3 GiB."""
    data = bytearray(package(sheet(f'<row r="1">{cell("A1", "工号")}</row>'), {"xl/media/big.bin": b"x"}))
    central = data.rindex(b"PK\x01\x02")                 # the last directory entry: xl/media/big.bin
    data[central + 24:central + 28] = struct.pack("<I", 3 << 30)
    return bytes(data)


def zip_of_many_entries() -> bytes:
    return package(sheet(f'<row r="1">{cell("A1", "工号")}</row>'), entries=10_001)


def entity_bomb() -> bytes:
    """The 'billion laughs': nine levels of entities of ten, a thousand million 'lol's when expanded."""
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = f'<!DOCTYPE worksheet [{"".join(levels)}]>'
    return package(sheet(f'<row r="1">{cell("A1", "&lol9;")}</row>', doctype))


def far_apart_cells() -> bytes:
    """Two cells a million rows and 200,000 columns apart: a parser that makes the grid dense needs
    terabytes."""
    return package(sheet(f'<row r="1">{cell("A1", "工号")}</row><row r="1100000">{cell("KHXX1100000", "x")}</row>'))


def too_many_rows() -> bytes:
    """A sheet reaching row 1,100,000 (Excel stops at 1,048,576)."""
    return package(sheet(f'<row r="1">{cell("A1", "工号")}</row><row r="1100000">{cell("A1100000", "x")}</row>'))


def too_many_columns() -> bytes:
    """A sheet reaching column 200,000 (Excel stops at 16,384, XFD)."""
    return package(sheet(f'<row r="1">{cell("A1", "工号")}{cell("KHXX1", "x")}</row>'))


def truncated(path: Path) -> bytes:
    """A real workbook cut in half, as an interrupted copy leaves it."""
    whole = write_xlsx(path.with_name("whole.xlsx"), {"名册": [ROSTER_HEADERS]}).read_bytes()
    path.with_name("whole.xlsx").unlink()
    return whole[: len(whole) // 2]


HTML_AS_XLS = b"<html><body><table><tr><td>\xe5\xb7\xa5\xe5\x8f\xb7</td></tr></table></body></html>"
