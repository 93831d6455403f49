"""系部班级教学信息员 (RULES.md class-officers), each rule on a minimal hand-built frame."""
import pandas as pd

from pipeline.rules import class_officers
from pipeline.rules.figures import officers_of
from pipeline.rules.periods import month, year
from pipeline.settings import programme_for
from tests.conftest import officer, records

PROGRAMME = programme_for("class-officers", {})
RULES, TERMS = PROGRAMME.rules, PROGRAMME.terms


def pupil(number, klass="2025级环境1班", appointed="2025-09-20", **more):
    return officer(number, klass, "信息员", appointed, **more)


def item(number, day):
    return {"工号": number, "反馈日期": day, "类别": "学风", "反馈内容": f"{number}{day}"}


def monthly(data, period="2026-11"):
    return class_officers.monthly_figures(data, RULES, month(period), TERMS)


def officers_table(figures):
    return figures.tables["信息员"].set_index("工号")


def test_class_officers_exactly_one_officer_per_class():
    data = records(roster=[pupil("P1", "1班"), pupil("P2", "2班"), pupil("P3", "2班"),
                           pupil("P4", "3班", 离任日期="2026-10-01")])
    staffing = monthly(data).tables["班级配备"].set_index("单位")["问题"].to_dict()
    assert staffing == {"2班": "有2名在任信息员，应为1名", "3班": "没有在任信息员"}


def test_class_officers_missing_monthly_feedback_is_listed():
    data = records(roster=[pupil("P1", "1班"), pupil("P2", "2班")], feedback=[item("P1", "2026-11-05")])
    figures = monthly(data)
    assert figures.tables["未交反馈"]["工号"].tolist() == ["P2"]
    assert officers_table(figures).loc["P2", "本月未交"] == "是"


def test_class_officers_two_missed_months_in_a_row_make_a_dismissal_candidate():
    data = records(roster=[pupil("P1", "1班"), pupil("P2", "2班")],
                   feedback=[item("P1", "2026-09-05"), item("P2", "2026-10-05")])
    table = officers_table(monthly(data))
    assert table.loc["P1", "状态"] == "建议解聘"
    assert table.loc["P1", "原因"].startswith("2026年10月、2026年11月连续未交反馈")
    assert table.loc["P2", "状态"] != "建议解聘"        # September and November: not in a row


def test_class_officers_an_officer_appointed_mid_month_owes_nothing_for_that_month():
    data = records(roster=[pupil("P1", appointed="2026-10-15")])
    table = officers_table(monthly(data))
    assert table.loc["P1", "本月应交"] == "是" and table.loc["P1", "状态"] == "在任"   # October does not count
    october = officers_table(monthly(data, "2026-10"))
    assert october.loc["P1", "本月应交"] == "否" and october.loc["P1", "本月未交"] == ""


def test_class_officers_no_feedback_is_due_outside_the_terms():
    data = records(roster=[pupil("P1")])
    figures = monthly(data, "2026-08")
    assert figures.facts["due"] is False and figures.tables["未交反馈"].empty


def test_class_officers_leave_on_graduation_day_even_on_the_first_of_the_month():
    data = records(roster=[pupil("P1", 毕业日期="2026-11-01"), pupil("P2", "2班", 离任日期="2026-11-20",
                                                                   离任原因="转专业")],
                   feedback=[item(n, d) for n in ("P1", "P2") for d in ("2026-09-03", "2026-10-03")])
    table = officers_table(monthly(data))
    assert table.loc["P1", "状态"] == "毕业离任" and table.loc["P1", "原因"] == "于2026年11月1日毕业离任"
    assert table.loc["P1", "本月应交"] == "否"           # not in office on November 1st
    assert table.loc["P2", "状态"] == "已离任" and "转专业" in table.loc["P2", "原因"]
    assert "P1" not in officers_table(monthly(data, "2026-12")).index


def test_class_officers_quality_points_are_half_a_point_per_month_plus_two_for_the_award():
    months = pd.Series({"P1": 4, "P2": 3})
    awarded = pd.Series({"P1": True, "P2": False})
    assert class_officers.quality_points(months, awarded, RULES).to_dict() == {"P1": 4.0, "P2": 1.5}


def test_class_officers_annual_excellence_is_the_top_ten_percent_by_feedback_items():
    roster = [pupil(f"P{i}", f"{i}班") for i in range(5)]
    items = [item(f"P{i}", f"2026-{m:02d}-0{d + 1}") for i in range(5) for m in (9, 10, 11) for d in range(i + 1)]
    figures = class_officers.evaluation_figures(records(roster=roster, feedback=items), RULES, year("2026"), TERMS,
                                                False)
    ranking = figures.tables["评优"].set_index("工号")
    assert ranking.index[ranking["称号"] == "优秀信息员"].tolist() == ["P4"]
    quality = figures.tables["素质测评"].set_index("工号")
    assert quality.loc["P4", "测评加分"] == 3 * 0.5 + 2 and quality.loc["P0", "测评加分"] == 1.5


def test_class_officers_archive_keeps_every_officer_with_months_items_and_awards():
    data = records(roster=[pupil("P1"), pupil("P2", "2班", 毕业日期="2026-07-01")],
                   feedback=[item("P1", "2025-10-03"), item("P1", "2026-10-03"), item("P2", "2026-03-03")],
                   incidents=[{"工号": "P2", "日期": "2026-05-01", "类型": "违纪"}])
    archive = monthly(data).tables["档案"].set_index("工号")
    assert archive.loc["P1", "反馈数"] == 2 and archive.loc["P1", "有反馈月数"] == 2
    assert archive.loc["P1", "在任月数"] == 15                     # 2025-09 … 2026-11
    assert archive.loc["P2", "离任"] == "毕业离任" and archive.loc["P2", "违纪次数"] == 1
    assert archive.loc["P1", "荣誉"] == "2025年优秀信息员"


def test_class_officers_officers_come_only_from_approved_roster_rows():
    data = records(roster=[pupil("P1"), pupil("P2", 审批="待审")])
    assert officers_of(data, RULES).index.tolist() == ["P1"]
