"""What a programme's settings may choose among where the rules look things up by name: how award
places are rounded, and the columns ties are broken by. Plain names, so that checking the settings
does not import the rules (and pandas with them)."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP

ROUNDINGS = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}
TIE_BREAK_COLUMNS = {"community": ["反馈数", "出席例会"], "teaching": ["已处理数", "反馈数"],
                     "class-officers": ["有反馈月数"], "correspondents": []}
# The columns the after-sales engineers may be ranked by.
ENGINEER_RANK_COLUMNS = ["满意率", "准时率", "回访合格率", "提前到达达标率", "工单数"]


def tie_break_problems(preset: str, rules: dict) -> list[str]:
    """The names in the preset's tie_breaks (or engineer_rank_by) that its tables do not have."""
    allowed = TIE_BREAK_COLUMNS.get(preset, [])
    wrong = [name for name in rules.get("tie_breaks", []) if name not in allowed]
    return wrong + [name for name in rules.get("engineer_rank_by", []) if name not in ENGINEER_RANK_COLUMNS]
