"""Reading: every file type, title rows above the header, messy headers, form recognition."""
from __future__ import annotations

import datetime as dt

import pytest
import xlwt

from pipeline.inbox import FormSheet, Unrecognised, normalise_header, recognise
from pipeline.sheets import RawSheet, UnreadableFile, read_sheets
from pipeline.inbox_files import list_files
from schemas import all_kinds
from tests.conftest import ARTICLE_HEADERS, FEEDBACK_HEADERS, write_xlsx

KINDS = list(all_kinds().values())


def test_xlsx_with_merged_title_rows_finds_the_header_and_keeps_excel_row_numbers(tmp_path):
    path = write_xlsx(tmp_path / "11月份宣传稿件统计(一大队).xlsx", {"一大队": [
        ["2026年11月宣传稿件报送登记表"],
        ["填报单位：一大队"],
        [],
        ARTICLE_HEADERS,
        ["G1", "一大队", "JX001", "夜查", dt.date(2026, 11, 3), "王队", "", "", None],
        [],
        ["G2", "一大队", "JX001", "雪天", dt.date(2026, 11, 4), "王队", "", "", None],
        ["填表人：张三　审核：李四"],
    ]}, merged={"一大队": "A1:I1"})
    [sheet] = read_sheets(path)
    form = recognise(sheet, KINDS)
    assert isinstance(form, FormSheet)
    assert form.kind.name == "articles"
    assert form.header_row == 4
    assert [row for row, _ in form.records] == [5, 7]
    assert form.letter("报送日期") == "E"


def test_legacy_xls_is_read(tmp_path):
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("名册")
    sheet.write_merge(0, 0, 0, 3, "班级信息员名册")
    for column, header in enumerate(["学号", "姓名", "班级", "职务", "任职日期"]):
        sheet.write(1, column, header)
    sheet.write(2, 0, 2024000123)
    sheet.write(2, 1, "王芳")
    sheet.write(2, 2, "2024级环境1班")
    sheet.write(2, 3, "信息员")
    sheet.write(2, 4, dt.date(2025, 9, 20), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    path = tmp_path / "名册.xls"
    book.save(str(path))
    form = recognise(read_sheets(path)[0], KINDS)
    assert form.kind.name == "roster"
    row, cells = form.records[0]
    assert row == 3
    assert cells["工号"] == 2024000123 and cells["姓名"] == "王芳"


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_gb18030_and_utf8_is_read(tmp_path, encoding):
    text = ",".join(FEEDBACK_HEADERS) + "\r\n" + "2024001,2026/11/3,教学态度,高数,老师讲课认真,,,\r\n"
    path = tmp_path / "反馈.csv"
    path.write_bytes(text.encode(encoding))
    form = recognise(read_sheets(path)[0], KINDS)
    assert form.kind.name == "feedback"
    assert form.records[0][1]["反馈内容"] == "老师讲课认真"


def test_messy_headers_are_normalised():
    assert normalise_header(" 作者\n工号 ") == "作者工号"
    assert normalise_header("报送单位*") == "报送单位"
    assert normalise_header("学号（必填）") == "学号"
    assert normalise_header("ＩＤ　号") == "ID号"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_form_kind_is_recognised_from_its_canonical_headers(kind):
    sheet = RawSheet("表", [["标题行"], kind.headers, ["x"] * len(kind.headers)])
    form = recognise(sheet, KINDS)
    assert isinstance(form, FormSheet) and form.kind.name == kind.name


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_form_kind_is_recognised_from_its_synonyms(kind):
    headers = [kind.synonyms_of(f)[-1] for f in kind.fields]
    form = recognise(RawSheet("表", [headers, ["x"] * len(headers)]), KINDS)
    assert isinstance(form, FormSheet) and form.kind.name == kind.name


def test_a_header_missing_a_required_column_names_it():
    headers = [h for h in FEEDBACK_HEADERS if h != "类别"]
    found = recognise(RawSheet("反馈", [headers, ["1"] * len(headers)]), KINDS)
    assert isinstance(found, Unrecognised)
    assert found.closest.name == "feedback" and found.missing == ["类别"]


def test_a_sheet_of_notes_is_not_a_form_and_an_empty_sheet_is_nothing():
    assert isinstance(recognise(RawSheet("说明", [["填表说明"], ["请按月报送"]]), KINDS), Unrecognised)
    assert recognise(RawSheet("空", []), KINDS) is None


def test_lock_files_hidden_files_and_other_files_are_skipped(tmp_path):
    for name in ["~$名册.xlsx", ".隐藏.xlsx", "说明.docx", "Thumbs.db", "名册.xlsx", "sub/反馈.csv"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_files(tmp_path)] == ["sub/反馈.csv", "名册.xlsx"]


@pytest.mark.parametrize("name, content, code", [
    ("网页.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "E_FILE_UNREADABLE"),
    ("坏.xlsx", b"PK\x03\x04 truncated", "E_FILE_UNREADABLE"),
    ("空.xlsx", b"", "E_FILE_EMPTY"),
])
def test_files_that_cannot_be_opened_say_why(tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as error:
        read_sheets(path)
    assert error.value.code == code


def test_xlsm_is_read_like_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "名册.xlsm", {"名册": [["工号", "姓名", "单位", "职务", "聘任日期"],
                                                       ["JX001", "王芳", "一大队", "通讯员", dt.date(2026, 1, 1)]]})
    form = recognise(read_sheets(path)[0], KINDS)
    assert form.kind.name == "roster" and form.records[0][1]["姓名"] == "王芳"


def test_links_in_the_inbox_are_listed_to_be_reported_but_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write_xlsx(outside / "秘密.xlsx", {"表": [["工号"]]})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "链接.xlsx").symlink_to(outside / "秘密.xlsx")
    (inbox / "链接目录").symlink_to(outside, target_is_directory=True)
    assert [p.name for p in list_files(inbox)] == ["链接.xlsx", "链接目录"]   # not 链接目录/秘密.xlsx
