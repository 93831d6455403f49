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
