"""系部班级教学信息员 (RULES.md class-officers): one officer per class, monthly feedback, two missed
months in a row, leaving on graduation, the officer archive, quality points and the annual award."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.awards import award_table
from pipeline.rules.figures import Figures, feedback_trend, officer_table, officers_of
from pipeline.rules.officers import (feedback_items, has_reason, in_office_on, incident_reasons, meetings_attended,
                                     records_in, renewal_reasons, serving_during, unexcused_absences,
                                     unit_staffing)
from pipeline.rules.periods import Period, counting_span, months_in, so_far, term_containing, year


def feedback_due(month: Period, terms: dict) -> bool:
    """Whether feedback is due in the month: its first day lies in a term (every month when no term is set)."""
    return not terms or term_containing(month.start, terms) is not None


def monthly_feedback_missing(feedback: pd.DataFrame, officers: pd.DataFrame, month: Period,
                             minimum: int) -> pd.Series:
    """True for the officers who were in office on the month's first day and handed in fewer than
    `minimum` feedback items in it (an officer appointed in the month owes nothing for it)."""
    liable = in_office_on(officers, month.start)
    items = feedback_items(feedback, officers.index, month)
    return liable & (items < minimum)


def missed_months_table(feedback: pd.DataFrame, officers: pd.DataFrame, span: Period, terms: dict,
                        minimum: int) -> pd.DataFrame:
    """Per officer (rows) and due month of the span (columns, 2026-09 …): True where the month was missed."""
    columns = {}
    for month in months_in(span):
        if month.end <= span.end and feedback_due(month, terms):
            columns[month.name] = monthly_feedback_missing(feedback, officers, month, minimum)
    return pd.DataFrame(columns, index=officers.index, dtype=bool)


def consecutive_missed(missed: pd.DataFrame, run_length: int) -> pd.Series:
    """Per officer, the first run of `run_length` missed months in a row (calendar neighbours), as a
    text like 2026年9月、10月连续未交反馈; None when there is none."""
    names = list(missed.columns)
    found = {}
    for officer, row in missed.iterrows():
        run = []
        text = None
        for name in names:
            if row[name] and run and _next_month(run[-1]) == name:
                run.append(name)
            elif row[name]:
                run = [name]
            else:
                run = []
            if len(run) >= run_length:
                text = "、".join(f"{int(n[:4])}年{int(n[5:])}月" for n in run) + "连续未交反馈"
                break
        found[officer] = text
    return pd.Series(found, dtype=object).reindex(missed.index)


def _next_month(name: str) -> str:
    year_number, month_number = int(name[:4]), int(name[5:])
    return f"{year_number + month_number // 12}-{month_number % 12 + 1:02d}"


def months_served(officers: pd.DataFrame, span: Period) -> pd.DataFrame:
    """Per officer and month of the span: True where the officer was in office on any day of it."""
    columns = {m.name: serving_during(officers, m) for m in months_in(span)}
    return pd.DataFrame(columns, index=officers.index, dtype=bool)


def months_with_feedback(feedback: pd.DataFrame, officers: pd.DataFrame, span: Period, minimum: int) -> pd.Series:
    """Months of the span each officer served with at least `minimum` feedback items handed in."""
    counted = pd.Series(0, index=officers.index, dtype=int)
    for month in months_in(span):
        served = serving_during(officers, month)
        counted += (served & (feedback_items(feedback, officers.index, month) >= minimum)).astype(int)
    return counted


def quality_points(months: pd.Series, awarded: pd.Series, rules: dict) -> pd.Series:
    """综合素质测评 points: points_per_month per month served with feedback, plus points_award for 优秀信息员."""
    return months * rules["points_per_month"] + awarded.astype(int) * rules["points_award"]


def archive(records: dict[str, pd.DataFrame], officers: pd.DataFrame, up_to, awards: dict[str, list[str]]) -> pd.DataFrame:
    """档案: one row per officer with everything up to `up_to` — 聘任日期, 离任, 在任月数, 有反馈月数, 反馈数,
    出席次数, 缺席次数, 违纪次数, 荣誉 (the years they were 优秀信息员)."""
    first = officers["聘任日期"].min() if len(officers) else pd.Timestamp(up_to)
    history = Period("档案", first.date(), pd.Timestamp(up_to).date(), "任职以来")
    served = months_served(officers, history).sum(axis=1).astype(int) if len(officers) else pd.Series(dtype=int)
    incidents = records_in(records["incidents"], "日期", history).groupby("工号").size()
    return pd.DataFrame({
        "工号": officers.index, "姓名": officers["姓名"].to_numpy(), "班级": officers["单位"].to_numpy(),
        "聘任日期": officers["聘任日期"].to_numpy(), "离任": officers["离任方式"].fillna("").to_numpy(),
        "离任日期": officers["离任于"].to_numpy(),
        "在任月数": served.reindex(officers.index, fill_value=0).to_numpy(),
        "有反馈月数": months_with_feedback(records["feedback"], officers, history, 1).to_numpy(),
        "反馈数": feedback_items(records["feedback"], officers.index, history).to_numpy(),
        "出席次数": meetings_attended(records["attendance"], officers.index, history).to_numpy(),
        "缺席次数": unexcused_absences(records["attendance"], officers.index, history).to_numpy(),
        "违纪次数": incidents.reindex(officers.index, fill_value=0).astype(int).to_numpy(),
        "荣誉": ["、".join(awards.get(o, [])) for o in officers.index]})


def annual_awards(records: dict[str, pd.DataFrame], officers: pd.DataFrame, span: Period, terms: dict,
                  rules: dict) -> pd.DataFrame:
    """评优 for a year: officers serving in it ranked by feedback items; the top share (rounded up, at
    least one) are 优秀信息员; dismissal candidates are not eligible."""
    serving = officers[serving_during(officers, span)]
    items = feedback_items(records["feedback"], serving.index, span)
    missed = missed_months_table(records["feedback"], serving, span, terms, rules["monthly_feedback_min"])
    run = consecutive_missed(missed, rules["missed_months_for_dismissal"])
    incidents = incident_reasons(records["incidents"], serving.index, span, rules["dismissal_incidents"])
    reasons = pd.Series({o: [t for t in [run[o]] if t] + incidents[o] for o in serving.index}, dtype=object)
    table = pd.DataFrame({"工号": serving.index, "单位": serving["单位"].to_numpy(), "得分": items.to_numpy(),
                          "有反馈月数": months_with_feedback(records["feedback"], serving, span,
                                                        rules["monthly_feedback_min"]).to_numpy()})
    eligible = pd.Series(~reasons.reindex(serving.index).map(has_reason).to_numpy(), index=table.index, dtype=bool)
    ranked = award_table(table, "得分", rules["tie_breaks"], eligible, rules, rules["award_title"])
    ranked.loc[~eligible.to_numpy(), "说明"] = ["列入解聘建议，不参加评优：" + "；".join(reasons[o])
                                              for o in serving.index[~eligible.to_numpy()]]
    return ranked


def past_awards(records: dict[str, pd.DataFrame], officers: pd.DataFrame, before_year: int, terms: dict,
                rules: dict) -> dict[str, list[str]]:
    """The 优秀信息员 of every year before `before_year` that has feedback: 工号 → ['2025年优秀信息员']."""
    dates = records["feedback"]["反馈日期"].dropna()
    found: dict[str, list[str]] = {}
    for number in sorted({d.year for d in dates if d.year < before_year}):
        ranked = annual_awards(records, officers, year(str(number)), terms, rules)
        for officer in ranked.loc[ranked["称号"] != "", "工号"]:
            found.setdefault(officer, []).append(f"{number}年{rules['award_title']}")
    return found


def monthly_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict) -> Figures:
    """The month's figures: 信息员 (status with every reason), 未交反馈, 班级配备, 档案."""
    officers = officers_of(records, rules)
    counting = counting_span(period.end, terms)
    up_to_now = so_far(counting, period.end)
    missed = missed_months_table(records["feedback"], officers, up_to_now, terms, rules["monthly_feedback_min"])
    run = consecutive_missed(missed, rules["missed_months_for_dismissal"])
    incidents = incident_reasons(records["incidents"], officers.index, up_to_now, rules["dismissal_incidents"])
    dismissal = pd.Series({o: [t for t in [run[o]] if t] + incidents[o] for o in officers.index},
                          dtype=object).reindex(officers.index)
    renewal = renewal_reasons(officers, period.end, rules["renewal_notice_days"])
    due = feedback_due(period, terms)
    missing_now = monthly_feedback_missing(records["feedback"], officers, period, rules["monthly_feedback_min"]) \
        if due else pd.Series(False, index=officers.index)
    serving = in_office_on(officers, period.start)
    extra = {"本月应交": pd.Series(["是" if due and o else "否" for o in serving.tolist()], index=officers.index),
             "本月未交": pd.Series(["是" if v else "" for v in missing_now], index=officers.index)}
    table = officer_table(officers, period, counting, records["feedback"], records["attendance"], dismissal,
                          renewal, extra)
    missing = table[table["本月未交"] == "是"][["工号", "姓名", "单位", "反馈数", "状态", "原因"]]
    staffing = unit_staffing(officers, period.end, rules["officers_per_class"], rules.get("expected_units", []))
    awards = past_awards(records, officers, period.year, terms, rules)
    tables = {"信息员": table, "未交反馈": missing.reset_index(drop=True), "班级配备": staffing,
              "档案": archive(records, officers, period.end, awards)}
    tables["趋势"] = feedback_trend(records["feedback"], period)
    facts = {"due": due, "missing": missing["工号"].tolist(),
             "dismissal": table.loc[table["状态"] == "建议解聘", "工号"].tolist(),
             "left": table.loc[table["状态"].isin(["毕业离任", "已离任"]), "工号"].tolist(),
             "staffing": staffing.to_dict("records")}
    return Figures(tables, facts)


