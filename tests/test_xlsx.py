"""The streaming writer of the statistics workbooks: real values, never a formula, stable bytes."""
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import pandas as pd

from python_calamine import CalamineWorkbook

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


def test_white_space_at_the_ends_and_inside_a_text_is_kept_and_only_such_texts_are_marked():
    texts = [" 前导", "尾随 ", "两个  空格", "换\n行", "制\t表", "\u3000全角", "普通 文字"]
    for rows in (len(texts), 25_000):            # a short table, and a long list written in stretches
        frame = pd.DataFrame({"文字": (texts * (rows // len(texts) + 1))[:rows]})
        data = workbook_bytes({"表": frame})
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        assert sheet.count('xml:space="preserve"') == 1 + sum(1 for t in frame["文字"] if t != "普通 文字")
        book = openpyxl.load_workbook(io.BytesIO(data))
        assert [row[0] for row in book["表"].iter_rows(min_row=2, values_only=True)] == frame["文字"].tolist()
        calamine = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("表").to_python()
        assert [row[0] for row in calamine[1:]] == frame["文字"].tolist()


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


def test_a_part_joined_from_stretches_deflated_apart_inflates_to_their_bytes_with_their_crc():
    import os
    import zlib

    from pipeline.xlsx import _deflated, _joined

    pieces = [os.urandom(999), b"", ("文字，" * 30_000).encode(), b"<row/>" * 7]
    part = _joined("x.xml", [_deflated([piece], last=n == len(pieces) - 1) for n, piece in enumerate(pieces)])
    whole = b"".join(pieces)
    assert part.crc == zlib.crc32(whole) and part.size == len(whole)
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(part.packed) == whole and inflater.eof


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


def long_list(rows: int) -> pd.DataFrame:
    numbers = [(n * 7919) % 1000 / 7 for n in range(rows)]
    return pd.DataFrame({
        "工单号": [f"GD{n:06d}" for n in range(rows)],
        "问题": [None if n % 3 else "迟到；交卡超时" for n in range(rows)],
        "完工时间": pd.Timestamp("2026-11-01 08:00") + pd.to_timedelta([n * 7 for n in range(rows)], unit="min"),
        "实收金额": [None if n % 5 == 0 else v for n, v in enumerate(numbers)],
        "次数": pd.array([None if n % 4 == 0 else n % 9 for n in range(rows)], dtype="Int64"),
    })


def test_a_long_list_is_written_without_cell_addresses_and_reads_back_the_same():
    frame = long_list(45_000)
    data = workbook_bytes({"工单": frame})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<row r="2"' not in sheet and "<c/>" in sheet
    read = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("工单").to_python()
    assert read[0] == list(frame.columns) and len(read) == len(frame) + 1
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    for n, row in enumerate(book["工单"].iter_rows(min_row=2, values_only=True)):
        expected = frame.iloc[n]
        assert row[0] == expected["工单号"] and row[1] == (None if pd.isna(expected["问题"]) else expected["问题"]), n
        assert row[2] == expected["完工时间"].to_pydatetime(), n
        assert (row[3] is None) == pd.isna(expected["实收金额"]) and (row[4] is None) == pd.isna(expected["次数"]), n
        if row[3] is not None:
            assert row[3] == expected["实收金额"]


class Remembered(dict):
    """A cache as Store.stretch_cache gives one, in memory."""

    def found(self, digests):
        return {d: self[d] for d in digests if d in self}

    def keep(self, stretches):
        self.clear()
        self.update(stretches)


def test_a_rerun_makes_again_only_the_stretches_whose_rows_changed(monkeypatch):
    import pipeline.xlsx as xlsx

    frame = long_list(120_000)
    cache = Remembered()
    first = workbook_bytes({"工单": frame}, cache=cache, parallel=False)
    assert first == workbook_bytes({"工单": frame}, parallel=False)
    stretches = len(cache)
    # One row gone near the top, one value changed far below: the rows after them all move up one.
    changed = frame.drop(index=[50]).reset_index(drop=True)
    changed.loc[100_000, "问题"] = "迟到"
    expected = workbook_bytes({"工单": changed}, parallel=False)
    made = []
    real = xlsx._stretch
    monkeypatch.setattr(xlsx, "_stretch", lambda task: (made.append(task), real(task))[1])
    assert workbook_bytes({"工单": changed}, cache=cache, parallel=False) == expected
    assert stretches >= 4 and 2 <= len(made) < stretches
    assert sum(stop - start for _, start, stop, _ in made) < len(changed) / 2
    # Each change touches at most the two stretches around it, each at most 2 × STRETCH_ROWS long.
    assert sum(stop - start for _, start, stop, _ in made) <= 2 * 2 * 2 * xlsx.STRETCH_ROWS


def test_a_long_list_known_by_its_rows_records_is_the_same_workbook_and_remade_only_where_they_changed(monkeypatch):
    import numpy as np

    import pipeline.xlsx as xlsx
    from pipeline.xlsx import KnownRows

    frame = long_list(120_000)
    digests = np.array([hash(("card", n)) for n in range(len(frame))], dtype=np.int64)
    known = {"工单": KnownRows(digests, "code and settings")}
    cache = Remembered()
    first = workbook_bytes({"工单": frame}, cache=cache, parallel=False, known=known)
    assert first == workbook_bytes({"工单": frame}, parallel=False, known=known)
    plain = workbook_bytes({"工单": frame}, parallel=False)
    read = [CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("工单").to_python()
            for data in (first, plain)]
    assert read[0] == read[1]                           # the same cells; only the cuts between stretches differ
    stretches = len(cache)
    made = []
    real = xlsx._stretch
    monkeypatch.setattr(xlsx, "_stretch", lambda task: (made.append(task), real(task))[1])
    # One record gone, one changed (a new digest): only the stretches around them are made again.
    changed = frame.drop(index=[50]).reset_index(drop=True)
    changed.loc[100_000, "问题"] = "迟到"
    changed_digests = np.delete(digests, 50)
    changed_digests[100_000] = hash(("card", "changed"))
    known_after = {"工单": KnownRows(changed_digests, "code and settings")}
    expected = workbook_bytes({"工单": changed}, parallel=False, known=known_after)
    made.clear()
    assert workbook_bytes({"工单": changed}, cache=cache, parallel=False, known=known_after) == expected
    assert stretches >= 4 and 2 <= len(made) < stretches
    assert sum(stop - start for _, start, stop, _ in made) <= 2 * 2 * 2 * xlsx.STRETCH_ROWS
    # Other code or settings (the salt), or other columns: nothing is taken from the cache.
    made.clear()
    workbook_bytes({"工单": changed}, cache=cache, parallel=False, known={"工单": KnownRows(changed_digests, "new code")})
    assert len(made) == len(cache)
    made.clear()
    workbook_bytes({"工单": changed.rename(columns={"问题": "代码"})}, cache=cache, parallel=False,
                   known={"工单": KnownRows(changed_digests, "new code")})
    assert len(made) == len(cache)


def test_a_long_list_of_mixed_values_reads_back_cell_for_cell():
    rows = 45_000
    mixed, written = [1, 1.0, True, "1", None, 2.5], [1, 1, "是", "1", None, 2.5]
    texts = ["a&b", "<x>", "=SUM(A1)", "普通", None]
    moments = [pd.Timestamp("2026-11-03"), pd.Timestamp("2026-11-03 09:30"), pd.NaT]
    frame = pd.DataFrame({"混合": [mixed[n % 6] for n in range(rows)], "文字": [texts[n % 5] for n in range(rows)],
                          "时间": [moments[n % 3] for n in range(rows)], "是否": [n % 2 == 0 for n in range(rows)],
                          "占比": [n % 7 / 7 for n in range(rows)]})
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"表": frame}, parallel=False)), read_only=True)
    for n, row in enumerate(book["表"].iter_rows(min_row=2, values_only=True)):
        assert row[0] == written[n % 6] and type(row[0]) is type(written[n % 6]), n
        assert row[1] == texts[n % 5] and row[3] == ("是" if n % 2 == 0 else "否"), n
        assert row[2] == (None if n % 3 == 2 else moments[n % 3].to_pydatetime()), n
        assert row[4] == pytest.approx(n % 7 / 7), n
    assert n == rows - 1


