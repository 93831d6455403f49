"""The annotated copy sent back to a clerk, made by editing the workbook's XML: every bad cell red
with its message, nothing else changed; workbooks it cannot edit safely go through openpyxl."""
from __future__ import annotations

import datetime as dt
import io
import pickle
import subprocess
import zipfile

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font
from python_calamine import CalamineWorkbook

from pipeline.annotate import annotated_package
from pipeline.problems import Problem
from pipeline.copies import CopyJob, annotated_copy
from pipeline.settings import PROJ_ROOT
from tests.conftest import PYTHON


def clerk_workbook(path, comment: bool = False):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "一大队"
    sheet.append(["稿件编号", "报送单位", "作者工号", "标题", "报送日期"])
    sheet.append(["G1", "一大队", "JX001", "夜查", dt.datetime(2026, 11, 3)])
    sheet.append(["G2", None, "JX001", "雪天", "2026/13/01"])
    sheet.append(["G3", "一大队", None, None, dt.datetime(2026, 11, 5)])
    sheet["A1"].font = Font(bold=True)
    sheet["E2"].number_format = "yyyy-mm-dd"
    sheet["E4"].number_format = "yyyy-mm-dd"
    book.create_sheet("说明").append(["填表说明"])
    if comment:
        sheet["A2"].comment = Comment("clerk's own note", "clerk")
    book.save(path)
    return path


def problem(row: int, column: str, code: str = "E_DATE") -> Problem:
    return Problem("correspondents", "11月.xlsx", code, "一大队", row, column, "报送日期", "x", "")


def values(data: bytes) -> dict[str, list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_bad_cells_are_marked_red_with_their_message_and_nothing_else_changes(tmp_path):
    source = clerk_workbook(tmp_path / "11月.xlsx")
    problems = [problem(3, "E"), problem(3, "B", "E_REQUIRED"), problem(4, "D", "E_REQUIRED"), problem(4, "C", "E_REQUIRED"),
                problem(4, "E"), problem(7, "B", "E_REQUIRED"), Problem("correspondents", "11月.xlsx", "E_SHEET_HEADER",
                                                                         "一大队", None, "", "", "", "缺少：x")]
    made = annotated_package(source.read_bytes(), {("一大队", f"{p.column or 'A'}{p.row or 1}"): [p.message]
                                                   for p in problems})
    assert made is not None, "an openpyxl workbook is edited in place, not rebuilt"
    book = openpyxl.load_workbook(io.BytesIO(made))
    sheet = book["一大队"]
    for cell in ("E3", "B3", "D4", "C4", "E4", "B7", "A1"):
        assert sheet[cell].fill.fgColor.rgb.endswith("FF8080"), cell
        assert sheet[cell].comment is not None and sheet[cell].comment.text, cell
    assert "第3行 E列「报送日期」" in sheet["E3"].comment.text
    for cell in ("A2", "E2", "B4", "A3"):
        assert sheet[cell].comment is None and sheet[cell].fill.fill_type is None, cell
    # A marked cell keeps its own style (the date format, the header's bold), only filled red.
    assert sheet["E4"].number_format == "yyyy-mm-dd" and sheet["E4"].value == dt.datetime(2026, 11, 5)
    assert sheet["A1"].font.bold
    assert values(made) == values(source.read_bytes())
    assert [name for name in book.sheetnames] == ["一大队", "说明"]


def test_the_edited_copy_is_the_same_bytes_every_time_and_keeps_every_other_part(tmp_path):
    source = clerk_workbook(tmp_path / "11月.xlsx")
    with zipfile.ZipFile(source, "a") as package:          # a part only Excel knows, such as a macro project
        package.writestr("xl/vbaProject.bin", b"\x00macro bytes\xff")
    notes = {("一大队", "E3"): ["报送日期不是日期"]}
    first, second = annotated_package(source.read_bytes(), notes), annotated_package(source.read_bytes(), notes)
    assert first == second
    original, copy = zipfile.ZipFile(source), zipfile.ZipFile(io.BytesIO(first))
    changed = {"xl/worksheets/sheet1.xml", "xl/styles.xml", "[Content_Types].xml"}
    for name in original.namelist():
        if name not in changed:
            assert copy.read(name) == original.read(name), name
    assert set(copy.namelist()) - set(original.namelist()) == {
        "xl/comments/comment1.xml", "xl/drawings/commentsDrawing1.vml", "xl/worksheets/_rels/sheet1.xml.rels"}


def test_a_workbook_with_comments_of_its_own_is_annotated_through_openpyxl(tmp_path):
    source = clerk_workbook(tmp_path / "11月.xlsx", comment=True)
    assert annotated_package(source.read_bytes(), {("一大队", "E3"): ["x"]}) is None
    book = openpyxl.load_workbook(io.BytesIO(annotated_copy(source, [problem(3, "E")])))
    assert book["一大队"]["E3"].fill.fgColor.rgb.endswith("FF8080")
    assert book["一大队"]["A2"].comment.text == "clerk's own note"


def test_a_cell_added_to_a_row_drops_the_rows_column_span_hint(tmp_path):
    source = clerk_workbook(tmp_path / "11月.xlsx")
    with zipfile.ZipFile(source) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b'<row r="3">', b'<row r="3" spans="1:5">')
    with zipfile.ZipFile(source, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)
    made = annotated_package(source.read_bytes(), {("一大队", "B3"): ["必填"]})
    sheet = zipfile.ZipFile(io.BytesIO(made)).read("xl/worksheets/sheet1.xml")
    assert b'<row r="3">' in sheet and b"spans" not in sheet
    assert openpyxl.load_workbook(io.BytesIO(made))["一大队"]["B3"].comment.text == "必填"


def test_a_copy_job_reaches_the_renderers_process_without_it_importing_pandas(tmp_path):
    # The renderer's process starts before the run imports pandas and unpickles each job it is given:
    # a job whose class pulled pandas in made the bulletin behind it wait for that import.
    job = CopyJob(clerk_workbook(tmp_path / "11月.xlsx"), tmp_path / "退回" / "11月.xlsx", (problem(3, "E"),), "x")
    taken = subprocess.run([PYTHON, "-c", "import pickle, sys; job = pickle.loads(sys.stdin.buffer.read()); "
                            "print(job.path.name, sorted(m for m in ('pandas', 'numpy', 'pandera', 'openpyxl')"
                            " if m in sys.modules))"],
                           input=pickle.dumps(job), capture_output=True, cwd=PROJ_ROOT, check=True)
    assert taken.stdout.decode().split() == ["11月.xlsx", "[]"]
    made = job.make()
    book = openpyxl.load_workbook(made)
    assert book["一大队"]["E3"].comment is not None
