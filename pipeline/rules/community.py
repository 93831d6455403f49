"""社区信息员 (RULES.md community): the roster's 责任人 and members, meetings, the annual score and
优秀信息员, and the stable pseudonyms that keep informants out of every document for leaders."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.awards import award_table
from pipeline.rules.figures import Figures, feedback_trend, no_reasons, officer_table, officers_of
from pipeline.rules.officers import (feedback_items, in_office_on, meetings_attended, meetings_held, records_in,
                                     serving_during, unexcused_absences)
from pipeline.rules.periods import Period, so_far, year


def pseudonym_numbers(officers: pd.DataFrame, known: dict[str, int]) -> dict[str, int]:
    """Every officer's pseudonym number: the known ones kept for ever, newcomers numbered on after the
    highest, in order of 聘任日期 then 工号 (so the same roster always gets the same numbers)."""
    numbers = dict(known)
    newcomers = officers[~officers.index.isin(list(known))].sort_values(["聘任日期"], kind="stable")
    newcomers = newcomers.reset_index().sort_values(["聘任日期", "工号"], kind="stable")["工号"]
    next_number = max(numbers.values(), default=0) + 1
    for officer in newcomers:
        numbers[officer] = next_number
        next_number += 1
    return numbers


def pseudonym(number: int, prefix: str) -> str:
    """信息员07."""
    return f"{prefix}{number:02d}"


def roster_composition(officers: pd.DataFrame, day, rules: dict) -> list[str]:
    """What is wrong with the team on `day`: not exactly one 责任人 in office, or too few members."""
    serving = officers[in_office_on(officers, day)]
    heads = int((serving["职务"] == rules["responsible_role"]).sum())
    members = len(serving) - heads
    problems = []
    if heads != rules["responsible_persons"]:
        problems.append(f"在任{rules['responsible_role']}{heads}名，应为{rules['responsible_persons']}名")
    if members < rules["min_members"]:
        problems.append(f"在任成员{members}名，应不少于{rules['min_members']}名")
    return problems


def meeting_attendance(attendance: pd.DataFrame, officers: pd.Index, period: Period, types: list[str]) -> pd.DataFrame:
    """Per officer in the period (a month): 本月常规例会出席, 本月临时例会出席, 本月请假, 本月缺席."""
    rows = records_in(attendance, "活动日期", period)
    rows = rows[rows["活动类型"].isin(types)]
    table = {f"本月{kind}出席": meetings_attended(rows, officers, period, [kind]) for kind in types}
    table["本月请假"] = rows[rows["出勤"] == "请假"].groupby("工号").size().reindex(officers, fill_value=0).astype(int)
    table["本月缺席"] = unexcused_absences(rows, officers, period)
    return pd.DataFrame(table, index=officers)


def community_scores(feedback: pd.DataFrame, attendance: pd.DataFrame, officers: pd.Index, span: Period,
                     rules: dict) -> pd.DataFrame:
    """反馈数, 出席例会, 无故缺席 and 得分 = 2 × feedback items + 1 × meetings attended − 2 × unexcused absences
    (the weights from the preset)."""
    items = feedback_items(feedback, officers, span)
    attended = meetings_attended(attendance, officers, span, rules["meeting_types"])
    absences = unexcused_absences(attendance, officers, span)
    score = (items * rules["score_per_feedback"] + attended * rules["score_per_meeting"]
             + absences * rules["score_per_absence"])
    return pd.DataFrame({"反馈数": items, "出席例会": attended, "无故缺席": absences, "得分": score}, index=officers)


def monthly_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict) -> Figures:
    """The month's figures: 信息员, 例会 (meetings held), 例会出勤, 名册检查."""
    officers = officers_of(records, rules)
    the_year = year(str(period.year))
    table = officer_table(officers, period, the_year, records["feedback"], records["attendance"],
                          no_reasons(officers), no_reasons(officers))
    attendance = meeting_attendance(records["attendance"], pd.Index(table["工号"]), period, rules["meeting_types"])
    held = meetings_held(records["attendance"], period, rules["meeting_types"])
    composition = roster_composition(officers, period.end, rules)
    serving = officers[serving_during(officers, period)]
    year_so_far = so_far(the_year, period.end)
    scores = community_scores(records["feedback"], records["attendance"], serving.index, year_so_far, rules)
    table = table.merge(attendance, left_on="工号", right_index=True, how="left")
    table["本年累计得分"] = table["工号"].map(scores["得分"])
    tables = {"信息员": table, "例会": held,
              "名册检查": pd.DataFrame({"问题": composition}, columns=["问题"])}
    tables["趋势"] = feedback_trend(records["feedback"], period)
    facts = {"composition": composition, "meetings": len(held), "feedback": int(table["反馈数"].sum()),
             "active": int(in_office_on(officers, period.end).sum())}
    return Figures(tables, facts)


def evaluation_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period) -> Figures:
    """The year's assessment: every informant's score, rank and 优秀信息员 (top share, rounded up)."""
    officers = officers_of(records, rules)
    serving = officers[serving_during(officers, period)]
    scores = community_scores(records["feedback"], records["attendance"], serving.index, period, rules)
    table = pd.DataFrame({"工号": serving.index, "单位": serving["单位"].to_numpy(), **{
        column: scores[column].to_numpy() for column in ["得分", "反馈数", "出席例会", "无故缺席"]}})
    ranked = award_table(table, "得分", rules["tie_breaks"], pd.Series(True, index=table.index),
                         rules, rules["award_title"])
    ranked["说明"] = [note or f"反馈{f}条、出席例会{m}次、无故缺席{a}次"
                    for note, f, m, a in zip(ranked["说明"], ranked["反馈数"], ranked["出席例会"], ranked["无故缺席"])]
    tables = {"评优": ranked[["工号", "单位", "得分", "排名", "称号", "说明", "反馈数", "出席例会", "无故缺席"]]}
    facts = {"awards": ranked.loc[ranked["称号"] != "", "工号"].tolist(),
             "composition": roster_composition(officers, period.end, rules)}
    return Figures(tables, facts)