EDGE_TEXTS = ["GD00000001", "a&b", "<x>", "普通", "=SUM(A1)", "-3", "+1", "@x", " 前", "后 ", "两  空", "制\t表",
              "换\n行", "回\r车", "\x01控制", "\ufffe", "全角　空格", "　", "零宽\u200b", "x" * 40_000]


@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(EDGE_TEXTS)), min_size=1, max_size=30, unique=True))
@settings(max_examples=300, deadline=None)
def test_texts_made_into_cells_in_one_go_are_the_cells_made_one_by_one(texts):
    from pipeline.xlsx import _plain_text_cells, _text_body

    made = _plain_text_cells(texts)
    if made is not None:
        assert made == [f"<c{_text_body(text)}".encode("utf-8") for text in texts]


def test_a_column_of_plain_texts_is_made_in_one_go_and_any_other_one_by_one():
    from pipeline.xlsx import _plain_text_cells

    assert _plain_text_cells(["GD00000001", "a&b", "<x>", "普通", "中间 空格", "回\r车"]) is not None
    for odd in ["=SUM(A1)", "-3", "+1", "@x", " 前", "后 ", "两  空", "制\t表", "换\n行", "\x01控制", "\ufffe", "　",
                "", "x" * 40_000]:
        assert _plain_text_cells(["GD00000001", odd]) is None, odd
    assert _plain_text_cells(["GD00000001", 1]) is None


