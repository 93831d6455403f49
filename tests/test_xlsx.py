"""The streaming writer of the statistics workbooks: real values, never a formula, stable bytes."""
import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd

from pipeline.xlsx import workbook_bytes

FRAME = pd.DataFrame({
    "工号": ["=1+1", "+SUM(A1)", "-3", "@x", "普通", "a\x07b"],
    "反馈数": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
    "准时率": [0.5, 1.0, float("nan"), 0.25, 0.0, 0.125],
    "日期": pd.to_datetime(["2026-11-03", "2026-11-03 09:30", None, "2026-11-04", "2026-11-05", "2026-11-06"],
                         format="mixed"),
    "杂项": [dt.date(2026, 11, 3), 3.5, None, "文字", True, pd.Timestamp("2026-11-03 08:15")],
})


def test_texts_that_look_like_formulas_stay_texts_and_no_sheet_has_a_formula():
    data = workbook_bytes({"表": FRAME})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = book["表"]
    assert [cells.cell(r, 1).value for r in range(2, 8)] == ["=1+1", "+SUM(A1)", "-3", "@x", "普通", "ab"]
    assert all(cells.cell(r, 1).data_type == "s" for r in range(2, 8))
    assert cells.cell(2, 1).quotePrefix and not cells.cell(6, 1).quotePrefix


def test_numbers_dates_and_shares_are_real_values_with_their_formats():
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"表": FRAME})))
    cells = book["表"]
    assert cells["B2"].value == 1 and cells["B4"].value is None
    assert cells["C3"].value == 1 and cells["C3"].number_format == "0.0%"
    assert cells["D2"].value == dt.datetime(2026, 11, 3) and cells["D2"].number_format == "yyyy-mm-dd"
    assert cells["D3"].value == dt.datetime(2026, 11, 3, 9, 30) and cells["D3"].number_format == "yyyy-mm-dd hh:mm"
    assert [cells.cell(r, 5).value for r in range(2, 8)] == [dt.datetime(2026, 11, 3), 3.5, None, "文字", "是",
                                                            dt.datetime(2026, 11, 3, 8, 15)]
    assert cells.freeze_panes == "A2" and cells["A1"].font.b


def test_the_same_frames_give_the_same_bytes_and_sheet_names_are_made_valid():
    assert workbook_bytes({"表": FRAME}, "标题") == workbook_bytes({"表": FRAME}, "标题")
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"a/b": FRAME, "x" * 40: FRAME, "空": pd.DataFrame()})))
    assert book.sheetnames == ["a_b", "x" * 31, "空"]


def test_a_sheet_longer_than_one_chunk_keeps_every_row_in_place(tmp_path):
    from pipeline.xlsx import ROWS_PER_CHUNK

    rows = ROWS_PER_CHUNK * 2 + 7
    frame = pd.DataFrame({"编号": [f"N{i}" for i in range(rows)], "数": range(rows)})
    path = tmp_path / "长.xlsx"
    path.write_bytes(workbook_bytes({"长": frame}))
    back = pd.read_excel(path, engine="calamine")
    assert len(back) == rows and back["编号"].tolist() == frame["编号"].tolist()
    assert back["数"].tolist() == list(range(rows))


def test_crc32_combine_agrees_with_zlib():
    import os
    import zlib

    from pipeline.xlsx import crc32_combine

    for first, second in [(b"", b"x"), (b"abc", b""), (os.urandom(999), os.urandom(70_001))]:
        assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(first + second)


def test_a_big_workbook_deflated_in_two_processes_is_the_same_bytes_and_reads_back():
    import io
    import zipfile

    import pandas as pd
    from python_calamine import CalamineWorkbook

    from pipeline.xlsx import workbook_bytes

    rows = 65_000
    big = pd.DataFrame({"工单号": [f"GD{i:06d}" for i in range(rows)], "金额": [i / 4 for i in range(rows)],
                        "完工时间": pd.date_range("2026-11-01 08:00", periods=rows, freq="min")})
    sheets = {"工单": big, "空": pd.DataFrame(columns=["甲"]), "小": big.head(3)}
    together = workbook_bytes(sheets, parallel=False)
    assert workbook_bytes(sheets, parallel=True) == together
    assert zipfile.ZipFile(io.BytesIO(together)).testzip() is None
    book = CalamineWorkbook.from_filelike(io.BytesIO(together))
    read = book.get_sheet_by_name("工单").to_python()
    assert len(read) == rows + 1 and read[-1][0] == f"GD{rows - 1:06d}" and read[-1][1] == (rows - 1) / 4
    assert book.get_sheet_by_name("空").to_python() == [["甲"]]
