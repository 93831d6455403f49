"""Blank templates come from the same schemas as validation, so the two cannot disagree."""
from __future__ import annotations

import openpyxl
import pytest

from pipeline.blank_forms import template_name, write_templates
from pipeline.inbox import FormSheet, recognise
from pipeline.sheets import read_sheets
from pipeline.settings import programme_for
from schemas import all_kinds

KINDS = list(all_kinds().values())


@pytest.fixture(scope="module")
def teaching_templates(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    write_templates(out, [programme_for("teaching", {})])
    return out / "templates" / "teaching"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_template_is_read_back_as_an_empty_form_of_its_kind(teaching_templates, kind):
    [sheet] = read_sheets(teaching_templates / template_name(kind))
    form = recognise(sheet, KINDS)
    assert isinstance(form, FormSheet) and form.kind.name == kind.name
    assert form.header_row == 1 and form.records == []
    assert list(form.columns) == kind.headers


def test_a_template_has_a_frozen_header_help_comments_and_the_programmes_drop_downs(teaching_templates):
    sheet = openpyxl.load_workbook(teaching_templates / "信息反馈表.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert all(sheet.cell(1, column).comment for column in range(1, sheet.max_column + 1))
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert "人才培养方案" in lists["C2"]   # 类别: the teaching preset's categories
    assert "已处理" in lists["G2"]         # 处理状态
