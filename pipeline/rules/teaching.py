"""学生教学信息员 (RULES.md teaching): appointment and renewal, dismissal, biweekly feedback per
department, office meetings, assessment materials, credits and the annual excellence award."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.awards import award_table
from pipeline.rules.figures import Figures, feedback_trend, officer_table, officers_of
from pipeline.rules.officers import (day_text, feedback_items, handled_items, has_reason, in_office_on, incident_reasons,
                                     meetings_held, records_in, renewal_reasons, units_in_order, serving_during,
                                     unexcused_absences, unit_staffing)
from pipeline.rules.periods import Period, counting_span, current_term, so_far, term, windows

PERSONAL, GROUP = "个人小结", "小组总结"


def dismissal_reasons(officers: pd.DataFrame, attendance: pd.DataFrame, incidents: pd.DataFrame,
                      span: Period, rules: dict) -> pd.Series:
    """Per officer, every reason for a dismissal proposal (解聘建议) in the span (a term): ≥ N unexcused
    absences, and each incident of a dismissal type (违纪, 考试舞弊, 工作不力)."""
    absences = unexcused_absences(attendance, officers.index, span)
    incidents_found = incident_reasons(incidents, officers.index, span, rules["dismissal_incidents"])
    reasons = {}
    for officer in officers.index:
        found = []
        if absences[officer] >= rules["dismissal_absences"]:
            found.append(f"{span.label}无故缺席{absences[officer]}次（{rules['dismissal_absences']}次及以上）")
        found.extend(incidents_found[officer])
        reasons[officer] = found
    return pd.Series(reasons, dtype=object).reindex(officers.index)


def department_feedback(feedback: pd.DataFrame, officers: pd.DataFrame) -> pd.DataFrame:
    """Feedback items with the department (单位) of the officer who reported them."""
    units = officers["单位"]
    return feedback.assign(单位=feedback["工号"].map(units)).dropna(subset=["单位"])


def feedback_windows(feedback: pd.DataFrame, officers: pd.DataFrame, the_term: Period, window_days: int,
                     as_of) -> pd.DataFrame:
    """Per department and 14-day window of the term begun by `as_of`: 系部, 周期, 开始, 结束, 反馈数, 情况
    (已交; 未交 once the window is over; 进行中 while it runs)."""
    items = department_feedback(feedback, officers)
    departments = units_in_order(officers[serving_during(officers, the_term)])
    rows = []
    as_of = pd.Timestamp(as_of)
    for window in windows(the_term, window_days):
        if pd.Timestamp(window.start) > as_of:
            break
        counts = records_in(items, "反馈日期", window).groupby("单位").size()
        for department in departments:
            n = int(counts.get(department, 0))
            state = "已交" if n else ("未交" if pd.Timestamp(window.end) <= as_of else "进行中")
            rows.append({"系部": department, "周期": window.label, "开始": pd.Timestamp(window.start),
                         "结束": pd.Timestamp(window.end), "反馈数": n, "情况": state})
    return pd.DataFrame(rows, columns=["系部", "周期", "开始", "结束", "反馈数", "情况"])


def missed_windows(windows_table: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The windows a department missed that end within the period."""
    ended = windows_table["结束"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))
    return windows_table[ended & (windows_table["情况"] == "未交")]


def office_meetings(attendance: pd.DataFrame, span: Period, meeting_type: str) -> pd.DataFrame:
    """The 工作会议 of the term (or the part of it given)."""
    return meetings_held(attendance, span, [meeting_type])


def office_meeting_verdict(held: int, minimum: int, maximum: int, finished: bool) -> str:
    """What the term summary says of the office meetings: fewer or more than the rule, or nothing."""
    if held > maximum:
        return f"本学期召开工作会议{held}次，多于规定的{maximum}次"
    if held < minimum and finished:
        return f"本学期召开工作会议{held}次，少于规定的{minimum}次"
    if held < minimum:
        return f"本学期尚未召开工作会议（应召开{minimum}—{maximum}次）"
    return ""


def materials_deadline(the_term: Period, days_before: int):
    """The day assessment materials are due: `days_before` days before the term ends."""
    return pd.Timestamp(the_term.end) - pd.Timedelta(days=days_before)


