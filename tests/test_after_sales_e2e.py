"""The after-sales programme end to end: the sample month, personal data kept out of PDFs, the daily
reconciliation command, and a card completed by a later file."""
from __future__ import annotations

import re

import openpyxl
from pypdf import PdfReader

from tests.conftest import SAMPLE_INBOX, read_sheet, run_cli, write_xlsx
from tests.test_figures_e2e import raw_rows

CARD_HEADERS = ["工单号", "网点", "服务工程师", "用户姓名", "联系电话", "用户地址", "产品型号", "购买日期", "故障现象",
                "服务方式", "预约时间", "到达时间", "完工时间", "修复状态", "回访时间", "回访结果", "用户评价", "用户签字",
                "保修状态", "标准收费", "保修证收费", "实收金额", "交回时间", "上报时间"]


def pdf_text(path) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(path).pages)


def sample_cards_of_november():
    for path in sorted((SAMPLE_INBOX / "after-sales").rglob("*11月服务任务监督卡.xlsx")):
        for _, row in raw_rows(path, 2):
            yield row


def test_the_sample_months_cards_are_all_in_the_工单_sheet_with_their_codes(sample_run):
    folder = sample_run["out"] / "after-sales" / "2026-11"
    expected = {row["工单号"] for row in sample_cards_of_november() if row["到达时间"] or row["服务方式"] != "上门"}
    book = openpyxl.load_workbook(folder / "统计表.xlsx")
    sheet = book["工单"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["工单号", "网点", "服务工程师", "问题"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in rows} == expected                 # the planted card without visit times is sent back
    assert any(r[3] is None for r in rows) and any(r[3] and "；" in r[3] for r in rows)
    outlets = read_sheet(folder / "统计表.xlsx", "网点")
    assert list(outlets.columns[:6]) == ["网点", "工单数", "准时率", "回访合格率", "满意率", "交卡超时数"]
    assert outlets["工单数"].sum() == len(expected)
    assert book["网点"]["C2"].number_format == "0.0%" and isinstance(book["网点"]["C2"].value, float)


def test_no_customers_name_phone_or_address_appears_in_the_bulletin(sample_run):
    text = pdf_text(sample_run["out"] / "after-sales" / "2026-11" / "通报.pdf")
    cards = list(sample_cards_of_november())
    for row in cards:
        if row["用户姓名"] and len(row["用户姓名"]) >= 3:
            assert row["用户姓名"] not in text
        if row["联系电话"]:
            assert str(row["联系电话"]) not in text
    assert not re.search(r"1[0-9]{10}", text) and "长安路" not in text
    assert "准时率" in text and "需再次上门" in text


def card(number, completed="2026-11-03 10:00", **more):
    values = {"工单号": number, "网点": "东风网点", "服务工程师": "刘师傅", "用户姓名": "王秘密", "联系电话": "13912345678",
              "用户地址": "前进区保密路1号", "产品型号": "BCD-216", "购买日期": "2024-05-01", "故障现象": "不制冷",
              "服务方式": "电话咨询", "完工时间": completed, "修复状态": "已修复", "用户评价": "满意", "用户签字": "是",
              "保修状态": "保内", "实收金额": 0, "交回时间": "2026-11-03 11:00", "上报时间": "2026-11-03 12:00", **more}
    return [values.get(header) for header in CARD_HEADERS]


def daily(tmp_path, day="2026-11-03"):
    return run_cli("daily", "--date", day, "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                   "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml"))


def test_the_daily_command_writes_the_days_reconciliation(tmp_path):
    folder = tmp_path / "inbox" / "after-sales"
    write_xlsx(folder / "11月3日.xlsx", {"卡": [CARD_HEADERS, card("GD1"), card("GD2", 交回时间="2026-11-04 09:00"),
                                              card("GD3", completed="2026-11-04 10:00")]})
    result = daily(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out" / "after-sales" / "daily" / "2026-11-03"
    table = read_sheet(out / "对账单.xlsx", "对账")
    assert table[["网点", "完工数", "当日交回数", "交卡超时数"]].values.tolist() == [["东风网点", 2, 1, 1]]
    problems = read_sheet(out / "对账单.xlsx", "问题工单")
    assert problems.set_index("工单号")["问题"].to_dict() == {"GD1": "未回访", "GD2": "未回访；交卡超时；上报超时"}
    text = pdf_text(out / "对账单.pdf")
    assert "GD2" in text and "王秘密" not in text and "13912345678" not in text and "保密路" not in text


def test_a_card_completed_by_a_later_file_replaces_the_earlier_one_and_the_run_says_so(tmp_path):
    folder = tmp_path / "inbox" / "after-sales"
    write_xlsx(folder / "11月3日.xlsx", {"卡": [CARD_HEADERS, card("GD1"), card("GD2")]})
    assert daily(tmp_path).returncode == 0
    out = tmp_path / "out" / "after-sales" / "daily" / "2026-11-03" / "对账单.xlsx"
    before = read_sheet(out, "对账")
    write_xlsx(folder / "11月3日回访补录.xlsx", {"卡": [CARD_HEADERS, card("GD1", 回访时间="2026-11-03 11:30",
                                                                        回访结果="满意")]})
    result = daily(tmp_path)
    assert result.returncode == 0 and "本次更新记录 1 条：GD1" in result.stdout
    assert read_sheet(out, "更新工单")["工单号"].tolist() == ["GD1"]
    assert read_sheet(out, "问题工单")["工单号"].tolist() == ["GD2"]       # GD1 was called back in time
    after = read_sheet(out, "对账")
    assert after.drop(columns=["问题工单数"]).equals(before.drop(columns=["问题工单数"]))
    assert (before["问题工单数"].iloc[0], after["问题工单数"].iloc[0]) == (2, 1)
    result = daily(tmp_path)                                                 # nothing new: nothing changes
    assert "本次更新记录" not in result.stdout


def test_a_wrong_date_or_no_after_sales_folder_exits_2(tmp_path):
    (tmp_path / "inbox" / "after-sales").mkdir(parents=True)
    result = daily(tmp_path, "2026-11-31")
    assert result.returncode == 2 and "2026-11-03" in result.stderr
    (tmp_path / "inbox" / "after-sales").rmdir()
    (tmp_path / "inbox" / "teaching").mkdir()
    result = daily(tmp_path)
    assert result.returncode == 2 and "售后" in result.stderr and not (tmp_path / "out").exists()


def test_the_samples_engineers_are_ranked_and_flagged_only_with_cause(sample_run):
    engineers = read_sheet(sample_run["out"] / "after-sales" / "2026-11" / "统计表.xlsx", "工程师")
    flagged = engineers["复核"] == "是"
    anomalous = (engineers["监督卡满意占比"] >= 0.95) & (engineers["回访不满意占比"] >= 0.20)
    assert flagged.equals(anomalous)
    assert engineers["排名"].tolist() == sorted(engineers["排名"]) and engineers["排名"].iloc[0] == 1
    assert engineers["满意率"].is_monotonic_decreasing