def evaluation_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict,
                       is_term: bool) -> Figures:
    """The year's (or term's) assessment: 评优 by feedback items, 素质测评 points, 解聘建议, 档案."""
    officers = officers_of(records, rules)
    ranked = annual_awards(records, officers, period, terms, rules)
    if is_term:
        ranked = ranked.assign(称号="", 说明=ranked["说明"].where(ranked["说明"] != "",
                                                               f"{rules['award_title']}每学年评选一次"))
    serving = officers[serving_during(officers, period)]
    months = months_with_feedback(records["feedback"], serving, period, rules["monthly_feedback_min"])
    won = pd.Series((ranked["称号"] != "").to_numpy(), index=serving.index)
    points = quality_points(months, won, rules)
    dismissal = ranked[ranked["说明"].str.startswith("列入解聘建议")][["工号", "单位", "说明"]]
    ranked["说明"] = ["；".join(filter(None, [note, f"综合素质测评加{p:g}分"])) for note, p in zip(ranked["说明"], points)]
    quality = pd.DataFrame({"工号": serving.index, "单位": serving["单位"].to_numpy(), "有反馈月数": months.to_numpy(),
                            "优秀信息员": ["是" if w else "" for w in won], "测评加分": points.to_numpy()})
    awards = past_awards(records, officers, period.end.year + 1, terms, rules) if not is_term else {}
    tables = {"评优": ranked[["工号", "单位", "得分", "排名", "称号", "说明", "有反馈月数"]],
              "素质测评": quality, "解聘建议": dismissal.assign(说明=dismissal["说明"].str.removeprefix("列入解聘建议，不参加评优："))
              .rename(columns={"说明": "原因"}).reset_index(drop=True),
              "档案": archive(records, officers, period.end, awards)}
    facts = {"awards": ranked.loc[ranked["称号"] != "", "工号"].tolist(), "dismissal": dismissal["工号"].tolist()}
    return Figures(tables, facts)
