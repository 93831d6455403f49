"""Cross-form checks: officers and units named in other forms must be in the roster."""
from __future__ import annotations

import pandas as pd

from pipeline.validate import check_against_roster


def origin(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return frame.assign(_file="11月.xlsx", _sheet="表", _row=range(2, len(frame) + 2),
                        _column=[columns] * len(frame))


ROSTER = origin(pd.DataFrame({"工号": ["JX001", "JX002"], "单位": ["一大队", "二大队"]}), {"工号": "A", "单位": "C"})


def test_feedback_of_an_officer_not_in_the_roster_is_reported_and_not_counted():
    feedback = origin(pd.DataFrame({"工号": ["JX001", "JX999"], "反馈内容": ["甲", "乙"]}), {"工号": "A"})
    kept, problems = check_against_roster({"roster": ROSTER, "feedback": feedback}, "correspondents")
    assert list(kept["feedback"]["工号"]) == ["JX001"]
    [problem] = problems
    assert (problem.code, problem.sheet, problem.row, problem.column, problem.value) == \
        ("E_NOT_IN_ROSTER", "表", 3, "A", "JX999")


def test_an_article_of_a_unit_not_in_the_roster_is_reported_once_per_row():
    articles = origin(pd.DataFrame({"作者工号": ["JX001", "JX999", "JX002"], "报送单位": ["一大队", "三中队", "三中队"]}),
                      {"作者工号": "C", "报送单位": "B"})
    kept, problems = check_against_roster({"roster": ROSTER, "articles": articles}, "correspondents")
    assert list(kept["articles"]["作者工号"]) == ["JX001"]
    assert [(p.row, p.column) for p in problems] == [(3, "C"), (4, "B")]


def test_materials_may_name_an_officer_or_a_unit():
    materials = origin(pd.DataFrame({"工号或单位": ["JX001", "二大队", "机电系"]}), {"工号或单位": "A"})
    kept, problems = check_against_roster({"roster": ROSTER, "materials": materials}, "teaching")
    assert list(kept["materials"]["工号或单位"]) == ["JX001", "二大队"]
    assert [p.value for p in problems] == ["机电系"]


def test_without_a_roster_nothing_is_dropped_and_one_notice_says_why():
    feedback = origin(pd.DataFrame({"工号": ["JX001"]}), {"工号": "A"})
    kept, problems = check_against_roster({"roster": pd.DataFrame(), "feedback": feedback}, "teaching")
    assert len(kept["feedback"]) == 1
    assert [p.code for p in problems] == ["N_NO_ROSTER"]