def assessment_materials(materials: pd.DataFrame, officers: pd.DataFrame, the_term: Period, days_before: int,
                         as_of) -> pd.DataFrame:
    """Who owes what for the term: every officer in office on the deadline a 个人小结, every department of
    theirs a 小组总结 — 工号或单位, 单位, 材料类型, 截止日期, 提交日期, 情况 (按时, 逾期, 未交, 待交)."""
    deadline = materials_deadline(the_term, days_before)
    as_of = pd.Timestamp(as_of)
    owing = officers[in_office_on(officers, min(deadline, max(as_of, pd.Timestamp(the_term.start))).date())]
    handed = materials[materials["学期"] == the_term.name]
    handed = handed.sort_values("提交日期").drop_duplicates(["工号或单位", "材料类型"], keep="first")
    handed = handed.set_index(["工号或单位", "材料类型"])["提交日期"]
    owed = [(officer, owing.at[officer, "单位"], PERSONAL) for officer in owing.index]
    owed += [(unit, unit, GROUP) for unit in units_in_order(owing)]
    rows = []
    for who, unit, kind in owed:
        submitted = handed.get((who, kind), pd.NaT)
        if pd.notna(submitted):
            state = "按时" if submitted <= deadline else "逾期"
        else:
            state = "未交" if as_of > deadline else "待交"
        rows.append({"工号或单位": who, "单位": unit, "材料类型": kind, "截止日期": deadline,
                     "提交日期": submitted, "情况": state})
    return pd.DataFrame(rows, columns=["工号或单位", "单位", "材料类型", "截止日期", "提交日期", "情况"])


def one_year_terms(officers: pd.DataFrame, term_years_per_credit: int) -> pd.DataFrame:
    """Each officer's appointment cut into whole terms of `term_years_per_credit` years (the preset's
    term_years): 工号, 开始, 结束; a remainder shorter than a term is not a term served."""
    rows = []
    for officer, start, end in zip(officers.index, officers["聘任日期"], officers["任期届满"]):
        k = 1
        while True:
            span_end = start + pd.DateOffset(years=k * term_years_per_credit) - pd.Timedelta(days=1)
            if span_end > end:
                break
            rows.append({"工号": officer, "开始": start + pd.DateOffset(years=(k - 1) * term_years_per_credit),
                         "结束": span_end})
            k += 1
    return pd.DataFrame(rows, columns=["工号", "开始", "结束"])


def credit_terms(officers: pd.DataFrame, attendance: pd.DataFrame, incidents: pd.DataFrame,
                 materials: pd.DataFrame, terms: dict, rules: dict, as_of) -> pd.DataFrame:
    """Every one-year term completed by `as_of`, with 合格 (是/否), 原因 and 学分: 1 社会实践学分 for a term
    served to its end with no unexcused absence, no dismissal reason and a 个人小结 in each term of it
    (whose end falls inside it); at most credits_max in all."""
    as_of = pd.Timestamp(as_of)
    served = one_year_terms(officers, rules["term_years"])
    served = served[served["结束"] <= as_of].sort_values(["工号", "开始"])
    rows, earned = [], {}
    for officer, start, end in zip(served["工号"], served["开始"], served["结束"]):
        span = Period(f"{officer}", start.date(), end.date(), f"{day_text(start)}至{day_text(end)}")
        why = []
        leaves = officers.at[officer, "离任于"]
        if pd.notna(leaves) and leaves <= end:
            why.append(f"未满任期（{day_text(leaves)}{officers.at[officer, '离任方式']}）")
        absences = unexcused_absences(attendance, pd.Index([officer]), span)[officer]
        if absences:
            why.append(f"任期内无故缺席{absences}次")
        why += incident_reasons(incidents, pd.Index([officer]), span, rules["dismissal_incidents"])[officer]
        for name, (term_start, term_end) in sorted(terms.items(), key=lambda item: item[1]):
            if span.start <= term_end <= span.end:
                has = ((materials["工号或单位"] == officer) & (materials["材料类型"] == PERSONAL)
                       & (materials["学期"] == name)).any()
                if not has:
                    why.append(f"{name}学期未交个人小结")
        credit = 0
        if not why:
            credit = min(rules["credits_per_year"], rules["credits_max"] - earned.get(officer, 0))
            if credit <= 0:
                why.append(f"已获{rules['credits_max']}个学分（上限）")
                credit = 0
        earned[officer] = earned.get(officer, 0) + credit
        rows.append({"工号": officer, "单位": officers.at[officer, "单位"], "任期开始": start, "任期结束": end,
                     "合格": "否" if why and credit == 0 else "是", "学分": credit, "累计学分": earned[officer],
                     "原因": "；".join(why)})
    return pd.DataFrame(rows, columns=["工号", "单位", "任期开始", "任期结束", "合格", "学分", "累计学分", "原因"])


