"""学生教学信息员 (RULES.md teaching), each rule on a minimal hand-built frame."""
import datetime as dt

import pandas as pd
import pytest

from pipeline.rules import teaching
from pipeline.rules.figures import officers_of
from pipeline.rules.periods import month, term, year
from pipeline.settings import programme_for
from tests.conftest import officer, records

PROGRAMME = programme_for("teaching", {})
RULES, TERMS = PROGRAMME.rules, PROGRAMME.terms
AUTUMN = term("2026秋", TERMS)


def student(number, department="机电工程系", role="组员", appointed="2026-09-10", **more):
    return officer(number, department, role, appointed, **more)


def absence(number, day, presence="缺席", kind="常规例会"):
    return {"活动日期": day, "活动名称": f"{day}例会", "活动类型": kind, "工号": number, "出勤": presence}


def monthly(data, period="2026-11"):
    return teaching.monthly_figures(data, RULES, month(period), TERMS)


def status_of(figures, number):
    row = figures.tables["信息员"].set_index("工号").loc[number]
    return row["状态"], row["原因"]


def test_teaching_only_approved_rows_are_officers():
    data = records(roster=[student("S1"), student("S2", 审批="待审"), student("S3", 审批="不通过"),
                           student("S4", 审批=None)])
    assert sorted(officers_of(data, RULES).index) == ["S1", "S4"]


def test_teaching_two_unexcused_absences_make_a_dismissal_candidate():
    data = records(roster=[student("S1"), student("S2")],
                   attendance=[absence("S1", "2026-10-16"), absence("S1", "2026-11-13"),
                               absence("S2", "2026-10-16"), absence("S2", "2026-11-13", "请假")])
    figures = monthly(data)
    assert status_of(figures, "S1") == ("建议解聘", "2026年秋季学期无故缺席2次（2次及以上）")
    assert status_of(figures, "S2")[0] == "在任"          # one 缺席 and one 请假: not yet
    assert figures.tables["信息员"].set_index("工号").loc["S2", "缺席次数"] == 1


def test_teaching_absences_count_per_term_and_stop_at_the_terms_end():
    # A term ending in the middle of a month: the absence on 2027-01-25 is after 2026秋 ended.
    data = records(roster=[student("S1")],
                   attendance=[absence("S1", "2026-12-10"), absence("S1", "2027-01-25")])
    assert status_of(monthly(data, "2027-01"), "S1")[0] == "在任"
    assert monthly(data, "2027-01").tables["信息员"].loc[0, "缺席次数"] == 1


@pytest.mark.parametrize("kind", ["违纪", "考试舞弊", "工作不力"])
def test_teaching_an_incident_of_a_dismissal_type_makes_a_dismissal_candidate(kind):
    data = records(roster=[student("S1")], incidents=[{"工号": "S1", "日期": "2026-10-22", "类型": kind}])
    assert status_of(monthly(data), "S1") == ("建议解聘", f"{kind}（2026年10月22日）")


def test_teaching_every_dismissal_reason_is_listed():
    data = records(roster=[student("S1")],
                   attendance=[absence("S1", "2026-10-16"), absence("S1", "2026-11-13")],
                   incidents=[{"工号": "S1", "日期": "2026-10-22", "类型": "违纪"},
                              {"工号": "S1", "日期": "2026-11-02", "类型": "工作不力"}])
    assert status_of(monthly(data), "S1")[1] == \
        "2026年秋季学期无故缺席2次（2次及以上）；违纪（2026年10月22日）；工作不力（2026年11月2日）"


def test_teaching_a_term_ending_within_30_days_is_listed_for_renewal():
    data = records(roster=[student("S1", appointed="2025-12-31"),     # ends 2026-12-30: 30 days after 11-30
                           student("S2", appointed="2026-01-01"),     # ends 2026-12-31: 31 days
                           student("S3", appointed="2025-09-15")])    # ended 2026-09-14, not renewed
    figures = monthly(data)
    assert status_of(figures, "S1") == ("期满待续聘", "任期将于2026年12月30日届满")
    assert status_of(figures, "S2")[0] == "在任"
    assert status_of(figures, "S3") == ("期满待续聘", "任期已于2026年9月14日届满，尚未续聘")


