"""Scores → ranks and awards: ties share a rank; the award line takes a share of the eligible, rounded up.

The tie rule, stated once: officers (or units) are ordered by score, then by each tie-break column
of the preset (more is better), in order. Those still equal on every one of them with the last one
inside the award line are all awarded, so nobody loses an award to the order of a list.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from pipeline.rules.choices import ROUNDINGS




def award_places(eligible: int, share: float, minimum: int, rounding: str = "up") -> int:
    """How many are awarded: `share` of the eligible rounded (up, down or to the nearest), at least
    `minimum`, at most all of them.

    Decimal arithmetic: 10 % of 30 is 3, not the 4 that 0.1 * 30 = 3.0000000000000004 would round up to.
    """
    if eligible <= 0:
        return 0
    places = int((Decimal(str(share)) * eligible).to_integral_value(rounding=ROUNDINGS[rounding]))
    return min(eligible, max(minimum, places))


def ranks(scores: pd.Series) -> pd.Series:
    """排名 by score, highest first; equal scores share the rank (1, 2, 2, 4)."""
    return scores.rank(method="min", ascending=False).astype(int)


def awarded(table: pd.DataFrame, score: str, tie_breaks: list[str], places: int) -> pd.Series:
    """True for the rows inside the award line: the first `places` by score and tie-breaks, and every
    row equal to the last of them on the score and all tie-breaks."""
    if places <= 0 or table.empty:
        return pd.Series(False, index=table.index, dtype=bool)
    keys = [score, *tie_breaks]
    ordered = table.sort_values(keys, ascending=False, kind="stable")
    last = tuple(ordered.iloc[places - 1][keys])
    as_tuples = table[keys].apply(tuple, axis=1)
    return as_tuples.map(lambda values: values >= last).astype(bool)


def lost_on_tie_break(table: pd.DataFrame, score: str, won: pd.Series) -> pd.Series:
    """True for the rows not awarded although their score equals an awarded one (the tie-break decided)."""
    won = won.astype(bool)
    winning_scores = set(table[score][won])
    return (~won) & table[score].isin(winning_scores)


def tie_break_text(tie_breaks: list[str]) -> str:
    """The stated tie rule as a clause: 同分时依次比较已处理数、反馈数，多者优先."""
    if not tie_breaks:
        return "同分者并列"
    return f"同分时依次比较{'、'.join(tie_breaks)}，多者优先；仍相同者并列"


def award_table(table: pd.DataFrame, score: str, tie_breaks: list[str], eligible: pd.Series, rules: dict,
                title: str) -> pd.DataFrame:
    """The table with 排名 (among the eligible), 称号 (`title` inside the award line, else empty) and
    说明 (who lost on the tie-break). The line: the preset's award_share, award_minimum, award_rounding."""
    pool = table.loc[eligible.reindex(table.index, fill_value=False).astype(bool).to_numpy()]
    places = award_places(len(pool), rules["award_share"], rules["award_minimum"], rules.get("award_rounding", "up"))
    won = awarded(pool, score, tie_breaks, places)
    lost = lost_on_tie_break(pool, score, won)
    rank = pd.Series(pd.NA, index=table.index, dtype="Int64")
    rank[pool.index] = ranks(pool[score]).to_numpy()
    titles = pd.Series("", index=table.index, dtype=object)
    titles[won[won].index] = title
    notes = pd.Series("", index=table.index, dtype=object)
    notes[lost[lost].index] = f"与获评者同分，按评选规则（{tie_break_text(tie_breaks)}）未获评"
    return table.assign(排名=rank, 称号=titles, 说明=notes)
