"""交警支队信息通讯员 (RULES.md correspondents), each rule on a minimal hand-built frame."""
import datetime as dt

import pandas as pd

from pipeline.rules import correspondents
from pipeline.rules.figures import officers_of
from pipeline.rules.periods import month, year
from pipeline.settings import programme_for
from tests.conftest import officer, records

RULES = programme_for("correspondents", {}).rules
POINTS = correspondents.level_points(RULES)


def piece(number, unit="一大队", author="JX001", submitted="2026-11-03", reviewer="王队", level=None, run=None,
          outlet=None):
    return {"稿件编号": number, "报送单位": unit, "作者工号": author, "标题": f"标题{number}", "报送日期": submitted,
            "审核人": reviewer, "媒体级别": level, "刊发日期": run, "采用媒体": outlet or level}


def unit_row(data, period="2026-11", unit="一大队"):
    return correspondents.monthly_figures(data, RULES, month(period)).tables["单位"].set_index("单位").loc[unit]


ROSTER = [officer("JX001", "一大队"), officer("JX002", "二大队")]


def test_correspondents_only_reviewed_articles_count():
    four = [piece("A1", level="市级", run="2026-11-10"), piece("A2"), piece("A3"), piece("A4", reviewer="")]
    row = unit_row(records(roster=ROSTER, articles=four))
    assert row["报送数"] == 3
    assert (row["达标"], row["未达标项"]) == ("否", "报送稿件3篇，少于4篇")


def test_correspondents_monthly_basic_quota_is_four_submitted_and_one_city_run():
    four = [piece(f"A{i}") for i in range(4)]
    row = unit_row(records(roster=ROSTER, articles=four))
    assert (row["报送数"], row["市级以上采用数"], row["达标"]) == (4, 0, "否")
    assert row["未达标项"] == "市级以上媒体采用0篇，少于1篇"
    row = unit_row(records(roster=ROSTER, articles=four + [piece("A9", level="国家级", run="2026-11-30")]))
    assert (row["达标"], row["未达标项"]) == ("是", "")


def test_correspondents_an_article_run_by_city_and_province_scores_once_at_its_highest_level():
    runs = [piece("A1", level="市级", run="2026-11-05", outlet="佳木斯日报"),
            piece("A1", level="省级", run="2026-11-08", outlet="黑龙江日报")]
    row = unit_row(records(roster=ROSTER, articles=runs))
    assert (row["报送数"], row["市级以上采用数"], row["省级以上采用数_半年"], row["得分"]) == (1, 1, 1, 3)
    assert (row["市级采用数"], row["省级采用数"], row["国家级采用数"]) == (1, 1, 0)      # runs per level


def test_correspondents_levels_score_one_three_five_and_internal_nothing():
    data = records(articles=[piece("A1", level="市级", run="2026-11-05"), piece("A2", level="省级", run="2026-11-05"),
                             piece("A3", level="国家级", run="2026-11-05"), piece("A4", level="内部", run="2026-11-05"),
                             piece("A5")])
    scores = correspondents.article_scores(data["articles"], POINTS).set_index("稿件编号")["得分"]
    assert scores.to_dict() == {"A1": 1, "A2": 3, "A3": 5, "A4": 0, "A5": 0}


def test_correspondents_a_run_counts_in_the_month_of_its_刊发日期():
    data = records(roster=ROSTER, articles=[piece("A1", submitted="2026-10-28", level="市级", run="2026-11-02")])
    assert unit_row(data, "2026-10")["市级以上采用数"] == 0 and unit_row(data, "2026-10")["报送数"] == 1
    assert unit_row(data, "2026-11")["市级以上采用数"] == 1 and unit_row(data, "2026-11")["报送数"] == 0


def test_correspondents_half_year_quota_is_judged_at_its_end_and_shown_as_progress_before():
    data = records(roster=ROSTER, articles=[piece("A1", submitted="2026-07-10", level="省级", run="2026-07-20")])
    assert unit_row(data, "2026-11")["省级以上采用数_半年"] == 1
    assert unit_row(data, "2026-11")["半年任务"] == "已完成"
    second = unit_row(data, "2026-11", "二大队")
    assert (second["省级以上采用数_半年"], second["半年任务"]) == (0, "进行中（0/1）")
    assert unit_row(data, "2026-12", "二大队")["半年任务"].startswith("未完成")
    assert unit_row(data, "2027-01")["省级以上采用数_半年"] == 0        # a new half-year starts from nothing


def test_correspondents_a_missed_month_costs_two_points_only_when_in_office_on_its_first_day():
    roster = [officer("JX001", "一大队"), officer("JX002", "二大队", appointed="2026-11-10")]
    data = records(roster=roster)
    assert unit_row(data)["扣分"] == 2
    assert unit_row(data, unit="二大队")["扣分"] == 0
    missed = correspondents.missed_months(data["articles"], officers_of(data, RULES), ["一大队", "二大队"],
                                          year("2026"), RULES)
    assert missed.to_dict() == {"一大队": 12, "二大队": 1}          # 二大队: December only


