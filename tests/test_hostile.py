"""Hostile and broken files in the inbox: each is reported by name, the run goes on, the good rows
around them count, and nothing the clerks typed becomes a formula in a workbook we write."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from msoffcrypto.format.ooxml import OOXMLFile

from tests import hostile
from tests.conftest import (ARTICLE_HEADERS, ROSTER_HEADERS, article, read_sheet, run_cli,
                            sheets_with_formulas, write_xlsx)

ROSTER = [ROSTER_HEADERS, ["JX001", "王芳", "一大队", "通讯员", "13812345678", None, None, dt.date(2026, 1, 1)]]
LONG_TITLE = "长" * 40_000
FORMULA_TITLE = '=HYPERLINK("http://example.invalid","点我")'
EMOJI_NAME = "11月 稿件 📰 二大队.xlsx"

# file name → (bytes or a writer, the code it must be reported with)
HOSTILE = {
    "压缩炸弹.xlsx": (hostile.zip_bomb(), "E_FILE_UNSAFE"),
    "声称3G.xlsx": (hostile.zip_claiming_gigabytes(), "E_FILE_UNSAFE"),
    "条目过多.xlsx": (hostile.zip_of_many_entries(), "E_FILE_UNSAFE"),
    "实体炸弹.xlsx": (hostile.entity_bomb(), "E_FILE_UNSAFE"),
    "截断.xlsx": (hostile.truncated, "E_FILE_UNREADABLE"),
    "网页.xls": (hostile.HTML_AS_XLS, "E_FILE_UNREADABLE"),
    "加密.xlsx": ("encrypted", "E_FILE_ENCRYPTED"),
    "空文件.xlsx": (b"", "E_FILE_EMPTY"),
    "远端单元格.xlsx": (hostile.far_apart_cells(), "E_FILE_TOO_LARGE"),
    "110万行.xlsx": (hostile.too_many_rows(), "E_SHEET_TOO_LARGE"),
    "20万列.xlsx": (hostile.too_many_columns(), "E_SHEET_TOO_LARGE"),
    "链接.xlsx": ("link", "E_FILE_LINK"),
}


def with_control_characters(path):
    """Excel keeps control characters typed into a cell as _xHHHH_ escapes; openpyxl cannot write them."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts = {name: data.replace(b"CTRL01", b"_x0001_").replace(b"CTRL07", b"_x0007_").replace(b"CTRL1B", b"_x001B_")
             for name, data in parts.items()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def as_text(path, sheet, ref):
    book = openpyxl.load_workbook(path)
    book[sheet][ref].data_type = "s"
    book.save(path)


def plant(folder, name, content, outside):
    path = folder / name
    if content == "encrypted":
        plain = write_xlsx(outside / "明文.xlsx", {"名册": ROSTER})
        out = io.BytesIO()
        with open(plain, "rb") as handle:
            OOXMLFile(handle).encrypt("口令", out)
        path.write_bytes(out.getvalue())
    elif content == "link":
        path.symlink_to(write_xlsx(outside / "秘密.xlsx", {"名册": ROSTER}))
    elif callable(content):
        path.write_bytes(content(path))
    else:
        path.write_bytes(content)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    folder, outside = root / "inbox" / "correspondents", root / "outside"
    folder.mkdir(parents=True)
    outside.mkdir()
    write_xlsx(folder / "名册.xlsx", {"名册": ROSTER})
    write_xlsx(folder / EMOJI_NAME, {"一大队": [ARTICLE_HEADERS, article("G1"), article("G2", title=LONG_TITLE),
                                              article("G3", title="标题CTRL01带CTRL07控制CTRL1B字符"),
                                              article("G4", title=FORMULA_TITLE), article("G5", submitted="2026/13/01")]})
    as_text(folder / EMOJI_NAME, "一大队", "D5")       # typed with a leading apostrophe: text, not a formula
    with_control_characters(folder / EMOJI_NAME)
    for name, (content, _) in HOSTILE.items():
        plant(folder, name, content, outside)
    before = {p.name: (p.lstat().st_mtime_ns, p.read_bytes() if not p.is_symlink() else b"") for p in folder.iterdir()}
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(root / "inbox"), "--out", str(root / "out"),
                     "--store", str(root / "store.sqlite"), "--settings", str(root / "none.toml"))
    after = {p.name: (p.lstat().st_mtime_ns, p.read_bytes() if not p.is_symlink() else b"") for p in folder.iterdir()}
    return {"result": result, "out": root / "out" / "correspondents" / "2026-11", "before": before, "after": after}


def test_a_run_over_hostile_files_finishes_and_says_which_files_were_bad(hostile_run):
    result = hostile_run["result"]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "memory allocation" not in result.stderr
    report = read_sheet(hostile_run["out"] / "校验报告.xlsx", "校验报告")
    found = {(row.文件, row.代码) for row in report.itertuples()}
    for name, (_, code) in HOSTILE.items():
        assert (name, code) in found, name


