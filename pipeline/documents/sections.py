"""Figures → the sections of a bulletin: headings, sentences and tables, per programme.

Templates only loop over what comes back: [{heading, paragraphs, tables: [{caption, columns, rows}]}].
"""
from __future__ import annotations

import pandas as pd

from pipeline.rules.figures import Figures

MAX_ROWS = 40
# Columns whose cells must not wrap inside a word (ids, unit names), so that a narrow table stays legible.
KEY_COLUMNS = ("工号", "单位", "系部", "班级", "对象", "网点", "服务工程师", "工单号")


def cell_text(value: object) -> str:
    """A value as a table cell prints it: dates as 2026-11-03, whole floats without .0, blanks empty."""
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d" if value == value.normalize() else "%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def percent_text(value: object) -> str:
    """A share as 85.0%; blank when there is none."""
    return "" if value is None or pd.isna(value) else f"{float(value) * 100:.1f}%"


def table(caption: str, frame: pd.DataFrame, columns: list[str] | None = None, text_columns=()) -> dict:
    """A table for the template: caption, header cells, rows of text cells (at most MAX_ROWS); a column
    named …率 or …占比 holds shares and prints as percentages."""
    columns = [c for c in (columns or list(frame.columns)) if c in frame]
    shares = [c.endswith(("率", "占比")) for c in columns]
    rows = [[percent_text(v) if is_share else cell_text(v) for v, is_share in zip(row, shares)]
            for row in frame[columns].head(MAX_ROWS).itertuples(index=False)]
    return {"caption": caption, "columns": columns, "rows": rows,
            "classes": [" ".join(filter(None, ["text" if c in text_columns else "", "key" if c in KEY_COLUMNS else ""]))
                        for c in columns],
            "more": max(0, len(frame) - MAX_ROWS)}


def listing(items: list[str]) -> str:
    return "、".join(items)


def officer_lines(frame: pd.DataFrame, status: str) -> list[str]:
    """The officers of one status, those with the same reason together: 原因：工号（单位）、工号（单位）."""
    rows = frame[frame["状态"] == status]
    grouped: dict[str, list[str]] = {}
    for _, r in rows.iterrows():
        grouped.setdefault(cell_text(r["原因"]), []).append(f"{r['工号']}（{r['单位']}）")
    return [f"{reason}：{'、'.join(who)}" if reason else "、".join(who) for reason, who in grouped.items()]


def officer_summary(figures: Figures, word: str) -> dict:
    """队伍情况: how many serve, and who is proposed for dismissal, renewal or left, with reasons."""
    officers = figures.tables["信息员"]
    counts = officers["状态"].value_counts()
    serving = len(officers) - int(counts.get("毕业离任", 0)) - int(counts.get("已离任", 0))
    paragraphs = [f"本月在任{word}{serving}名。"]
    for status, intro in (("建议解聘", "建议解聘"), ("期满待续聘", "任期届满或即将届满、请办理续聘"),
                          ("毕业离任", "本月毕业离任"), ("已离任", "本月离任")):
        if counts.get(status, 0):
            lines = officer_lines(officers, status)
            paragraphs.append(f"{intro}的{word}{int(counts[status])}名——" + "；".join(lines) + "。")
    return {"heading": f"{word}队伍情况", "paragraphs": paragraphs, "tables": []}


def correspondents_sections(figures: Figures, rules: dict) -> list[dict]:
    units, facts = figures.tables["单位"], figures.facts
    missed = units[units["达标"] == "否"]
    first = [f"本月{facts['units']}个单位共报送经审核的稿件{facts['submitted']}篇，市级以上媒体采用{facts['city_runs']}篇。"]
    if len(missed):
        first.append("以下单位未完成本月基本任务，予以通报批评，并按规定每月扣除单位宣传考核分"
                     f"{rules['deduction_per_missed_month']:g}分：" +
                     "；".join(f"{r['单位']}（{r['未达标项']}）" for _, r in missed.iterrows()) + "。")
    else:
        first.append("各单位均完成本月基本任务。")
    if facts["half_year_unfinished"]:
        first.append(f"本半年省级以上媒体采用任务未完成的单位：{listing(facts['half_year_unfinished'])}。")
    sections = [{"heading": "稿件报送与采用情况", "paragraphs": first, "tables": [table(
        "各单位稿件报送与采用情况", units,
        ["单位", "报送数", "市级采用数", "省级采用数", "国家级采用数", "市级以上采用数", "得分", "达标", "扣分"])]}]
    other = []
    if facts["staffing"]:
        other.append("通讯员配备不符合“每单位一名”要求的：" +
                     "；".join(f"{s['单位']}{s['问题']}" for s in facts["staffing"]) + "。")
    if facts["briefings_missing"]:
        other.append(f"{listing(facts['briefings_missing'])}未召开通讯员通报会。")
    if facts["disqualified"]:
        other.append(f"因严重违反新闻宣传纪律取消通讯员资格的：{listing(facts['disqualified'])}，所在单位宣传工作考核分全部扣除。")
    if other:
        sections.append({"heading": "队伍建设情况", "paragraphs": other, "tables": []})
    return sections


