"""Every .xlsx the project writes. A value a clerk typed is always written as text, never a formula."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.annotate import problem_notes
from pipeline.outputs import stable_zip, write_atomically
from pipeline.xlsx import column_width, workbook_bytes

if TYPE_CHECKING:
    from openpyxl import Workbook

# openpyxl is imported where a workbook is edited (annotated copies, blank forms), not by every run
# that imports this module: a monthly run writes its own workbooks with pipeline.xlsx.

FIXED_TIME = dt.datetime(2000, 1, 1)
HEADER_RGB, PROBLEM_RGB = "DDEBF7", "FF8080"


def saved_bytes(book: Workbook) -> bytes:
    """The workbook as .xlsx bytes, the same for the same content (no save time, fixed zip times)."""
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue())


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame], title: str = "", cache=None, known=None) -> Path:
    """Write the workbook (pipeline.xlsx: one sheet per frame) atomically; returns its path. With a
    cache (Store.stretch_cache), the stretches of a big workbook's sheets that did not change are
    taken from it instead of being made again; `known`: sheet → xlsx.KnownRows of its long list."""
    return write_atomically(path, workbook_bytes(sheets, title, cache=cache, known=known))


def annotated_bytes(book: Workbook, problems: list) -> bytes:
    """The clerk's workbook with each bad cell filled red and the message as the cell's comment."""
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    for (sheet, cell), messages in problem_notes(problems, book.sheetnames).items():
        target = book[sheet][cell]
        target.fill = PatternFill("solid", fgColor=PROBLEM_RGB)
        comment = Comment("\n".join(messages), "校验")
        comment.width, comment.height = 320, 40 + 40 * len(messages)
        target.comment = comment
    return saved_bytes(book)


def blank_form_bytes(kind, values_of) -> bytes:
    """A blank template of a form kind: canonical headers, frozen, a help comment on each header,
    a drop-down for every enum (values_of(field) gives its values), date formats and widths set."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = kind.title.replace("/", "、")[:31]
    book.properties.created = book.properties.modified = FIXED_TIME
    book.properties.title = kind.title
    formats = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "money": "0.00", "int": "0",
               "id": "@", "text": "@"}
    for index, field in enumerate(kind.fields, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(1, index, field.header)
        cell.font = Font(bold=True, color="C00000" if field.required else "000000")
        cell.fill = PatternFill("solid", fgColor=HEADER_RGB)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        help_lines = [("必填" if field.required else "选填") + ("（列必须保留）" if field.lenient else "")]
        if field.synonyms:
            help_lines.append("也可写作：" + "、".join(field.synonyms))
        values = values_of(field)
        if values:
            help_lines.append("可选：" + "、".join(values))
            validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                                        showErrorMessage=True, errorTitle="不是可选值",
                                        error="请从下拉列表中选择：" + "、".join(values))
            validation.add(f"{letter}2:{letter}1001")
            sheet.add_data_validation(validation)
        if field.type in ("date", "datetime"):
            help_lines.append("格式：2026-11-03" + (" 09:30" if field.type == "datetime" else ""))
        if field.help:
            help_lines.append(field.help)
        comment = Comment("\n".join(help_lines), "填写说明")
        comment.width, comment.height = 260, 30 + 22 * len(help_lines)
        cell.comment = comment
        for row in range(2, 1002):
            sheet.cell(row, index).number_format = formats.get(field.type, "General")
        sheet.column_dimensions[letter].width = max(12, column_width(field.header, []) + 4)
    sheet.freeze_panes = "A2"
    return saved_bytes(book)