def teaching_scores(feedback: pd.DataFrame, officers: pd.Index, span: Period, rules: dict) -> pd.DataFrame:
    """反馈数, 已处理数 and 得分 = feedback items × score_per_feedback + 已处理 items × score_per_handled."""
    items = feedback_items(feedback, officers, span)
    handled = handled_items(feedback, officers, span)
    return pd.DataFrame({"反馈数": items, "已处理数": handled,
                         "得分": items * rules["score_per_feedback"] + handled * rules["score_per_handled"]},
                        index=officers)


def terms_within(span: Period, terms: dict) -> list[Period]:
    """The terms of the settings that overlap the span."""
    return [term(name, terms) for name, (start, end) in sorted(terms.items(), key=lambda item: item[1])
            if start <= span.end and end >= span.start]


def dismissal_reasons_over(officers, attendance, incidents, span: Period, terms: dict, rules: dict) -> pd.Series:
    """Dismissal reasons in every term overlapping the span (absences are counted per term), or in the
    span itself when no term is set."""
    spans = [so_far(t, span.end) for t in terms_within(span, terms)] or [span]
    found = [dismissal_reasons(officers, attendance, incidents, s, rules) for s in spans]
    return pd.Series({o: [r for reasons in found for r in reasons[o]] for o in officers.index},
                     dtype=object).reindex(officers.index)


def monthly_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict) -> Figures:
    """The month's figures: 信息员 (status, reasons), 反馈周期, 工作会议, 考核材料, 组长配备."""
    officers = officers_of(records, rules)
    counting = counting_span(period.end, terms)
    the_term = current_term(period.end, terms)
    span = so_far(counting, period.end)
    dismissal = dismissal_reasons(officers, records["attendance"], records["incidents"], span, rules)
    renewal = renewal_reasons(officers, period.end, rules["renewal_notice_days"])
    extra = {"已处理数": handled_items(records["feedback"], officers.index, period)}
    table = officer_table(officers, period, counting, records["feedback"], records["attendance"],
                          dismissal, renewal, extra)
    tables = {"信息员": table}
    facts = {"term": the_term.label if the_term else "", "dismissal": table.loc[table["状态"] == "建议解聘", "工号"].tolist(),
             "renewal": table.loc[table["状态"] == "期满待续聘", "工号"].tolist()}
    if the_term:
        windows_table = feedback_windows(records["feedback"], officers, the_term, rules["feedback_window_days"],
                                         period.end)
        meetings = office_meetings(records["attendance"], so_far(the_term, period.end), rules["office_meeting_type"])
        materials = assessment_materials(records["materials"], officers, the_term,
                                         rules["materials_days_before_term_end"], period.end)
        tables.update({"反馈周期": windows_table, "工作会议": meetings, "考核材料": materials})
        facts.update({
            "missed_windows": missed_windows(windows_table, period)[["系部", "周期"]].to_dict("records"),
            "office_meetings": len(meetings),
            "office_meeting_verdict": office_meeting_verdict(len(meetings), rules["office_meetings_min"],
                                                             rules["office_meetings_max"],
                                                             the_term.end <= period.end),
            "materials_missing": materials.loc[materials["情况"].isin(["未交", "逾期"])].to_dict("records"),
        })
    tables["趋势"] = feedback_trend(records["feedback"], period)
    tables["组长配备"] = unit_staffing(officers, period.end, rules["leaders_per_unit"],
                                       rules.get("expected_units", []), role=rules["leader_role"])
    return Figures(tables, facts)