def test_teaching_a_blank_term_end_is_one_year_less_a_day():
    officers = officers_of(records(roster=[student("S1", appointed="2026-03-01"),
                                           student("S2", appointed="2026-03-01", 任期届满="2026-07-31")]), RULES)
    assert officers.loc["S1", "任期届满"] == pd.Timestamp("2027-02-28")
    assert officers.loc["S2", "任期届满"] == pd.Timestamp("2026-07-31")


def feedback(number, day, state="未处理", text=None):
    return {"工号": number, "反馈日期": day, "类别": "教学态度", "反馈内容": text or f"{number}{day}",
            "处理状态": state}


def test_teaching_each_department_must_feed_back_in_every_14_day_window():
    data = records(roster=[student("S1", "机电工程系"), student("S2", "外语系")],
                   feedback=[feedback("S1", "2026-09-02"), feedback("S1", "2026-09-20"),
                             feedback("S2", "2026-09-14")])
    table = teaching.feedback_windows(data["feedback"], officers_of(data, RULES), AUTUMN, 14, dt.date(2026, 9, 30))
    states = table.set_index(["系部", "开始"])["情况"]
    assert states[("机电工程系", pd.Timestamp("2026-09-01"))] == "已交"
    assert states[("外语系", pd.Timestamp("2026-09-01"))] == "已交"        # the window's last day counts
    assert states[("外语系", pd.Timestamp("2026-09-15"))] == "未交"
    assert states[("机电工程系", pd.Timestamp("2026-09-29"))] == "进行中"
    missed = teaching.missed_windows(table, month("2026-09"))
    assert missed[["系部", "周期"]].values.tolist() == [["外语系", "第2周期（9月15日—9月28日）"]]


@pytest.mark.parametrize("held, finished, verdict", [
    (0, True, "本学期召开工作会议0次，少于规定的1次"), (1, True, ""), (2, True, ""),
    (3, False, "本学期召开工作会议3次，多于规定的2次"), (0, False, "本学期尚未召开工作会议（应召开1—2次）")])
def test_teaching_one_to_two_office_meetings_per_term(held, finished, verdict):
    assert teaching.office_meeting_verdict(held, RULES["office_meetings_min"], RULES["office_meetings_max"],
                                           finished) == verdict


def test_teaching_office_meetings_are_the_meetings_of_type_工作会议():
    data = records(attendance=[absence("S1", "2026-09-18", "出席", "工作会议"), absence("S2", "2026-09-18", "出席", "工作会议"),
                               absence("S1", "2026-10-16", "出席", "常规例会")])
    assert len(teaching.office_meetings(data["attendance"], AUTUMN, RULES["office_meeting_type"])) == 1


def test_teaching_materials_are_due_14_days_before_the_term_ends():
    data = records(roster=[student("S1"), student("S2"), student("S3", "外语系")],
                   materials=[{"工号或单位": "S1", "材料类型": "个人小结", "学期": "2026秋", "提交日期": "2027-01-06"},
                              {"工号或单位": "S2", "材料类型": "个人小结", "学期": "2026秋", "提交日期": "2027-01-07"},
                              {"工号或单位": "机电工程系", "材料类型": "小组总结", "学期": "2026秋", "提交日期": "2027-01-02"}])
    table = teaching.assessment_materials(data["materials"], officers_of(data, RULES), AUTUMN, 14, dt.date(2027, 1, 20))
    states = table.set_index(["工号或单位", "材料类型"])["情况"].to_dict()
    assert states == {("S1", "个人小结"): "按时", ("S2", "个人小结"): "逾期", ("S3", "个人小结"): "未交",
                      ("机电工程系", "小组总结"): "按时", ("外语系", "小组总结"): "未交"}
    assert table["截止日期"].iloc[0] == pd.Timestamp("2027-01-06")


def summary(number, term_name):
    return {"工号或单位": number, "材料类型": "个人小结", "学期": term_name, "提交日期": "2027-01-05"}


TWO_TERMS = {"2025秋": (dt.date(2025, 9, 1), dt.date(2026, 1, 20)), "2026春": (dt.date(2026, 2, 24), dt.date(2026, 7, 5))}


def credits(data, as_of="2026-12-31", terms=TWO_TERMS):
    return teaching.credit_terms(officers_of(data, RULES), data["attendance"], data["incidents"], data["materials"],
                                 terms, RULES, pd.Timestamp(as_of)).set_index("工号")