def teaching_sections(figures: Figures, word: str) -> list[dict]:
    facts = figures.facts
    sections = [officer_summary(figures, word)]
    if "missed_windows" in facts:
        paragraphs = []
        if facts["missed_windows"]:
            paragraphs.append("以下系部在本月结束的反馈周期内未交反馈表：" +
                              "；".join(f"{w['系部']}{w['周期']}" for w in facts["missed_windows"]) + "。")
        else:
            paragraphs.append("本月结束的各反馈周期，各系部均按时提交了反馈表。")
        paragraphs.append(f"本学期已召开工作会议{facts['office_meetings']}次。" + (
            facts["office_meeting_verdict"] + "。" if facts["office_meeting_verdict"] else ""))
        if facts["materials_missing"]:
            paragraphs.append("考核材料未交或逾期的：" + "；".join(
                f"{m['工号或单位']}{m['材料类型']}{m['情况']}" for m in facts["materials_missing"]) + "。")
        sections.append({"heading": "信息反馈与考核材料", "paragraphs": paragraphs, "tables": []})
    return sections


def class_officer_sections(figures: Figures, word: str) -> list[dict]:
    facts = figures.facts
    sections = [officer_summary(figures, word)]
    if not facts["due"]:
        text = ["本月不在学期内，不要求报送反馈表。"]
    elif facts["missing"]:
        text = [f"本月未交反馈表的{word}{len(facts['missing'])}名，请各班督促：{listing(facts['missing'])}。"]
    else:
        text = [f"本月各班{word}均按时提交了反馈表。"]
    if facts["staffing"]:
        text.append("信息员配备不符合“每班一名”要求的班级：" +
                    "；".join(f"{s['单位']}{s['问题']}" for s in facts["staffing"]) + "。")
    sections.append({"heading": "反馈表提交情况", "paragraphs": text, "tables": []})
    return sections


def community_sections(figures: Figures, word: str) -> list[dict]:
    facts = figures.facts
    text = [f"本月在任{word}{facts['active']}名，共反映社情信息{facts['feedback']}条，召开例会{facts['meetings']}次。"]
    if facts["composition"]:
        text.append("信息员队伍组成不符合规定：" + "；".join(facts["composition"]) + "。")
    officers = figures.tables["信息员"]
    return [{"heading": "信息收集与例会情况", "paragraphs": text, "tables": [table(
        f"各{word}本月工作情况（化名）", officers,
        ["工号", "单位", "反馈数", "本月常规例会出席", "本月临时例会出席", "本月缺席", "缺席次数", "本年累计得分"])]}]


def after_sales_sections(figures: Figures, rules: dict) -> list[dict]:
    """The service bulletin: the month's KPIs per outlet, the engineers ranked, cards to revisit — no
    customer's name, phone or address anywhere."""
    total, codes = figures.facts["total"], figures.facts["codes"]
    first = [f"本月各网点共完成服务工单{total['工单数']}张。上门、拉修准时率{percent_text(total['准时率'])}，"
             f"其中按要求提前{rules['early_arrival_min_minutes']}—{rules['early_arrival_max_minutes']}分钟到达的"
             f"占{percent_text(total['提前到达达标率'])}；回访合格率{percent_text(total['回访合格率'])}；"
             f"满意率{percent_text(total['满意率'])}。"]
    found = [f"{code}{n}张" for code, n in codes.items() if n]
    if found:
        first.append("监督卡检查发现：" + "、".join(found) + "。")
    sections = [{"heading": "服务质量总体情况", "paragraphs": first, "tables": [table(
        "各网点服务质量", figures.tables["网点"],
        ["网点", "工单数", "准时率", "提前到达达标率", "回访合格率", "满意率", "交卡超时数", "问题工单数"])]}]
    engineers = figures.tables["工程师"]
    text = ["服务工程师按满意率、准时率、回访合格率依次排名如下。"]
    if figures.facts["anomalies"]:
        text.append("以下工程师的监督卡“满意”比例与回访结果明显不符，请服务中心复核：" +
                    "、".join(f"{o}{e}" for o, e in figures.facts["anomalies"]) + "。")
    sections.append({"heading": "服务工程师排名", "paragraphs": text, "tables": [table(
        "服务工程师排名", engineers, ["排名", "网点", "服务工程师", "工单数", "满意率", "准时率", "回访合格率",
                               "问题工单数", "复核"])]})
    revisit = figures.tables["需再次上门"]
    words = [f"用户不满意、需再次上门的工单{len(revisit)}张，请各网点跟踪服务直至用户满意。" if len(revisit)
             else "本月没有需再次上门的工单。"]
    sections.append({"heading": "需再次上门的工单", "paragraphs": words, "tables": [table(
        "需再次上门的工单", revisit, ["工单号", "网点", "服务工程师", "完工时间", "用户评价", "回访结果"])] if len(revisit)
        else []})
    return sections


def programme_sections(preset: str, figures: Figures, rules: dict, word: str) -> list[dict]:
    """The bulletin's sections on the programme's own rules."""
    if preset == "correspondents":
        return correspondents_sections(figures, rules)
    if preset == "teaching":
        return teaching_sections(figures, word)
    if preset == "class-officers":
        return class_officer_sections(figures, word)
    if preset == "community":
        return community_sections(figures, word)
    if preset == "after-sales":
        return after_sales_sections(figures, rules)
    return [officer_summary(figures, word)] if "信息员" in figures.tables else []
