"""Figures → what documents print: the header fields, the prose, numbered sections, the annex."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from pipeline.documents.charts import histogram
from pipeline.documents.sections import chart, programme_document, section, table
from pipeline.problems import ERROR, Problem
from pipeline.rules.periods import Period
from pipeline.settings import Programme

ANNEX_PROBLEM_ROWS = 60
NUMERALS = "一二三四五六七八九十"


def date_text(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def document_number(programme: Programme, year: int, number: int) -> str:
    """发文字号 such as 交宣〔2026〕11号."""
    return f"{programme['doc_prefix']}〔{year}〕{number}号"


TEXT_BLOCK_PT = 442.0        # 156 mm
OFFICE_MAX_PT, OFFICE_SPACING_PT = 30.0, 2.0
TITLE_EMS = 20               # 二号 (22 pt) characters on a line of the text block
GOOD_BREAKS = "的于和与及"


def office_size(office: str) -> float:
    """The issuing office's font size: 30 pt, smaller when needed to keep the name on one line."""
    count = max(len(office), 1)
    return min(OFFICE_MAX_PT, round((TEXT_BLOCK_PT - 4 - OFFICE_SPACING_PT * count) / count - 0.05, 1))


def ems(text: str) -> float:
    """Width in characters: CJK one, ASCII (digits) half."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text)


# Words a title line never breaks inside (with the programme's own title), so that 回行时词意完整.
WHOLE_WORDS = ("关于", "月份", "秋季", "春季", "学期", "学年", "考核评优", "工作情况", "情况", "通报", "质量",
               "信息", "宣传", "售后服务", "对账单", "监督卡")


def title_lines(title: str, words: tuple[str, ...] = ()) -> list[str]:
    """The title in lines of balanced length (GB/T 9704: 回行时词意完整、排列对称): broken between words,
    never inside a number or one of `words` (and WHOLE_WORDS), preferably after 的/于/和, nearest the middle."""
    if ems(title) <= TITLE_EMS:
        return [title]
    inside = set()
    for word in (*words, *WHOLE_WORDS):
        start = title.find(word)
        while start >= 0:
            inside.update(range(start + 1, start + len(word)))
            start = title.find(word, start + 1)
    candidates = [k for k in range(1, len(title))
                  if k not in inside and not (title[k - 1].isascii() and title[k].isascii())
                  and ems(title[:k]) <= TITLE_EMS and ems(title[k:]) <= TITLE_EMS]
    if not candidates:
        return [title]
    half = ems(title) / 2

    def cost(k: int) -> float:
        return abs(ems(title[:k]) - half) - (1.5 if title[k - 1] in GOOD_BREAKS else 0)

    k = min(candidates, key=cost)
    return [title[:k], title[k:]]


def document_header(programme: Programme, title: str, number: str, subject: str, issued: dt.date) -> dict:
    """The fields of the official-document header, the closing block and the PDF's metadata."""
    return {
        "office": programme["issuing_office"],
        "office_size": office_size(programme["issuing_office"]),
        "title_lines": title_lines(title, (programme.title,)),
        "number": number,
        "title": title,
        "subject": subject,
        "salutation": programme.config.get("salutation", "各" + programme["unit_word"]),
        "copy_to": programme["copy_to"],
        "date_text": date_text(issued),
        "created": issued.isoformat() + "T00:00:00+00:00",
    }


def numbered(sections: list[dict]) -> list[dict]:
    """Headings 一、二、…; tables 表1, 表2 …; charts 图1, 图2 … through the document."""
    tables = charts = 0
    for index, part in enumerate(sections):
        part["heading"] = f"{NUMERALS[index]}、{part['heading']}"
        part.setdefault("charts", [])
        for sub_index, sub in enumerate(part.setdefault("parts", [])):
            sub["heading"] = f"（{NUMERALS[sub_index]}）{sub['heading']}"
        for t in part["tables"]:
            tables += 1
            t["label"] = f"表{tables}"
        for c in part["charts"]:
            charts += 1
            c["label"] = f"图{charts}"
    return sections


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


def quotes_cells(programme: Programme) -> bool:
    """Whether a document may quote what a clerk typed in a cell: not for a confidential programme nor
    one whose forms hold customers' personal data."""
    return not (programme.config.get("confidential") or programme.config.get("personal_data"))


def annex(programme: Programme, files: list, problems: list[Problem], counts: pd.DataFrame, period: Period) -> dict:
    """The annex: what was received, and every problem sent back (cell contents left out where secret)."""
    quote = quotes_cells(programme)
    shown = [{"file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
              "text": p.message if quote else replace(p, value="").message}
             for p in problems[:ANNEX_PROBLEM_ROWS]]
    # What the inbox holds, not what this run happened to read first: a rerun gives the same words.
    in_period = int(counts["本期记录"].sum()) if len(counts) else 0
    received = (f"收件箱中共有各{programme['unit_word']}报送的登记表{len(files)}份，有效记录"
                f"{sum(f.accepted for f in files)}条，其中归入{period.label}的{in_period}条。{problem_summary(problems)}")
    return {"received": received, "files_total": len(files), "problem_summary": problem_summary(problems),
            "problems": shown, "problems_more": max(0, len(problems) - ANNEX_PROBLEM_ROWS),
            "counts": {**table(f"{period.label}各类登记表记录数", counts.rename(columns={"本期记录": "本月记录"}),
                               text_columns=("表格种类",)), "label": "附表1"}}