def test_correspondents_missed_months_are_the_months_monthly_quota_finds_unmet():
    import random

    from pipeline.rules.periods import months_in, so_far

    rng = random.Random(7)
    units = ["一大队", "二大队", "三大队"]
    roster = [officer("JX001", "一大队"), officer("JX002", "二大队", appointed="2026-05-10"),
              officer("JX003", "三大队", **{"离任日期": "2026-09-15", "离任原因": "调动"})]
    articles = []
    for n in range(150):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
        level = rng.choice([None, None, "内部", "市级", "省级", "国家级"])
        run = day + dt.timedelta(days=rng.randrange(40)) if level else None
        articles.append(piece(f"A{n % 120}", rng.choice(units), reviewer=rng.choice(["王队", "王队", ""]),
                              submitted=day.isoformat(), level=level, run=run and run.isoformat()))
    data = records(roster=roster, articles=articles)
    officers = officers_of(data, RULES)
    for span in (year("2026"), so_far(year("2026"), dt.date(2026, 8, 20)), month("2026-03")):
        expected = pd.Series(0, index=units)
        for each in [m for m in months_in(span) if m.end <= span.end]:
            quota = correspondents.monthly_quota(data["articles"], units, each, RULES).set_index("单位")
            liable = quota.index.isin(list(correspondents.units_in_office(officers, each.start)))
            expected += ((quota["达标"] == "否") & liable).astype(int)
        assert correspondents.missed_months(data["articles"], officers, units, span, RULES).to_dict() == \
            expected.to_dict(), span.name


def test_correspondents_a_disqualifying_incident_zeroes_the_officer_and_the_unit():
    data = records(roster=ROSTER + [officer("JX003", "三大队")],
                   articles=[piece("A1", level="国家级", run="2026-05-05"),
                             piece("B1", "二大队", "JX002", level="市级", run="2026-05-05"),
                             piece("C1", "三大队", "JX003", level="省级", run="2026-05-05")],
                   incidents=[{"工号": "JX001", "日期": "2026-06-01", "类型": "抄袭"}])
    figures = correspondents.evaluation_figures(data, RULES, year("2026"))
    ranking = figures.tables["评优"]
    people = ranking[ranking["对象"] == "个人"].set_index("工号")
    units = ranking[ranking["对象"] == "单位"].set_index("单位")
    assert people.loc["JX001", "得分"] == 0 and pd.isna(people.loc["JX001", "排名"])
    assert people.loc["JX001", "称号"] == "" and "抄袭" in people.loc["JX001", "说明"]
    assert people.loc["JX003", "称号"] == "优秀基层信息通讯员"      # the best eligible one, not JX001
    assert units.loc["一大队", "得分"] == 0 and units.loc["一大队", "称号"] == ""
    assert figures.tables["取消资格"]["工号"].tolist() == ["JX001"]


def test_correspondents_disqualification_shows_in_the_month():
    data = records(roster=ROSTER, incidents=[{"工号": "JX002", "日期": "2026-11-02", "类型": "泄密"}])
    figures = correspondents.monthly_figures(data, RULES, month("2026-11"))
    officers = figures.tables["信息员"].set_index("工号")
    assert officers.loc["JX002", "状态"] == "建议解聘" and "泄密" in officers.loc["JX002", "原因"]
    assert unit_row(data, unit="二大队")["本年累计得分"] == 0


def test_correspondents_units_score_minus_deductions_and_the_top_ten_percent_win():
    roster = [officer(f"JX{i}", f"{i}大队", appointed="2026-12-01") for i in range(1, 4)]
    articles = [piece(f"A{i}{k}", f"{i}大队", f"JX{i}", submitted="2026-12-02", level="市级", run="2026-12-03")
                for i in range(1, 4) for k in range(i + 3)]
    figures = correspondents.evaluation_figures(records(roster=roster, articles=articles), RULES, year("2026"))
    units = figures.tables["单位得分"].set_index("单位")
    # 1大队: 4 articles and a city run → met; 2大队 and 3大队 too; no deductions.
    assert units["得分"].to_dict() == {"1大队": 4, "2大队": 5, "3大队": 6}
    assert units.index[units["称号"] == "宣传先进单位"].tolist() == ["3大队"]


def test_correspondents_one_correspondent_per_unit():
    roster = ROSTER + [officer("JX009", "一大队"), officer("JX010", "三大队", 离任日期="2026-10-01")]
    data = records(roster=roster)
    staffing = correspondents.monthly_figures(data, RULES, month("2026-11")).tables["通讯员配备"]
    assert staffing.set_index("单位")["问题"].to_dict() == {"一大队": "有2名在任信息员，应为1名",
                                                        "三大队": "没有在任信息员"}


def test_correspondents_a_quarter_without_a_briefing_is_flagged():
    meeting = {"活动日期": "2026-05-20", "活动名称": "通报会", "活动类型": "常规例会", "工号": "JX001", "出勤": "出席"}
    training = {**meeting, "活动日期": "2026-08-20", "活动类型": "培训"}
    data = records(roster=[officer("JX001", appointed="2026-02-01")], attendance=[meeting, training])
    table = correspondents.briefings_by_quarter(data["attendance"], officers_of(data, RULES), year("2026"),
                                                dt.date(2026, 11, 30), "常规例会", 1)
    assert table["情况"].tolist() == ["未召开", "已召开", "未召开", "进行中"]
    later = records(roster=[officer("JX001", appointed="2026-04-01")], attendance=[meeting])
    table = correspondents.briefings_by_quarter(later["attendance"], officers_of(later, RULES), year("2026"),
                                                dt.date(2026, 11, 30), "常规例会", 1)
    assert table["情况"].tolist()[0] == "无在任通讯员"            # no team yet: nothing to flag