def _width_cell_by_cell(header, values):
    """column_width as first written: every value looked at, one character at a time."""
    import math

    longest = 4
    for value in [header, *values]:
        text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        if isinstance(value, pd.Timestamp):
            text = "2026-11-03 09:30" if value != value.normalize() else "2026-11-03"
        longest = max(longest, sum(2 if ord(ch) > 0x2E80 else 1 for ch in text[:60]))
    return min(longest + 2, 60)


@given(st.text(max_size=8), st.lists(st.one_of(
    st.none(), st.text(alphabet="aZ9 —…é网点工程师", max_size=70), st.integers(-10 ** 12, 10 ** 12), st.booleans(),
    st.floats(), st.just(1), st.just(1.0), st.just(True),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(pd.Timestamp)), max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_column_is_as_wide_as_its_widest_value_each_distinct_value_measured_once(header, values):
    from pipeline.xlsx import column_width

    assert column_width(header, values) == _width_cell_by_cell(header, values)


@given(st.text(alphabet=st.sampled_from("&<>\"'a中 \n;#x") | st.characters(), max_size=40))
def test_xml_text_escapes_and_unescapes_as_xml_sax_saxutils_does(text):
    from xml.sax import saxutils

    from pipeline.xml_text import escape, unescape

    assert escape(text) == saxutils.escape(text)
    assert escape(text, {'"': "&quot;"}) == saxutils.escape(text, {'"': "&quot;"})
    entities = {"&quot;": '"', "&apos;": "'"}
    assert unescape(text, entities) == saxutils.unescape(text, entities)
    assert unescape(escape(text)) == text


def test_a_run_that_writes_imports_no_http_client_to_escape_xml():
    # xml.sax.saxutils imports urllib.request and http.client (and ssl, email): ~11 ms of every run.
    import subprocess
    import sys

    from pipeline.settings import PROJ_ROOT

    done = subprocess.run([sys.executable, "-c", "import sys; import pipeline.monthly; "
                           "print(sorted(m for m in ('urllib.request', 'http.client') if m in sys.modules))"],
                          cwd=PROJ_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