def evaluation_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict,
                       is_term: bool) -> Figures:
    """The term's or year's assessment: 评优 (score, rank, 优秀信息员 at the year), 解聘建议, 续聘,
    学分, and for a term 考核材料 and 工作会议."""
    officers = officers_of(records, rules)
    serving = officers[serving_during(officers, period)]
    dismissal = dismissal_reasons_over(serving, records["attendance"], records["incidents"], period, terms, rules)
    scores = teaching_scores(records["feedback"], serving.index, period, rules)
    table = pd.DataFrame({"工号": serving.index, "单位": serving["单位"].to_numpy(),
                          "反馈数": scores["反馈数"].to_numpy(), "已处理数": scores["已处理数"].to_numpy(),
                          "得分": scores["得分"].to_numpy()})
    eligible = pd.Series(~dismissal.map(has_reason).to_numpy(), index=table.index)
    # 优秀信息员 is chosen once a (school) year: a term's assessment ranks but awards nothing.
    award_rules = {**rules, "award_share": 0, "award_minimum": 0} if is_term else rules
    ranked = award_table(table, "得分", rules["tie_breaks"], eligible, award_rules, rules["award_title"])
    ranked.loc[~eligible.to_numpy(), "说明"] = ["列入解聘建议，不参加评优：" + "；".join(r) for r in dismissal[dismissal.map(has_reason)]]
    if is_term:
        ranked["说明"] = ranked["说明"].where(ranked["说明"] != "", f"{rules['award_title']}每学年评选一次")
    credits = credit_terms(officers, records["attendance"], records["incidents"], records["materials"], terms,
                           rules, period.end)
    credits = credits[credits["任期结束"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    credit_note = credits.set_index("工号")["学分"]
    ranked["说明"] = [ "；".join(filter(None, [note, f"任期届满获社会实践学分{credit_note[o]}个" if credit_note.get(o, 0) else ""]))
                     for o, note in zip(ranked["工号"], ranked["说明"])]
    renewal = renewal_reasons(officers, period.end, rules["renewal_notice_days"]).dropna()
    tables = {
        "评优": ranked[["工号", "单位", "得分", "排名", "称号", "说明", "反馈数", "已处理数"]],
        "解聘建议": pd.DataFrame({"工号": dismissal.index[dismissal.map(has_reason)],
                              "单位": serving.loc[dismissal.map(has_reason), "单位"].to_numpy(),
                              "原因": ["；".join(r) for r in dismissal[dismissal.map(has_reason)]]},
                             columns=["工号", "单位", "原因"]),
        "续聘": pd.DataFrame({"工号": renewal.index, "单位": officers.loc[renewal.index, "单位"].to_numpy(),
                            "任期届满": officers.loc[renewal.index, "任期届满"].to_numpy(), "说明": renewal.to_numpy()},
                           columns=["工号", "单位", "任期届满", "说明"]),
        "学分": credits,
    }
    facts = {"awards": ranked.loc[ranked["称号"] != "", "工号"].tolist(), "dismissal": tables["解聘建议"]["工号"].tolist()}
    if is_term:
        whole = term(period.name, terms)   # `period` may stop at today; deadlines come from the whole term
        meetings = office_meetings(records["attendance"], period, rules["office_meeting_type"])
        materials = assessment_materials(records["materials"], officers, whole,
                                         rules["materials_days_before_term_end"], period.end)
        windows_table = feedback_windows(records["feedback"], officers, whole, rules["feedback_window_days"], period.end)
        tables.update({"考核材料": materials, "工作会议": meetings,
                       "反馈周期未交": windows_table[windows_table["情况"] == "未交"].reset_index(drop=True)})
        facts["office_meeting_verdict"] = office_meeting_verdict(len(meetings), rules["office_meetings_min"],
                                                                 rules["office_meetings_max"], whole.end <= period.end)
    return Figures(tables, facts)