def test_teaching_a_completed_term_without_absence_earns_one_credit():
    data = records(roster=[student("S1", appointed="2025-09-15")],
                   materials=[summary("S1", "2025秋"), summary("S1", "2026春")])
    row = credits(data).loc["S1"]
    assert (row["合格"], row["学分"], row["任期结束"]) == ("是", 1, pd.Timestamp("2026-09-14"))


def test_teaching_no_credit_with_an_unexcused_absence_a_dismissal_reason_or_a_missing_summary():
    data = records(roster=[student("S1", appointed="2025-09-15"), student("S2", appointed="2025-09-15"),
                           student("S3", appointed="2025-09-15")],
                   attendance=[absence("S1", "2026-03-10")],
                   incidents=[{"工号": "S2", "日期": "2026-04-01", "类型": "违纪"}],
                   materials=[summary(n, t) for n in ("S1", "S2") for t in TWO_TERMS] + [summary("S3", "2025秋")])
    table = credits(data)
    assert table["学分"].to_dict() == {"S1": 0, "S2": 0, "S3": 0}
    assert table.loc["S1", "原因"] == "任期内无故缺席1次"
    assert table.loc["S2", "原因"] == "违纪（2026年4月1日）"
    assert table.loc["S3", "原因"] == "2026春学期未交个人小结"


def test_teaching_a_term_not_yet_over_or_left_early_earns_nothing():
    data = records(roster=[student("S1", appointed="2026-03-01"),
                           student("S2", appointed="2025-09-15", 离任日期="2026-06-01")])
    table = credits(data, terms={})
    assert "S1" not in table.index
    assert table.loc["S2", "学分"] == 0 and "未满任期" in table.loc["S2", "原因"]


def test_teaching_credits_are_capped_at_two():
    data = records(roster=[student("S1", appointed="2023-09-01", 任期届满="2026-08-31")])
    table = credits(data, terms={})
    assert table["学分"].tolist() == [1, 1, 0] and table["累计学分"].tolist() == [1, 2, 2]
    assert "上限" in table["原因"].iloc[2]


def test_teaching_excellence_score_is_items_plus_three_per_handled_item():
    data = records(roster=[student("S1"), student("S2")],
                   feedback=[feedback("S1", "2026-10-01", "已处理"), feedback("S1", "2026-10-02"),
                             feedback("S2", "2026-10-01", "处理中")])
    scores = teaching.teaching_scores(data["feedback"], pd.Index(["S1", "S2"]), year("2026"), RULES)
    assert scores["得分"].to_dict() == {"S1": 5, "S2": 1}


def test_teaching_annual_excellence_is_the_top_ten_percent_by_score():
    roster = [student(f"S{i:02d}") for i in range(11)]                 # 11 eligible → 2 places
    items = [feedback(f"S{i:02d}", f"2026-10-{d + 1:02d}") for i in range(11) for d in range(i)]
    figures = teaching.evaluation_figures(records(roster=roster, feedback=items), RULES, year("2026"), TERMS, False)
    ranking = figures.tables["评优"].set_index("工号")
    assert ranking.index[ranking["称号"] == "优秀信息员"].tolist() == ["S09", "S10"]
    assert ranking.loc["S10", "排名"] == 1 and list(figures.tables["评优"].columns[:6]) == \
        ["工号", "单位", "得分", "排名", "称号", "说明"]


def test_teaching_a_dismissal_candidate_is_not_eligible_for_the_award():
    roster = [student("S1"), student("S2")]
    data = records(roster=roster, feedback=[feedback("S1", "2026-10-01", "已处理")],
                   incidents=[{"工号": "S1", "日期": "2026-10-22", "类型": "考试舞弊"}])
    figures = teaching.evaluation_figures(data, RULES, year("2026"), TERMS, False)
    ranking = figures.tables["评优"].set_index("工号")
    assert ranking.loc["S1", "称号"] == "" and ranking.loc["S2", "称号"] == "优秀信息员"
    assert figures.tables["解聘建议"]["工号"].tolist() == ["S1"]


def test_teaching_one_leader_per_department():
    data = records(roster=[student("S1", "机电工程系", "组长"), student("S2", "外语系", "组员"),
                           student("S3", "信息工程系", "组长"), student("S4", "信息工程系", "组长")])
    staffing = monthly(data).tables["组长配备"].set_index("单位")["问题"].to_dict()
    assert staffing == {"外语系": "没有组长", "信息工程系": "有2名组长，应为1名"}
