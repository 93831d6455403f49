"""Figures → what documents print: sentences, table rows, the document's header fields."""
from __future__ import annotations

import pandas as pd

from pipeline.problems import ERROR, Problem
from pipeline.rules.periods import Period
from pipeline.settings import Programme

ANNEX_PROBLEM_ROWS = 60


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
                    problems: list[Problem]) -> dict:
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
    shown = [{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column, "text": p.message}
             for p in problems[:ANNEX_PROBLEM_ROWS]]
    return {
        "doc": document_header(programme, period, title, period.start.month, f"{programme.title}月度通报"),
        "period": {"label": period.label},
        "facts": facts,
        "next_steps": next_steps,
        "counts": [{"kind": r["表格种类"], "total": r["累计有效记录"], "in_period": r["本期记录"]}
                   for r in counts.to_dict("records")],
        "files_total": len(files),
        "problem_summary": problem_summary(problems),
        "problems": shown,
        "problems_more": max(0, len(problems) - ANNEX_PROBLEM_ROWS),
    }
