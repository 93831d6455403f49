"""Figures → the words and tables of a bulletin, per programme: the opening facts in prose, numbered
sections (statistics with charts, the commended and the criticised, the programme's own lists).

Templates only loop over what comes back: sections are {heading, paragraphs, tables, charts}.
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

from pipeline.documents.charts import MAX_BARS, bar_chart, histogram, line_chart
from pipeline.rules.figures import Figures

MAX_ROWS = 40
# Columns whose cells must not wrap inside a word (ids, unit names), so that a narrow table stays legible.
KEY_COLUMNS = ("工号", "单位", "系部", "班级", "网格", "对象", "网点", "服务工程师", "工单号")
CIRCLED = "一二三四五六七八九十"


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
    keys = [c in KEY_COLUMNS for c in columns]
    return {"caption": caption, "columns": columns, "rows": rows,
            "classes": [" ".join(filter(None, ["text" if c in text_columns else "", "key" if key else ""]))
                        for c, key in zip(columns, keys)],
            "widths": column_widths(columns, rows, keys),
            "more": max(0, len(frame) - MAX_ROWS)}


# A table's columns are given their widths here (table-layout: fixed), as the browser's automatic layout
# would share them out, from the texts' lengths: WeasyPrint then lays each cell out once, where working
# out every cell's narrowest and widest line first took about a third of a bulletin's layout (~0.06 s of
# the after-sales bulletin's 0.9 s). Lengths in em of the 12 pt table text (official.css): a CJK character
# is one em, any other character about 0.55; each cell adds its padding and border (2 × 1.5 mm + 0.3 mm).
EM_MM = 12 * 25.4 / 72                       # one em of the 12 pt table text, in mm
TABLE_EM = 156 / EM_MM                       # the 156 mm text block
CELL_EM = 3.3 / EM_MM
UNBROKEN = re.compile(r"[!-~]+|\S")          # a run of ASCII (a number, an id) breaks nowhere; CJK anywhere


def text_em(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)


def column_widths(columns: list[str], rows: list[list[str]], keys: list[bool]) -> list[str]:
    """Each column's share of the table's width, as CSS 2.1's automatic layout shares it out: every
    column its widest cell when all fit (the room left shared in proportion); else every column its
    narrowest possible line (a key column's whole cell: it does not wrap) and the rest shared in
    proportion to what each would need more to take no wrapping."""
    widest, narrowest = [], []
    for number, header in enumerate(columns):
        cells = [header, *(row[number] for row in rows)]
        widest.append(max(text_em(cell) for cell in cells) + CELL_EM)
        narrowest.append(widest[-1] if keys[number] else
                         max((text_em(piece) for cell in cells for piece in UNBROKEN.findall(cell)), default=0.0)
                         + CELL_EM)
    if sum(widest) <= TABLE_EM:
        widths = widest
    elif sum(narrowest) < TABLE_EM:
        wanted = sum(w - n for w, n in zip(widest, narrowest))
        widths = [n + (TABLE_EM - sum(narrowest)) * (w - n) / wanted for w, n in zip(widest, narrowest)]
    else:
        widths = narrowest
    total = sum(widths)
    return [f"{width / total * 100:.2f}%" for width in widths]


def section(heading: str, paragraphs: list[str], tables: list[dict] = (), charts: list[dict] = (),
            parts: list[dict] = ()) -> dict:
    """A numbered section (一、): its paragraphs, charts and tables, then its sub-sections (（一）)."""
    return {"heading": heading, "paragraphs": list(paragraphs), "tables": list(tables), "charts": list(charts),
            "parts": list(parts)}


def part(heading: str, paragraphs: list[str]) -> dict:
    """A sub-section （一） of a section: a heading and paragraphs (numbered when the document is)."""
    return {"heading": heading, "paragraphs": list(paragraphs)}


def chart(caption: str, svg) -> dict:
    return {"caption": caption, "svg": svg}


def listing(items: list[str]) -> str:
    return "、".join(items)


def trend_chart(trend: pd.DataFrame, columns: list[str], title: str, percent: bool = False) -> list[dict]:
    """The trend over the last months as a line chart, when at least two months hold data."""
    if trend is None or trend.empty or (trend[columns].fillna(0) != 0).any(axis=1).sum() < 2:
        return []
    labels = [label.split("年")[1] for label in trend["月份"]]
    return [chart(title, line_chart(title, labels, {c: trend[c].astype(float).tolist() for c in columns},
                                    percent=percent))]


def per_unit_feedback_chart(officers: pd.DataFrame, word: str, unit_word: str) -> list[dict]:
    """Feedback items of the month per unit, as bars; for more units than bars can show side by side
    (a college's 300 classes), how many units gave how many items."""
    by_unit = officers.groupby("单位", sort=False)["反馈数"].sum()
    if by_unit.empty:
        return []
    title = f"本月各{unit_word}{word}反馈条数"
    if len(by_unit) > MAX_BARS:
        title += "分布"
        return [chart(title, histogram(title, by_unit.astype(float).tolist(), unit="条", counted=f"{unit_word}数"))]
    return [chart(title, bar_chart(title, list(by_unit.index), {"反馈数": by_unit.astype(float).tolist()}))]


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
            paragraphs.append(f"{intro}的{word}{int(counts[status])}名——" + "；".join(officer_lines(officers, status)) + "。")
    return section(f"{word}队伍情况", paragraphs)


def top_officers(officers: pd.DataFrame, column: str, count: int) -> pd.DataFrame:
    """The officers with the most of `column` this month (at least one), for commendation."""
    ranked = officers[officers[column] > 0].sort_values(column, ascending=False, kind="stable")
    return ranked.head(count)


# -- per programme ---------------------------------------------------------------------------------
def correspondents_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    rules, units, facts = config["rules"], figures.tables["单位"], figures.facts
    met, missed = units[units["达标"] == "是"], units[units["达标"] == "否"]
    runs = {level: int(units[f"{level}采用数"].sum()) for level in ("省级", "国家级")}
    opening = [f"{period.start.month}月份，{config['whole_word']}{facts['units']}个单位共报送经审核的稿件"
               f"{facts['submitted']}篇，其中市级以上媒体采用{facts['city_runs']}篇（省级{runs['省级']}篇、"
               f"国家级{runs['国家级']}篇）；{len(met)}个单位完成月度基本任务，{len(missed)}个单位未完成。"]
    quota_chart = bar_chart("各单位报送与采用情况", units["单位"].tolist(),
                            {"报送数": units["报送数"].astype(float).tolist(),
                             "市级以上采用数": units["市级以上采用数"].astype(float).tolist()},
                            lines=[(f"报送任务{rules['monthly_submissions']}篇", rules["monthly_submissions"]),
                                   (f"采用任务{rules['monthly_city_runs']}篇", rules["monthly_city_runs"])])
    stats = section("稿件报送与采用情况", [], [table(
        "各单位稿件报送与采用情况", units,
        ["单位", "报送数", "市级采用数", "省级采用数", "国家级采用数", "市级以上采用数", "得分", "达标", "扣分"])],
        [chart("各单位报送与采用情况", quota_chart)] + trend_chart(
            figures.tables.get("趋势"), ["报送数", "市级以上采用数"], "近六个月报送与采用趋势"))
    praise = met.sort_values("得分", ascending=False, kind="stable").head(config["commend_count"])
    commended = ["对完成任务且稿件得分居前的" + listing(f"{r['单位']}（{cell_text(r['得分'])}分）"
                                                for _, r in praise.iterrows()) + "予以通报表扬。"] if len(praise) \
        else ["本月无单位完成基本任务。"]
    criticised = []
    if len(missed):
        criticised.append("以下单位未完成本月基本任务，予以通报批评，并按规定扣除单位宣传考核分"
                          f"{rules['deduction_per_missed_month']:g}分：" +
                          "；".join(f"{r['单位']}（{r['未达标项']}）" for _, r in missed.iterrows()) + "。")
    if facts["half_year_unfinished"]:
        criticised.append(f"本半年省级以上媒体采用任务未完成的单位：{listing(facts['half_year_unfinished'])}。")
    sections = [stats, section("表扬与批评", [], parts=[part("通报表扬", commended),
                                                     part("通报批评", criticised or ["各单位均完成本月基本任务。"])])]
    other = []
    if facts["staffing"]:
        other.append("通讯员配备不符合“每单位一名”要求的：" +
                     "；".join(f"{s['单位']}{s['问题']}" for s in facts["staffing"]) + "。")
    if facts["briefings_missing"]:
        other.append(f"{listing(facts['briefings_missing'])}未召开通讯员通报会。")
    if facts["disqualified"]:
        other.append(f"因严重违反新闻宣传纪律取消通讯员资格的：{listing(facts['disqualified'])}，所在单位宣传工作考核分全部扣除。")
    if other:
        sections.append(section("队伍建设情况", other))
    return opening, sections


def teaching_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    facts, officers, word = figures.facts, figures.tables["信息员"], config["officer_word"]
    items, handled = int(officers["反馈数"].sum()), int(officers["已处理数"].sum())
    opening = [f"{period.start.month}月份，{config['whole_word']}{len(officers)}名{word}共反馈教学信息{items}条，"
               f"其中已处理{handled}条。" + (f"本月为{facts['term']}。" if facts["term"] else "")]
    by_unit = officers.groupby("单位", sort=False).agg(在任人数=("工号", "size"), 反馈数=("反馈数", "sum"),
                                                      已处理数=("已处理数", "sum"), 缺席次数=("缺席次数", "sum")).reset_index()
    stats = section("信息反馈情况", [], [table(f"各{config['unit_word']}{word}反馈情况",
                                               by_unit.rename(columns={"单位": config["unit_word"]}))],
                    per_unit_feedback_chart(officers, word, config["unit_word"])
                    + trend_chart(figures.tables.get("趋势"), ["反馈数", "已处理数"], "近六个月反馈趋势"))
    if "missed_windows" in facts:
        stats["paragraphs"].append(
            "以下系部在本月结束的反馈周期内未交反馈表：" + "；".join(f"{w['系部']}{w['周期']}" for w in facts["missed_windows"]) + "。"
            if facts["missed_windows"] else "本月结束的各反馈周期，各系部均按时提交了反馈表。")
        stats["paragraphs"].append(f"本学期已召开工作会议{facts['office_meetings']}次。" + (
            facts["office_meeting_verdict"] + "。" if facts["office_meeting_verdict"] else ""))
        if facts["materials_missing"]:
            stats["paragraphs"].append("考核材料未交或逾期的：" + "；".join(
                f"{m['工号或单位']}{m['材料类型']}{m['情况']}" for m in facts["materials_missing"]) + "。")
    praise = top_officers(officers, "已处理数", config["commend_count"])
    judged = ["本月反馈意见被采纳处理较多、予以表扬的：" + listing(
        f"{r['工号']}（{r['单位']}，{r['已处理数']}条）" for _, r in praise.iterrows()) + "。"] if len(praise) else []
    return opening, [stats, section("表扬", judged or ["本月无。"]), officer_summary(figures, word)]


def class_officer_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    facts, officers, word = figures.facts, figures.tables["信息员"], config["officer_word"]
    handed = int((officers["反馈数"] > 0).sum())
    opening = [f"{period.start.month}月份，{config['whole_word']}{len(officers)}名{word}中{handed}名提交了反馈意见，"
               f"共{int(officers['反馈数'].sum())}条。"]
    if not facts["due"]:
        text = ["本月不在学期内，不要求报送反馈表。"]
    elif facts["missing"]:
        text = [f"本月未交反馈表的{word}{len(facts['missing'])}名，予以提醒：{listing(facts['missing'])}。"]
    else:
        text = [f"本月各班{word}均按时提交了反馈表，予以表扬。"]
    if facts["staffing"]:
        text.append("信息员配备不符合“每班一名”要求的班级：" +
                    "；".join(f"{s['单位']}{s['问题']}" for s in facts["staffing"]) + "。")
    stats = section("反馈表提交情况", text, [table(f"各{config['unit_word']}{word}本月反馈情况", officers,
                                                 ["单位", "工号", "反馈数", "缺席次数", "状态"])],
                    per_unit_feedback_chart(officers, word, config["unit_word"])
                    + trend_chart(figures.tables.get("趋势"), ["反馈数"], "近六个月反馈趋势"))
    return opening, [stats, officer_summary(figures, word)]


def community_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    facts, officers, word = figures.facts, figures.tables["信息员"], config["officer_word"]
    opening = [f"{period.start.month}月份，{config['whole_word']}在任{word}{facts['active']}名，共反映社情信息"
               f"{facts['feedback']}条，召开例会{facts['meetings']}次。"]
    text = ["信息员队伍组成不符合规定：" + "；".join(facts["composition"]) + "。"] if facts["composition"] else []
    stats = section("信息收集与例会情况", text, [table(
        f"各{word}本月工作情况（化名）", officers,
        ["工号", "单位", "反馈数", "本月常规例会出席", "本月临时例会出席", "本月缺席", "缺席次数", "本年累计得分"])],
        per_unit_feedback_chart(officers, word, config["unit_word"])
        + trend_chart(figures.tables.get("趋势"), ["反馈数"], "近六个月社情信息趋势"))
    praise = top_officers(officers, "反馈数", config["commend_count"])
    absent = officers[officers["本月缺席"] > 0]
    judged = []
    if len(praise):
        judged.append("本月反映信息较多的" + listing(f"{r['工号']}（{r['反馈数']}条）" for _, r in praise.iterrows()) + "，予以表扬。")
    if len(absent):
        judged.append("本月无故缺席例会的：" + listing(absent["工号"].tolist()) + "，请责任人督促。")
    return opening, [stats, section("表扬与提醒", judged or ["本月无。"])]


def after_sales_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    """The service bulletin: KPIs per outlet, engineers ranked, cards to revisit — no customer's data."""
    rules, total, codes = config["rules"], figures.facts["total"], figures.facts["codes"]
    opening = [f"{period.start.month}月份，{config['whole_word']}各网点共完成服务工单{total['工单数']}张。上门、拉修准时率"
               f"{percent_text(total['准时率'])}，其中按要求提前{rules['early_arrival_min_minutes']}—"
               f"{rules['early_arrival_max_minutes']}分钟到达的占{percent_text(total['提前到达达标率'])}；回访合格率"
               f"{percent_text(total['回访合格率'])}；满意率{percent_text(total['满意率'])}。"]
    found = [f"{code}{n}张" for code, n in codes.items() if n]
    outlets = figures.tables["网点"]
    kpi_chart = bar_chart("各网点准时率与满意率", outlets["网点"].tolist(),
                          {"准时率": outlets["准时率"].astype(float).tolist(),
                           "满意率": outlets["满意率"].astype(float).tolist()}, percent=True)
    stats = section("服务质量总体情况", ["监督卡检查发现：" + "、".join(found) + "。"] if found else [],
                    [table("各网点服务质量", outlets,
                           ["网点", "工单数", "准时率", "提前到达达标率", "回访合格率", "满意率", "交卡超时数", "问题工单数"])],
                    [chart("各网点准时率与满意率", kpi_chart)]
                    + trend_chart(figures.tables.get("趋势"), ["准时率", "满意率"], "近六个月准时率与满意率", percent=True))
    engineers = figures.tables["工程师"]
    text = ["服务工程师按" + "、".join(rules["engineer_rank_by"]) + "依次排名如下。"]
    best = engineers.head(config["commend_count"])
    if len(best):
        text.append("排名居前的" + listing(f"{r['网点']}{r['服务工程师']}" for _, r in best.iterrows()) + "予以表扬。")
    if figures.facts["anomalies"]:
        text.append("以下工程师的监督卡“满意”比例与回访结果明显不符，请服务中心复核：" +
                    listing(f"{o}{e}" for o, e in figures.facts["anomalies"]) + "。")
    ranking = section("服务工程师排名", text, [table(
        "服务工程师排名", engineers, ["排名", "网点", "服务工程师", "工单数", "满意率", "准时率", "回访合格率",
                               "问题工单数", "复核"])])
    revisit = figures.tables["需再次上门"]
    words = [f"用户不满意、需再次上门的工单{len(revisit)}张，请各网点跟踪服务直至用户满意。" if len(revisit)
             else "本月没有需再次上门的工单。"]
    later = section("需再次上门的工单", words, [table(
        "需再次上门的工单", revisit, ["工单号", "网点", "服务工程师", "完工时间", "用户评价", "回访结果"])] if len(revisit) else [])
    return opening, [stats, ranking, later]


def generic_document(figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    return [], [officer_summary(figures, config["officer_word"])] if "信息员" in figures.tables else []


DOCUMENTS = {"correspondents": correspondents_document, "teaching": teaching_document,
             "class-officers": class_officer_document, "community": community_document,
             "after-sales": after_sales_document}


def programme_document(preset: str, figures: Figures, config: dict, period) -> tuple[list[str], list[dict]]:
    """The bulletin's opening prose and its sections on the programme's own rules."""
    return DOCUMENTS.get(preset, generic_document)(figures, config, period)
