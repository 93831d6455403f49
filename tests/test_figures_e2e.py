"""The monthly and evaluation figures end to end: the sample inbox against counts made by hand here,
reproducible workbooks, settings that change a quota, history kept in the store, the evaluation command."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest

from pipeline.__main__ import main
from tests.conftest import ARTICLE_HEADERS, ROSTER_HEADERS, SAMPLE_INBOX, article, read_sheet, run_cli, write_xlsx

NOVEMBER = (dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 30, 23, 59))
SECOND_HALF = (dt.datetime(2026, 7, 1), dt.datetime(2026, 11, 30, 23, 59))


def raw_rows(path: Path, header_row: int):
    """Every data row of every sheet as {header: value}, straight from openpyxl (no pipeline code)."""
    book = openpyxl.load_workbook(path, data_only=True)
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        headers = [str(h).replace("\n", "").replace("*", "") if h else "" for h in rows[header_row - 1]]
        for row in rows[header_row:]:
            if row and any(v not in (None, "") for v in row) and not str(row[0] or "").startswith("填表人"):
                yield sheet.title, dict(zip(headers, row))


def within(value, span) -> bool:
    return isinstance(value, dt.datetime) and span[0] <= value <= span[1]


def hand_count_of_articles() -> dict[str, dict[str, int]]:
    """报送数, 市级以上采用数 and 省级以上采用数_半年 per unit for 2026-11, counted row by row: a row
    without 审稿人 or with an unreadable 刊发日期 is sent back and counts for nothing."""
    submitted, city, province = {}, {}, {}
    for path in sorted((SAMPLE_INBOX / "correspondents").glob("*月份宣传稿件统计.xlsx")):
        for unit, row in raw_rows(path, 2):
            if not row["审稿人"] or (row["刊发日期"] not in (None, "") and not isinstance(row["刊发日期"], dt.datetime)):
                continue
            number = row["稿件编号"]
            if within(row["报送日期"], NOVEMBER):
                submitted.setdefault(unit, set()).add(number)
            if row["采用级别"] in ("市级", "省级", "国家级") and within(row["刊发日期"], NOVEMBER):
                city.setdefault(unit, set()).add(number)
            if row["采用级别"] in ("省级", "国家级") and within(row["刊发日期"], SECOND_HALF):
                province.setdefault(unit, set()).add(number)
    units = set(submitted) | set(city) | set(province)
    return {unit: {"报送数": len(submitted.get(unit, ())), "市级以上采用数": len(city.get(unit, ())),
                   "省级以上采用数_半年": len(province.get(unit, ()))} for unit in units}


def test_the_sample_units_figures_match_a_count_by_hand(sample_run):
    table = read_sheet(sample_run["out"] / "correspondents" / "2026-11" / "统计表.xlsx", "单位").set_index("单位")
    expected = hand_count_of_articles()
    assert set(table.index) == set(expected)
    for unit, counts in expected.items():
        for column, value in counts.items():
            assert table.loc[unit, column] == value, (unit, column)
        met = counts["报送数"] >= 4 and counts["市级以上采用数"] >= 1
        assert table.loc[unit, "达标"] == ("是" if met else "否"), unit
        assert table.loc[unit, "扣分"] == (0 if met else 2)
    # Worked out once by hand from the sample's 11月 workbook: 五大队 sent 2 articles, 二大队 none ran.
    assert (table.loc["五大队", "报送数"], table.loc["五大队", "达标"]) == (2, "否")
    assert table.loc["二大队", "市级以上采用数"] == 0 and "市级以上媒体采用0篇" in table.loc["二大队", "未达标项"]
    assert table.loc["三大队", "报送数"] == 7       # its planted unreviewed and misdated rows are not counted


def test_the_sample_officers_status_matches_the_planted_cases(sample_run):
    teaching = read_sheet(sample_run["out"] / "teaching" / "2026-11" / "统计表.xlsx", "信息员").set_index("工号")
    assert teaching.loc[202402004, "状态"] == "建议解聘" and teaching.loc[202402004, "缺席次数"] == 2
    assert teaching.loc[202403005, "原因"] == "考试舞弊（2026年10月22日）"
    assert 202405006 not in teaching.index                         # 待审: not an officer
    correspondents = read_sheet(sample_run["out"] / "correspondents" / "2026-11" / "统计表.xlsx", "通讯员配备")
    assert correspondents.values.tolist() == [["一大队", 2, "有2名在任信息员，应为1名"]]


def test_the_sample_class_officers_missing_list_matches_the_novembers_sheet(sample_run):
    handed = {str(row["学号 （必填）"]) for _, row in
              raw_rows(SAMPLE_INBOX / "class-officers" / "2026年11月班级信息反馈.xlsx", 2)}
    officers = read_sheet(sample_run["out"] / "class-officers" / "2026-11" / "统计表.xlsx", "信息员")
    serving = officers[officers["本月应交"] == "是"]
    missing = read_sheet(sample_run["out"] / "class-officers" / "2026-11" / "统计表.xlsx", "未交反馈")
    assert sorted(missing["工号"].astype(str)) == sorted(set(serving["工号"].astype(str)) - handed)


def test_the_sample_community_counts_per_pseudonym_match_the_novembers_sheet(sample_run):
    folder = sample_run["out"] / "community" / "2026-11"
    key = read_sheet(folder / "名册对照.xlsx", "名册对照").set_index("工号")["化名"]
    counted = {}
    for _, row in raw_rows(SAMPLE_INBOX / "community" / "11月社情信息登记.xlsx", 2):
        if isinstance(row["反馈日期"], dt.datetime):                  # the planted 2026-11-31 is sent back
            counted[key[row["信息员编号"]]] = counted.get(key[row["信息员编号"]], 0) + 1
    officers = read_sheet(folder / "统计表.xlsx", "信息员").set_index("工号")
    assert {name: n for name, n in officers["反馈数"].items() if n} == counted


def test_the_statistics_workbook_is_byte_identical_for_the_same_inputs(sample_run, tmp_path):
    status = main(["monthly", "--period", "2026-11", "--inbox", str(sample_run["inbox"]), "--out",
                   str(tmp_path / "out"), "--store", str(tmp_path / "again.sqlite"),
                   "--settings", str(tmp_path / "none.toml")])
    assert status == 1
    for programme in ("community", "teaching", "class-officers", "correspondents"):
        first = (sample_run["out"] / programme / "2026-11" / "统计表.xlsx").read_bytes()
        assert (tmp_path / "out" / programme / "2026-11" / "统计表.xlsx").read_bytes() == first, programme


def test_figures_are_written_as_real_numbers_and_dates(sample_run):
    book = openpyxl.load_workbook(sample_run["out"] / "teaching" / "2026-11" / "统计表.xlsx")
    officers, materials = book["信息员"], book["考核材料"]
    headers = [c.value for c in officers[1]]
    assert officers.cell(2, headers.index("反馈数") + 1).data_type == "n"
    assert officers.cell(2, headers.index("缺席次数") + 1).data_type == "n"
    headers = [c.value for c in materials[1]]
    assert isinstance(materials.cell(2, headers.index("截止日期") + 1).value, dt.datetime)


ROSTER = [[f"JX00{i}", f"通讯员{i}", unit, "通讯员", None, None, None, dt.date(2026, 1, 1)] + [None] * 4
          for i, unit in ((1, "一大队"), (2, "二大队"))]


def correspondents_inbox(root: Path, articles: dict[str, list[list]]) -> Path:
    inbox = root / "inbox"
    write_xlsx(inbox / "correspondents" / "名册.xlsx", {"名册": [ROSTER_HEADERS, *ROSTER]})
    for name, rows in articles.items():
        write_xlsx(inbox / "correspondents" / name, {"稿件": [ARTICLE_HEADERS, *rows]})
    return inbox


def run_month(root: Path, inbox: Path, period: str, settings: Path | None = None):
    result = run_cli("monthly", "--period", period, "--inbox", str(inbox), "--out", str(root / "out"),
                     "--store", str(root / "s.sqlite"), "--settings", str(settings or root / "none.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    return read_sheet(root / "out" / "correspondents" / period / "统计表.xlsx", "单位").set_index("单位")


THREE_ARTICLES = [article(f"A{i}", level="市级", outlet="佳木斯日报", run=dt.date(2026, 11, 10)) for i in range(3)]


def test_a_settings_file_that_lowers_the_quota_changes_the_result(tmp_path):
    inbox = correspondents_inbox(tmp_path, {"11月.xlsx": THREE_ARTICLES})
    assert run_month(tmp_path, inbox, "2026-11").loc["一大队", "达标"] == "否"
    settings = tmp_path / "settings.toml"
    settings.write_text('[programmes.correspondents.rules]\nmonthly_submissions = 3\n', encoding="utf-8")
    table = run_month(tmp_path, inbox, "2026-11", settings)
    assert (table.loc["一大队", "达标"], table.loc["一大队", "扣分"]) == ("是", 0)
    settings.write_text('[programmes.correspondents.rules]\ndeduction_per_missed_month = 5\n', encoding="utf-8")
    assert run_month(tmp_path, inbox, "2026-11", settings).loc["二大队", "扣分"] == 5


def test_history_in_the_store_counts_when_the_inbox_holds_only_this_months_files(tmp_path):
    october = [article("P1", submitted=dt.date(2026, 10, 5), level="省级", outlet="黑龙江日报",
                       run=dt.date(2026, 10, 9))]
    inbox = correspondents_inbox(tmp_path, {"10月.xlsx": october})
    run_month(tmp_path, inbox, "2026-10")
    (inbox / "correspondents" / "10月.xlsx").unlink()
    write_xlsx(inbox / "correspondents" / "11月.xlsx", {"稿件": [ARTICLE_HEADERS, *THREE_ARTICLES]})
    table = run_month(tmp_path, inbox, "2026-11")
    assert table.loc["一大队", "省级以上采用数_半年"] == 1 and table.loc["一大队", "半年任务"] == "已完成"
    assert table.loc["一大队", "本年累计得分"] == 3 + 3 - 2 * 11     # points so far, less January … November missed


def test_the_evaluation_writes_评优_with_its_columns_for_the_year_and_the_term(sample_run, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(sample_run["inbox"], inbox)
    common = ["--inbox", str(inbox), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"),
              "--settings", str(tmp_path / "none.toml")]
    assert main(["evaluation", "--year", "2026", *common]) == 1
    for programme in ("community", "teaching", "class-officers", "correspondents"):
        ranking = read_sheet(tmp_path / "out" / programme / "2026" / "评优.xlsx", "评优")
        assert {"得分", "排名", "称号", "说明"} <= set(ranking.columns)
        assert ("工号" in ranking) or ("单位" in ranking)
        assert (ranking["称号"].fillna("") != "").any(), programme
        assert (tmp_path / "out" / programme / "2026" / "考核评优.pdf").stat().st_size > 0
    titles = read_sheet(tmp_path / "out" / "correspondents" / "2026" / "评优.xlsx", "评优")["称号"].dropna()
    assert set(titles) == {"优秀基层信息通讯员", "宣传先进单位"}
    assert main(["evaluation", "--term", "2026秋", *common]) == 1
    teaching = tmp_path / "out" / "teaching" / "2026秋" / "评优.xlsx"
    assert set(openpyxl.load_workbook(teaching).sheetnames) >= {"评优", "解聘建议", "续聘", "学分", "考核材料"}
    assert not (tmp_path / "out" / "community" / "2026秋").exists()     # the community has no terms


@pytest.mark.parametrize("arguments, settings, message", [
    (["--term", "2025秋"], "", "2025秋"),
    (["--year", "二〇二六"], "", "2026"),
    (["--year", "2026"], '[programmes.teaching.rules]\ntie_breaks = ["名次"]\n', "tie_breaks"),
    (["--year", "2026"], '[programmes.teaching.rules]\naward_share = "十分之一"\n', "award_share"),
])
def test_a_wrong_evaluation_request_exits_2_and_writes_nothing(tmp_path, arguments, settings, message):
    inbox = tmp_path / "inbox"
    (inbox / "teaching").mkdir(parents=True)
    (tmp_path / "settings.toml").write_text(settings, encoding="utf-8")
    result = run_cli("evaluation", *arguments, "--inbox", str(inbox), "--out", str(tmp_path / "out"),
                     "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "settings.toml"))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("settings, message", [
    ('[programmes.community.rules]\naward_rounding = "sideways"\n', "award_rounding"),
    ('[programmes.community.rules]\naward_share = 10\n', "award_share"),
    ('[programmes.community.rules]\naward_quota = 3\n', "award_quota"),
])
def test_a_wrong_award_setting_stops_the_monthly_run_naming_the_key(tmp_path, settings, message):
    (tmp_path / "inbox" / "community").mkdir(parents=True)
    (tmp_path / "settings.toml").write_text(settings, encoding="utf-8")
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out",
                     str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--settings",
                     str(tmp_path / "settings.toml"))
    assert result.returncode == 2 and message in result.stderr and not (tmp_path / "out").exists()
