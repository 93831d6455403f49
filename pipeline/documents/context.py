"""Figures → what documents print: sentences, table rows, the document's header fields."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from pipeline.documents.sections import programme_sections, table
from pipeline.problems import ERROR, Problem
from pipeline.rules.periods import Period
from pipeline.settings import Programme

ANNEX_PROBLEM_ROWS = 60
NUMERALS = "一二三四五六七八九十"


def document_number(programme: Programme, period: Period, number: int) -> str:
    """发文字号 such as 交宣〔2026〕11号."""
    return f"{programme['doc_prefix']}〔{period.year}〕{number}号"


def date_text(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def document_header(programme: Programme, period: Period, title: str, number: int, subject: str) -> dict:
    """The fields of the official-document header and closing block."""
    issued = period.end
    return {
        "office": programme["issuing_office"],
        "number": document_number(programme, period, number),
        "title": title,
        "subject": subject,
        "salutation": programme.config.get("salutation", "各" + programme["unit_word"]),
        "copy_to": programme["copy_to"],
        "date_text": date_text(issued),
        "created": issued.isoformat() + "T00:00:00+00:00",
    }


def problem_summary(problems: list[Problem]) -> str:
    """One sentence on the problems: how many rows, sheets and files were sent back."""
    errors = [p for p in problems if p.severity == ERROR]
    rows = len({(p.file, p.sheet, p.row) for p in errors if p.row is not None and p.code != "E_SHEET_HEADER"})
    sheets = len({(p.file, p.sheet) for p in errors if p.code == "E_SHEET_HEADER"})
    files = len({p.file for p in errors if p.code.startswith("E_FILE") or p.code == "E_CSV_ENCODING"})
    parts = []
    if rows:
        parts.append(f"{rows}行数据有误未计入")
    if sheets:
        parts.append(f"{sheets}张工作表表头不符被退回")
    if files:
        parts.append(f"{files}个文件无法打开")
    return ("，".join(parts) + "。") if parts else "全部数据通过校验。"


def monthly_context(programme: Programme, period: Period, counts: pd.DataFrame, files: list,
                    problems: list[Problem], figures=None) -> dict:
    """Everything the monthly bulletin template prints."""
    title = programme["document_title"].format(year=period.year, month=period.start.month)
    accepted = sum(f.accepted for f in files if f.status == "新读入")
    in_period = int(counts["本期记录"].sum()) if len(counts) else 0
    facts = [
        f"{period.label}，{programme.title}工作按计划开展。本月共收到各{programme['unit_word']}报送的登记表"
        f"{len(files)}份，其中新报送{sum(f.status == '新读入' for f in files)}份，新接收有效记录{accepted}条；"
        f"归入本月的记录共{in_period}条。{problem_summary(problems)}",
    ]
    next_steps = [
        f"请各{programme['unit_word']}按规定时间报送登记表，使用统一模板填写，确保数据准确完整。",
        "对附件所列退回数据，请填报人依据退回副本中的批注修改后重新报送。",
    ]
    sections = programme_sections(programme.preset, figures, programme.rules, programme["officer_word"]) \
        if figures is not None else []
    sections.append({"heading": "本月数据接收情况", "paragraphs": [], "tables": [
        table(f"{period.label}各类登记表记录数", counts.rename(columns={"本期记录": "本月记录"}), text_columns=("表格种类",))]})
    sections.append({"heading": "下一步工作要求", "paragraphs": next_steps, "tables": []})
    numbered = 0
    for number, section in enumerate(sections):
        section["heading"] = f"{NUMERALS[number]}、{section['heading']}"
        for t in section["tables"]:
            numbered += 1
            t["number"] = numbered
    # A bulletin of a confidential programme or one with customers' data does not quote cell contents.
    secret = bool(programme.config.get("confidential") or programme.config.get("personal_data"))
    shown = [{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
              "text": replace(p, value="").message if secret else p.message}
             for p in problems[:ANNEX_PROBLEM_ROWS]]
    return {
        "doc": document_header(programme, period, title, period.start.month, f"{programme.title}月度通报"),
        "period": {"label": period.label},
        "facts": facts,
        "sections": sections,
        "files_total": len(files),
        "problem_summary": problem_summary(problems),
        "problems": shown,
        "problems_more": max(0, len(problems) - ANNEX_PROBLEM_ROWS),
    }


def evaluation_context(programme: Programme, period: Period, figures, problems: list[Problem], is_term: bool) -> dict:
    """Everything the assessment document prints: the awards, then every other table of the assessment."""
    word = programme["officer_word"]
    title = f"关于{period.label}{programme.title}考核评优情况的通报"
    number = f"{programme['doc_prefix']}评〔{period.end.year}〕1号"
    ranking = figures.tables["评优"]
    winners = ranking[ranking["称号"] != ""]
    opening = [f"根据{programme.title}管理制度，现将{period.label}{word}考核评优情况通报如下。"]
    sections = []
    if len(winners):
        named = "；".join(f"{t}：" + "、".join(
            (f"{r['单位']}" if r.get("对象") == "单位" else f"{r['工号']}（{r['单位']}）")
            for _, r in winners[winners["称号"] == t].iterrows()) for t in dict.fromkeys(winners["称号"]))
        sections.append({"heading": "评优结果", "paragraphs": [f"经考核，评选结果如下——{named}。"],
                         "tables": [table("考核得分与排名", ranking, [c for c in ("对象", "工号", "单位", "得分",
                                                                            "排名", "称号") if c in ranking])]})
    else:
        reason = "优秀称号每学年评选一次，本学期不评选。" if is_term else "本期无人符合评优条件。"
        sections.append({"heading": "考核得分", "paragraphs": [reason], "tables": [
            table("考核得分与排名", ranking, [c for c in ("工号", "单位", "得分", "排名") if c in ranking])]})
    for name, frame in figures.tables.items():
        if name == "评优" or name == "档案":
            continue
        text = [f"共{len(frame)}项。"] if len(frame) else ["无。"]
        sections.append({"heading": name, "paragraphs": text,
                         "tables": [table(name, frame)] if len(frame) else []})
    for key in ("office_meeting_verdict",):
        if figures.facts.get(key):
            sections.append({"heading": "工作会议", "paragraphs": [figures.facts[key] + "。"], "tables": []})
    numbered = 0
    for number_, section in enumerate(sections):
        section["heading"] = f"{NUMERALS[number_]}、{section['heading']}"
        for t in section["tables"]:
            numbered += 1
            t["number"] = numbered
    doc = document_header(programme, period, title, 1, f"{programme.title}考核评优")
    doc["number"] = number
    return {"doc": doc, "period": {"label": period.label}, "facts": opening, "sections": sections,
            "problem_summary": problem_summary(problems)}


def daily_context(programme: Programme, period: Period, figures, problems: list[Problem]) -> dict:
    """Everything the daily reconciliation sheet prints: per outlet, the problem cards per engineer."""
    total = figures.facts["total"]
    opening = [f"{period.label}各网点完成服务工单{total['工单数']}张，其中有问题的{total['问题工单数']}张，"
               f"交卡超时{total['交卡超时数']}张。{problem_summary(problems)}"]
    sections = [
        {"heading": "各网点对账", "paragraphs": [], "tables": [table("完工、交回、上报情况", figures.tables["对账"])]},
        {"heading": "问题工单", "paragraphs": [] if len(figures.tables["问题工单"]) else ["无。"],
         "tables": [table("按网点、工程师列出的问题工单", figures.tables["问题工单"],
                          ["网点", "服务工程师", "工单号", "完工时间", "问题"])] if len(figures.tables["问题工单"]) else []},
    ]
    if figures.facts["changed"]:
        sections.append({"heading": "已更新的工单", "paragraphs": [
            "以下工单在原报送后又报送了新的内容，本对账单按最新内容计算：" + "、".join(figures.facts["changed"]) + "。"],
            "tables": []})
    for number, section in enumerate(sections):
        section["heading"] = f"{NUMERALS[number]}、{section['heading']}"
    numbered = 0
    for section in sections:
        for t in section["tables"]:
            numbered += 1
            t["number"] = numbered
    doc = document_header(programme, period, f"{period.label}服务任务监督卡对账单", period.start.day,
                          f"{programme.title}对账单")
    doc["number"] = f"{programme['doc_prefix']}对〔{period.start.year}〕{period.start.strftime('%m%d')}号"
    return {"doc": doc, "period": {"label": period.label}, "facts": opening, "sections": sections,
            "problem_summary": problem_summary(problems)}
