"""Which rules each preset runs: the monthly figures and the assessment of every programme."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from pipeline.rules import after_sales, class_officers, community, correspondents, teaching
from pipeline.rules.figures import Figures, officer_table, officers_of, no_reasons
from pipeline.rules.periods import Period, counting_span

# The columns a preset's tie_breaks may name, per preset (the assessment table has them).
PERSONAL_COLUMNS = ("姓名", "联系电话")
ID_COLUMNS = ("工号", "作者工号", "工号或单位")


# What a preset's rules work out for each record of a kind when its file is read (in the reader
# process), kept with the records as _d:… columns: frame, rules → those columns. Their modules are
# named in pipeline.reuse.READING_DERIVATION_MODULES too: their code is part of the reader's identity.
READING_DERIVATIONS = {"after-sales": {"service_cards": after_sales.card_derivations}}


def monthly_figures(preset: str, records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict,
                    changed_cards: Callable[[], frozenset[str]] | frozenset[str] = frozenset()) -> Figures:
    """The month's figures of a programme run by `preset` (`changed_cards`: 工单号 of service cards that
    replaced an earlier version with different content, or what gives them when they are needed)."""
    if preset == "correspondents":
        return correspondents.monthly_figures(records, rules, period)
    if preset == "teaching":
        return teaching.monthly_figures(records, rules, period, terms)
    if preset == "class-officers":
        return class_officers.monthly_figures(records, rules, period, terms)
    if preset == "community":
        return community.monthly_figures(records, rules, period, terms)
    if preset == "after-sales":
        return after_sales.monthly_figures(records, rules, period, terms, changed_cards)
    officers = officers_of(records, rules)
    table = officer_table(officers, period, counting_span(period.end, terms), records["feedback"],
                          records["attendance"], no_reasons(officers), no_reasons(officers))
    return Figures({"信息员": table}, {})


def evaluation_figures(preset: str, records: dict[str, pd.DataFrame], rules: dict, period: Period,
                       terms: dict, is_term: bool) -> Figures | None:
    """The term's or year's assessment of a programme; None when its preset has none for that period."""
    if preset == "teaching":
        return teaching.evaluation_figures(records, rules, period, terms, is_term)
    if preset == "class-officers":
        return class_officers.evaluation_figures(records, rules, period, terms, is_term)
    if is_term:
        return None
    if preset == "correspondents":
        return correspondents.evaluation_figures(records, rules, period)
    if preset == "community":
        return community.evaluation_figures(records, rules, period)
    return None


def with_pseudonyms(figures: Figures, names: dict[str, str]) -> Figures:
    """The figures as leaders may see them: every officer id replaced by its pseudonym, names and
    phones dropped. Ids without a pseudonym (units in 工号或单位) stay."""
    tables = {}
    for sheet, table in figures.tables.items():
        shown = table.drop(columns=[c for c in PERSONAL_COLUMNS if c in table])
        for column in ID_COLUMNS:
            if column in shown:
                shown = shown.assign(**{column: shown[column].map(lambda v: names.get(v, v))})
        tables[sheet] = shown
    facts = {key: ([names.get(v, v) if isinstance(v, str) else v for v in value] if isinstance(value, list) else value)
             for key, value in figures.facts.items()}
    return Figures(tables, facts)