def test_the_good_rows_beside_hostile_files_are_counted(hostile_run):
    articles = read_sheet(hostile_run["out"] / "统计表.xlsx", "稿件")
    assert sorted(articles["稿件编号"]) == ["G1", "G2", "G3", "G4"]       # G5 has a bad date: sent back
    files = read_sheet(hostile_run["out"] / "统计表.xlsx", "文件").set_index("文件")
    assert files.loc[EMOJI_NAME, "有效记录"] == 4 and files.loc[EMOJI_NAME, "退回行数"] == 1
    assert (hostile_run["out"] / "退回" / EMOJI_NAME).is_file()


def test_a_40000_character_cell_is_cut_to_what_excel_holds_and_control_characters_dropped(hostile_run):
    book = CalamineWorkbook.from_path(str(hostile_run["out"] / "统计表.xlsx"))     # openpyxl would cut it itself
    rows = book.get_sheet_by_name("稿件").to_python()
    column = rows[0].index("标题")
    assert len(next(row[column] for row in rows if row[0] == "G2")) == 32_767
    articles = read_sheet(hostile_run["out"] / "统计表.xlsx", "稿件").set_index("稿件编号")
    assert articles.loc["G3", "标题"] == "标题带控制字符"
    assert articles.loc["G4", "标题"] == FORMULA_TITLE


def test_no_workbook_the_run_wrote_holds_a_formula(hostile_run):
    written = sorted(hostile_run["out"].rglob("*.xlsx"))
    assert any(p.parent.name == "退回" for p in written)
    for path in written:
        assert sheets_with_formulas(path) == [], path.name


def test_the_inbox_files_keep_their_bytes_and_times(hostile_run):
    assert hostile_run["before"] == hostile_run["after"]


def test_a_csv_sent_back_keeps_formula_like_text_as_text_and_drops_control_characters(tmp_path):
    folder = tmp_path / "inbox" / "correspondents"
    folder.mkdir(parents=True)
    write_xlsx(folder / "名册.xlsx", {"名册": ROSTER})
    rows = [ARTICLE_HEADERS, ["G1", "一大队", "JX001", '=1+1', "2026-11-03", "王队", "", "", ""],
            ["G2", "一大队", "JX001", "标题\x01", "2026/13/01", "王队", "", "", ""]]
    (folder / "11月.csv").write_text("\n".join(",".join(row) for row in rows), encoding="utf-8")
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out",
                     str(tmp_path / "out"), "--store", str(tmp_path / "store.sqlite"))
    assert result.returncode == 1, result.stderr
    copy = tmp_path / "out" / "correspondents" / "2026-11" / "退回" / "11月.xlsx"
    with zipfile.ZipFile(copy) as archive:
        assert b"=1+1" in archive.read("xl/worksheets/sheet1.xml")
    assert sheets_with_formulas(copy) == []
    sheet = openpyxl.load_workbook(copy).active
    assert sheet["D2"].value == "=1+1" and sheet["D3"].value == "标题"


@pytest.mark.parametrize("prolog", [
    "<!-- " + "填充" * 20_000 + " -->",                 # the DOCTYPE pushed far from the start
    "<?pi x?>\n<!-- a -->\n",
])
def test_an_entity_definition_behind_a_long_prolog_is_refused_too(tmp_path, prolog):
    from pipeline.sheets import UnreadableFile, read_sheets

    xml = hostile.sheet(f'<row r="1">{hostile.cell("A1", "&lol1;")}</row>',
                        prolog + '<!DOCTYPE worksheet [<!ENTITY lol1 "lol">]>')
    path = tmp_path / "实体.xlsx"
    path.write_bytes(hostile.package(xml))
    with pytest.raises(UnreadableFile) as refused:
        read_sheets(path)
    assert refused.value.code == "E_FILE_UNSAFE"


def test_a_file_that_kills_its_reader_costs_only_itself_and_the_readers_leave_with_the_run(tmp_path):
    import multiprocessing

    from pipeline.ingest import read_files
    from pipeline.settings import load_settings, programme_for

    jobs = []
    for number in range(5):        # readers read one file after another: the killer sits among them
        path = tmp_path / f"{number}.xlsx"
        if number == 2:
            path.write_bytes(hostile.far_apart_cells())
        else:
            write_xlsx(path, {"一大队": [ARTICLE_HEADERS, article(f"G{number}")]})
        jobs.append((path, path.name))
    readings = list(read_files(jobs, programme_for("correspondents", load_settings(None))))
    assert [[p.code for p in r.problems] for r in readings][2] == ["E_FILE_TOO_LARGE"]
    for number in (0, 1, 3, 4):
        assert len(readings[number].records["articles"]) == 1 and not readings[number].problems
    assert multiprocessing.active_children() == []