def monthly_context(programme: Programme, period: Period, counts: pd.DataFrame, files: list,
                    problems: list[Problem], figures, number: int) -> dict:
    """Everything the monthly bulletin prints."""
    title = programme["document_title"].format(year=period.year, month=period.start.month)
    opening, sections = programme_document(programme.preset, figures, programme.config, period)
    steps = list(programme.config.get("next_steps", []))
    if any(p.severity == ERROR for p in problems):
        steps.append("对附件所列退回数据，请填报人依据退回副本中的批注修改后重新报送。")
    sections.append(section("下一步工作要求", steps))
    doc = document_header(programme, title, document_number(programme, period.year, number),
                          f"{programme.title}{period.label}月度通报", period.end)
    return {"doc": doc, "period": {"label": period.label}, "facts": opening, "sections": numbered(sections),
            "workbook": "统计表.xlsx", "annex": annex(programme, files, problems, counts, period)}


def evaluation_context(programme: Programme, period: Period, figures, problems: list[Problem], is_term: bool,
                       number: int, issued: dt.date) -> dict:
    """Everything the assessment document prints: the awards with the ranking and the distribution of
    scores, then dismissals, renewals, credits and the programme's other lists."""
    word = programme["officer_word"]
    title = f"关于{period.label}{programme.title}考核评优情况的通报"
    ranking = figures.tables["评优"]
    winners = ranking[ranking["称号"] != ""]
    opening = [f"根据{programme.title}管理制度，现将{period.label}{word}考核评优情况通报如下。"]
    columns = [c for c in ("对象", "工号", "单位", "得分", "排名", "称号") if c in ranking]
    people = ranking[ranking["对象"] == "个人"] if "对象" in ranking else ranking
    scores = chart("考核得分分布", histogram("考核得分分布", people["得分"].astype(float).tolist()))
    if len(winners):
        named = "；".join(f"{t}：" + "、".join(
            (f"{r['单位']}" if r.get("对象") == "单位" else f"{r['工号']}（{r['单位']}）")
            for _, r in winners[winners["称号"] == t].iterrows()) for t in dict.fromkeys(winners["称号"]))
        first = section("评优结果", [f"经考核，评选结果如下——{named}。予以通报表扬。"],
                        [table("考核得分与排名", ranking, columns)], [scores])
    else:
        reason = "优秀称号每学年评选一次，本学期不评选。" if is_term else "本期无人符合评优条件。"
        first = section("考核得分", [reason], [table("考核得分与排名", ranking, columns)], [scores])
    sections = [first]
    for name, frame in figures.tables.items():
        if name in ("评优", "档案"):
            continue
        sections.append(section(name, [f"共{len(frame)}项。"] if len(frame) else ["无。"],
                                [table(name, frame)] if len(frame) else []))
    if figures.facts.get("office_meeting_verdict"):
        sections.append(section("工作会议", [figures.facts["office_meeting_verdict"] + "。"]))
    doc = document_header(programme, title, document_number(programme, period.end.year, number),
                          f"{programme.title}{period.label}考核评优", issued)
    return {"doc": doc, "period": {"label": period.label}, "facts": opening, "sections": numbered(sections),
            "workbook": "评优.xlsx", "problem_summary": problem_summary(problems)}


def daily_context(programme: Programme, period: Period, figures, problems: list[Problem]) -> dict:
    """Everything the daily reconciliation sheet prints: per outlet, the problem cards per engineer."""
    total = figures.facts["total"]
    opening = [f"{period.label}各网点完成服务工单{total['工单数']}张，其中有问题的{total['问题工单数']}张，"
               f"交卡超时{total['交卡超时数']}张。{problem_summary(problems)}"]
    problems_table = figures.tables["问题工单"]
    sections = [
        section("各网点对账", [], [table("完工、交回、上报情况", figures.tables["对账"])]),
        section("问题工单", [] if len(problems_table) else ["无。"],
                [table("按网点、工程师列出的问题工单", problems_table, ["网点", "服务工程师", "工单号", "完工时间", "问题"])]
                if len(problems_table) else []),
    ]
    if figures.facts["changed"]:
        sections.append(section("已更新的工单", [
            "以下工单在原报送后又报送了新的内容，本对账单按最新内容计算：" + "、".join(figures.facts["changed"]) + "。"]))
    number = f"{programme['doc_prefix']}对〔{period.start.year}〕{period.start.strftime('%m%d')}号"
    doc = document_header(programme, f"{period.label}服务任务监督卡对账单", number,
                          f"{programme.title}{period.label}对账单", period.end)
    return {"doc": doc, "period": {"label": period.label}, "facts": opening, "sections": numbered(sections),
            "workbook": "对账单.xlsx", "problem_summary": problem_summary(problems)}
