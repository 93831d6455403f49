"""Ranks and award lines: shares rounded up, ties sharing a rank, the stated tie-break."""
import pandas as pd
import pytest

from pipeline.rules.awards import award_places, award_table, ranks

RULE = {"award_share": 0.10, "award_minimum": 1, "award_rounding": "up"}


@pytest.mark.parametrize("eligible, places", [(8, 1), (10, 1), (11, 2), (30, 3), (31, 4), (1, 1), (0, 0)])
def test_award_share_of_ten_percent_is_rounded_up_with_at_least_one(eligible, places):
    assert award_places(eligible, 0.10, 1) == places


@pytest.mark.parametrize("rounding, places", [("up", 2), ("nearest", 2), ("down", 1)])
def test_award_rounding_is_set_by_the_preset(rounding, places):
    assert award_places(15, 0.10, 1, rounding) == places and award_places(14, 0.10, 0, "nearest") == 1


def test_award_places_never_exceed_the_eligible():
    assert award_places(2, 0.10, 5) == 2


def test_ties_share_a_rank():
    assert ranks(pd.Series([9, 7, 7, 5])).tolist() == [1, 2, 2, 4]


def table(scores, handled):
    return pd.DataFrame({"工号": [f"T{i}" for i in range(len(scores))], "得分": scores, "已处理数": handled})


def test_a_tie_at_the_award_line_is_broken_by_the_stated_tie_break():
    # 10 eligible → 1 place; T0 and T1 tie on score, T1 handled more items.
    frame = table([8, 8, 5, 4, 4, 3, 2, 2, 1, 0], [1, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    result = award_table(frame, "得分", ["已处理数"], pd.Series(True, index=frame.index), RULE, "优秀信息员")
    assert result.loc[result["称号"] == "优秀信息员", "工号"].tolist() == ["T1"]
    assert result.loc[0, "排名"] == result.loc[1, "排名"] == 1          # the rank is still shared
    assert "同分" in result.loc[0, "说明"] and "已处理数" in result.loc[0, "说明"]


def test_a_tie_still_equal_after_every_tie_break_shares_the_award():
    frame = table([8, 8, 5, 4, 4, 3, 2, 2, 1, 0], [2, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    result = award_table(frame, "得分", ["已处理数"], pd.Series(True, index=frame.index), RULE, "优秀信息员")
    assert result.loc[result["称号"] != "", "工号"].tolist() == ["T0", "T1"]


def test_the_ineligible_get_no_rank_and_are_skipped_for_the_award():
    frame = table([9, 8, 5], [0, 0, 0])
    eligible = pd.Series([False, True, True])
    result = award_table(frame, "得分", [], eligible, RULE, "优秀信息员")
    assert pd.isna(result.loc[0, "排名"]) and result.loc[0, "称号"] == ""
    assert result.loc[1, "称号"] == "优秀信息员" and result.loc[1, "排名"] == 1
