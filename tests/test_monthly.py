"""End to end: the committed sample inbox through `python -m pipeline monthly` into documents."""
from __future__ import annotations


import re

import pandas as pd
import pytest
from pypdf import PdfReader

from pipeline.settings import PRESET_NAMES, PROJ_ROOT
from tests.conftest import ARTICLE_HEADERS, article, read_sheet, run_cli, write_xlsx


def test_the_sample_inbox_holds_every_programme():
    assert sorted(p.name for p in (PROJ_ROOT / "data" / "inbox").iterdir() if p.is_dir()) == sorted(PRESET_NAMES)


@pytest.mark.parametrize("programme", PRESET_NAMES)
def test_the_sample_run_writes_each_programmes_pdf_and_workbooks(sample_run, programme):
    folder = sample_run["out"] / programme / "2026-11"
    reader = PdfReader(folder / "通报.pdf")
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert "通报" in text and re.search(r"〔2026〕[0-9]+号", text)
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    counts = read_sheet(folder / "统计表.xlsx", "记录数")
    assert counts["累计有效记录"].sum() > 0
    assert pd.api.types.is_integer_dtype(counts["本期记录"])
    read_sheet(folder / "校验报告.xlsx", "校验报告")


def test_the_sample_run_reports_its_planted_bad_rows_and_exits_1(sample_run):
    assert sample_run["status"] == 1
    report = read_sheet(sample_run["out"] / "correspondents" / "2026-11" / "校验报告.xlsx", "校验报告")
    planted = report[report["工作表"] == "三大队"]
    assert set(planted["代码"]) == {"E_DATE", "E_REQUIRED"}
    assert all(planted["问题"].str.startswith("工作表「三大队」第"))


def test_the_sample_figures_count_the_records_of_the_month(sample_run):
    counts = read_sheet(sample_run["out"] / "correspondents" / "2026-11" / "统计表.xlsx", "记录数")
    articles = counts.set_index("表格种类").loc["稿件报送登记表"]
    assert articles["本期记录"] < articles["累计有效记录"]


def test_a_second_run_of_the_same_inbox_reads_no_file_again(sample_run, tmp_path):
    from pipeline import timing
    from pipeline.__main__ import main

    timing.taken()
    status = main(["monthly", "--period", "2026-11", "--inbox", str(sample_run["inbox"]), "--out",
                   str(tmp_path / "out"), "--store", str(sample_run["store"]),
                   "--settings", str(tmp_path / "none.toml")])
    assert status == 1  # the planted bad rows are still in the inbox
    assert "read" not in timing.taken()                # every file was known to the store
    files = read_sheet(tmp_path / "out" / "community" / "2026-11" / "统计表.xlsx", "文件")
    assert set(files["状态"]) == {"已接收"} and files["有效记录"].sum() > 0


def test_a_clean_inbox_exits_0(tmp_path):
    write_xlsx(tmp_path / "inbox" / "correspondents" / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1")]})
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out",
                     str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "x"))
    assert result.returncode == 0, result.stderr
    assert "correspondents" in result.stdout and "通报.pdf" in result.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--period", "2026-13"], "2026-11"),
    (["--period", "十一月"], "2026-11"),
])
def test_a_wrong_period_exits_2_and_writes_nothing(tmp_path, arguments, message):
    (tmp_path / "inbox" / "correspondents").mkdir(parents=True)
    result = run_cli("monthly", *arguments, "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                     "--store", str(tmp_path / "s.sqlite"))
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.sqlite").exists()


def test_an_inbox_folder_that_is_no_programme_exits_2_naming_it(tmp_path):
    (tmp_path / "inbox" / "宣传科").mkdir(parents=True)
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out",
                     str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"))
    assert result.returncode == 2 and "宣传科" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["monthly", "evaluation", "templates", "daily", "certificates"])
def test_every_command_explains_itself_in_its_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "例" in result.stdout or "生成" in result.stdout


def test_a_file_with_bad_cells_comes_back_annotated_and_the_inbox_file_is_untouched(tmp_path):
    import openpyxl

    from pipeline.__main__ import main

    folder = tmp_path / "inbox" / "correspondents"
    source = write_xlsx(folder / "11月.xlsx", {"一大队": [["2026年11月稿件"], ARTICLE_HEADERS, article("G1"),
                                                       article("G2", submitted="2026/13/01")]})
    (folder / "12月.csv").write_bytes((",".join(ARTICLE_HEADERS) + "\r\nG3,一大队,JX001,标题,2026-11-31,王队,,,\r\n")
                                      .encode("gb18030"))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    status = main(["monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                   "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml")])
    assert status == 1
    returned = tmp_path / "out" / "correspondents" / "2026-11" / "退回"
    book = openpyxl.load_workbook(returned / "11月.xlsx")
    cell = book["一大队"]["E4"]
    assert "第4行 E列「报送日期」" in cell.comment.text and cell.fill.fgColor.rgb.endswith("FF8080")
    assert book["一大队"]["E3"].comment is None
    csv_copy = openpyxl.load_workbook(returned / "12月.xlsx")
    assert "2026-11-31" in csv_copy.worksheets[0]["E2"].comment.text
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before

    write_xlsx(source, {"一大队": [ARTICLE_HEADERS, article("G1"), article("G2")]})
    (folder / "12月.csv").unlink()
    assert main(["monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                 "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml")]) == 0
    assert not any(returned.rglob("*.xlsx")), "a corrected file's old annotated copy is removed"


def test_a_corrupt_and_an_encrypted_file_are_reported_while_the_run_goes_on(tmp_path):
    from pipeline.__main__ import main
    from tests.test_problem_catalogue import encrypted_workbook

    folder = tmp_path / "inbox" / "correspondents"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1"), article("G2")]})
    (folder / "损坏.xlsx").write_bytes(b"PK\x03\x04\x14\x00broken")
    encrypted_workbook(folder / "加密.xlsx")
    status = main(["monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                   "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml")])
    assert status == 1
    folder_out = tmp_path / "out" / "correspondents" / "2026-11"
    report = read_sheet(folder_out / "校验报告.xlsx", "校验报告").set_index("文件")
    assert report.loc["损坏.xlsx", "代码"] == "E_FILE_UNREADABLE"
    assert report.loc["加密.xlsx", "代码"] == "E_FILE_ENCRYPTED"
    counts = read_sheet(folder_out / "统计表.xlsx", "记录数").set_index("表格种类")
    assert counts.loc["稿件报送登记表", "本期记录"] == 2
    assert (folder_out / "通报.pdf").stat().st_size > 0


@pytest.mark.parametrize("arguments, words", [
    (["evaluation"], "须给出 --year 或 --term 之一"),
    (["evaluation", "--year", "2026", "--term", "2026秋"], "不能同时使用"),
    (["monthly", "--bogus"], "不认识的参数 --bogus"),
    (["frobnicate"], "没有“frobnicate”这个命令"),
])
def test_a_mistyped_command_is_explained_in_chinese(arguments, words):
    result = run_cli(*arguments)
    assert result.returncode == 2 and words in result.stderr


def test_make_takes_the_term_only_from_its_command_line_not_from_the_terminals_TERM():
    import os
    import subprocess

    def dry_run(*arguments):
        return subprocess.run(["make", "-n", "evaluation", *arguments], capture_output=True, text=True,
                              cwd=PROJ_ROOT, env={**os.environ, "TERM": "xterm-256color"}).stdout

    assert "--term" not in dry_run("YEAR=2026") and "--year 2026" in dry_run("YEAR=2026")
    assert "--term 2026秋" in dry_run("TERM=2026秋")
