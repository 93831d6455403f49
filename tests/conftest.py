"""Shared helpers: real workbooks written to a temporary inbox, a real store, the real pipeline."""
from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

from pipeline.settings import PROJ_ROOT

SAMPLE_INBOX = PROJ_ROOT / "data" / "inbox"
PYTHON = sys.executable

ROSTER_HEADERS = ["工号", "姓名", "单位", "职务", "联系电话", "推荐日期", "审批", "聘任日期", "任期届满", "毕业日期",
                  "离任日期", "离任原因"]
ARTICLE_HEADERS = ["稿件编号", "报送单位", "作者工号", "标题", "报送日期", "审核人", "采用媒体", "媒体级别", "刊发日期"]
FEEDBACK_HEADERS = ["工号", "反馈日期", "类别", "反馈对象", "反馈内容", "转交部门", "处理状态", "处理日期"]


def write_xlsx(path: Path, sheets: dict[str, list[list]], merged: dict[str, str] | None = None) -> Path:
    """A workbook with the given rows per sheet (row 1 first); `merged` maps sheet → range to merge."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if merged and name in merged:
            sheet.merge_cells(merged[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def article(number: str, unit: str = "一大队", author: str = "JX001", title: str = "稿件",
            submitted=dt.date(2026, 11, 3), reviewer: str = "王队", outlet: str = "", level: str = "",
            run=None) -> list:
    return [number, unit, author, title, submitted, reviewer, outlet, level, run]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> dict:
    """One monthly run of the committed sample inbox (read-only copy) into a fresh store and output."""
    from pipeline.__main__ import main

    root = tmp_path_factory.mktemp("sample")
    inbox = root / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    out, store = root / "out", root / "store.sqlite"
    status = main(["monthly", "--period", "2026-11", "--inbox", str(inbox), "--out", str(out),
                   "--store", str(store), "--settings", str(root / "none.toml")])
    return {"status": status, "inbox": inbox, "out": out, "store": store, "root": root}


# -- hand-built records for the rules: the shape the store hands them over in -----------------------
def officer(number: str, unit: str = "一大队", role: str = "通讯员", appointed: str = "2026-01-01", **more) -> dict:
    """A roster record; `more` sets any other column (审批, 任期届满, 毕业日期, 离任日期 …)."""
    return {"工号": number, "姓名": f"姓名{number}", "单位": unit, "职务": role, "审批": "通过",
            "聘任日期": appointed, **more}


def records(**kinds: list[dict]) -> dict:
    """Typed records of every kind from lists of dicts keyed by the canonical headers."""
    import pandas as pd

    from pipeline.records import typed_all
    from schemas.articles import article_identity

    frames = {kind: pd.DataFrame(rows) for kind, rows in kinds.items()}
    if "articles" in frames and len(frames["articles"]):
        frame = frames["articles"]
        for column in ("稿件编号", "媒体级别", "刊发日期", "采用媒体"):
            if column not in frame:
                frame[column] = None
        typed = frame.assign(报送日期=pd.to_datetime(frame["报送日期"]))
        frames["articles"] = frame.assign(稿件=article_identity(typed))
    return typed_all(frames)


def run_cli(*args: str, cwd: Path | None = None):
    """`python -m pipeline …` as a clerk runs it: a real process, its exit status and output."""
    import subprocess

    return subprocess.run([PYTHON, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd or PROJ_ROOT)


def sheets_with_formulas(path: Path) -> list[str]:
    """The worksheet parts of an .xlsx whose XML holds a formula (an <f> element)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")
                and re.search(rb"<(\w+:)?f[ >/]", archive.read(name))]


def read_sheet(path: Path, sheet: str):
    """One sheet of a workbook the pipeline wrote, as a DataFrame."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
