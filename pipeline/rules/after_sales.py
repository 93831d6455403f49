"""售后服务信息员 (RULES.md after-sales): every service card checked against the ten problem codes,
outlet and engineer figures, the engineer anomaly, daily reconciliation. Vectorised: no loop over cards."""
from __future__ import annotations

import operator
from collections.abc import Callable
from functools import cache

import numpy as np
from numpy.dtypes import StringDType
import pandas as pd

from pipeline.columns import RECORD_DIGEST
from pipeline.convert import TEXTS_OR_NONE
from pipeline.rules.awards import ranks
from pipeline.rules.figures import TREND_MONTHS, ByRecord, Figures, Later, Tables, trend, no_reasons, officer_table, officers_of
from pipeline.rules.officers import in_period, records_in
from pipeline.rules.periods import Period, counting_span, last_months

CODES = ("信息不全", "迟到", "严重迟到", "回访超时", "未回访", "需再次上门", "疑似虚假满意", "收费不符", "交卡超时",
         "上报超时")
CUSTOMER_FIELDS = ("用户姓名", "联系电话", "用户地址", "产品型号", "购买日期", "故障现象")
VISITS = ("上门", "拉修")
PHONE_CALL = "电话咨询"
NOT_REPAIRED = ("未彻底修复", "未修复")
SATISFIED, UNSATISFIED = "满意", "不满意"
CONTENT = ("满意", "基本满意")
NOT_RATED = ("未评价", "未联系上")
MOBILE = r"1[0-9]{10}"
LANDLINE = r"0[0-9]{2,3}-[0-9]{7,8}"
SEPARATOR = "；"
SAMPLE = 1_000          # values looked at to tell whether a column repeats its values


# -- the ten codes ---------------------------------------------------------------------------------
def per_distinct(values: pd.Series, rule) -> pd.Series:
    """`rule` (a function of a Series) applied once to each distinct value, the answers spread back:
    a month's cards repeat the same addresses, models and dates thousands of times."""
    sample = values.iloc[:SAMPLE].tolist()
    if len(set(sample)) > len(sample) // 2:           # mostly distinct (names, phones): no gain in it
        return pd.Series(rule(values.astype(object).reset_index(drop=True)).to_numpy(), index=values.index)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    answers = rule(pd.Series(distinct, dtype=object)).to_numpy()
    return pd.Series(answers[codes], index=values.index)


def blank_or_unknown(values: pd.Series, unknown_words: list[str]) -> pd.Series:
    """True where a text is missing, empty or one of the words clerks write for 'unknown' (不详)."""
    texts = values.tolist()
    if set(map(type, texts)) <= TEXTS_OR_NONE:       # the common case, looked at in C: strip, empty, a word
        stripped = list(map(str.strip, [text or "" for text in texts]))
        unknown = frozenset(unknown_words)
        return pd.Series(np.fromiter(map(operator.not_, stripped), dtype=bool, count=len(stripped))
                         | np.fromiter(map(unknown.__contains__, stripped), dtype=bool, count=len(stripped)),
                         index=values.index)
    text = values.astype("string").str.strip()
    return (text.isna() | (text == "") | text.isin(unknown_words)).fillna(True).astype(bool)


def readable_dates(values: pd.Series) -> pd.Series:
    """Texts as dates where they read as one (2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日, 20240501)."""
    text = values.astype("string").str.strip().str.replace(r"\s.*$", "", regex=True)
    dashed = text.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    dates = pd.to_datetime(dashed, format="%Y-%m-%d", errors="coerce")
    compact = pd.to_datetime(text.where(text.str.fullmatch(r"[0-9]{8}").fillna(False)), format="%Y%m%d",
                             errors="coerce")
    return dates.fillna(compact)


def customer_info_incomplete(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """信息不全: 用户姓名, 联系电话, 用户地址, 产品型号, 购买日期 or 故障现象 missing or invalid (a phone that is
    no mobile or landline number, a 购买日期 that is no date)."""
    words = rules["unknown_words"]
    missing = pd.concat([per_distinct(cards[f], lambda v: blank_or_unknown(v, words)) for f in CUSTOMER_FIELDS],
                        axis=1).any(axis=1)
    bad_phone = ~per_distinct(cards["联系电话"], phone_number).astype(bool)
    bad_date = ~per_distinct(cards["购买日期"], lambda v: readable_dates(v).notna()).astype(bool)
    return (missing | bad_phone | bad_date).astype(bool)


def phone_texts(values: pd.Series) -> np.ndarray:
    """The values as stripped texts in a NumPy array of variable-width strings (a fixed width would be
    the longest cell's, for every row), "" for a blank: for whole-column checks."""
    texts = values.astype(object).where(values.notna(), "").tolist()
    return np.strings.strip(np.array([t if isinstance(t, str) else str(t) for t in texts], dtype=StringDType()))


def mobile_numbers(texts: np.ndarray) -> np.ndarray:
    """True where a stripped text is a mobile number (MOBILE: 1 and ten more ASCII digits), checked on
    the whole array at once."""
    return (np.strings.str_len(texts) == 11) & np.strings.startswith(texts, "1") \
        & (np.strings.str_len(np.strings.strip(texts, "0123456789")) == 0)


def phone_number(values: pd.Series) -> pd.Series:
    """True where a text is a mobile or landline number."""
    texts = phone_texts(values)
    found = mobile_numbers(texts)
    others = ~found & (texts != "")
    if others.any():       # landlines are few: a regular expression over those only
        found[others] = pd.Series(texts[others], dtype=object).str.fullmatch(LANDLINE).to_numpy(dtype=bool)
    return pd.Series(found, index=values.index)


def minutes_late(cards: pd.DataFrame) -> pd.Series:
    """到达时间 − 预约时间 in minutes (negative when early); NaN for cards without both times."""
    return (cards["到达时间"] - cards["预约时间"]).dt.total_seconds() / 60


def is_visit(cards: pd.DataFrame) -> pd.Series:
    return cards["服务方式"].isin(VISITS)


def late(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """迟到: a visit arriving 1–14 minutes after the appointment."""
    minutes = minutes_late(cards)
    return (is_visit(cards) & (minutes >= rules["late_minutes_min"])
            & (minutes < rules["serious_late_minutes"])).fillna(False).astype(bool)


def seriously_late(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """严重迟到: a visit arriving 15 minutes or more after the appointment."""
    return (is_visit(cards) & (minutes_late(cards) >= rules["serious_late_minutes"])).fillna(False).astype(bool)


def callback_needed(cards: pd.DataFrame) -> pd.Series:
    """Cards that need a callback: 电话咨询, or not (fully) repaired."""
    return (cards["服务方式"] == PHONE_CALL) | cards["修复状态"].isin(NOT_REPAIRED)


def callback_deadline(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """完工时间 + 2 h for 电话咨询, + 3 h for the other cards that need a callback."""
    hours = np.where(cards["服务方式"] == PHONE_CALL, rules["callback_hours_phone"], rules["callback_hours_other"])
    return cards["完工时间"] + pd.to_timedelta(hours, unit="h")


def callback_overdue(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """回访超时: a card needing a callback whose 回访时间 is later than its deadline."""
    return (callback_needed(cards) & (cards["回访时间"] > callback_deadline(cards, rules))).fillna(False).astype(bool)


def callback_missing(cards: pd.DataFrame) -> pd.Series:
    """未回访: a card needing a callback without 回访时间."""
    return callback_needed(cards) & cards["回访时间"].isna()


def revisit_needed(cards: pd.DataFrame) -> pd.Series:
    """需再次上门: 用户评价 or 回访结果 is 不满意."""
    return (cards["用户评价"] == UNSATISFIED) | (cards["回访结果"] == UNSATISFIED)


def suspected_false_satisfaction(cards: pd.DataFrame) -> pd.Series:
    """疑似虚假满意: the card says 满意 while the callback says 不满意, or the customer did not sign it."""
    says_satisfied = cards["用户评价"] == SATISFIED
    return says_satisfied & ((cards["回访结果"] == UNSATISFIED) | (cards["用户签字"] == "否"))


def fee_due(cards: pd.DataFrame) -> pd.Series:
    """What should have been charged: nothing in warranty; else the lower of 标准收费 and 保修证收费."""
    lower = cards[["标准收费", "保修证收费"]].astype(float).min(axis=1, skipna=True)
    return pd.Series(np.where(cards["保修状态"] == "保内", 0.0, lower), index=cards.index)


def fee_mismatch(cards: pd.DataFrame) -> pd.Series:
    """收费不符: 保内 with anything charged; 保外 with 实收金额 other than the lower of the two fees."""
    charged = cards["实收金额"].astype(float).round(2)
    return (charged != fee_due(cards).round(2)).fillna(True).astype(bool) & cards["保修状态"].isin(("保内", "保外"))


def same_day(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """True where both times are given and fall on the same calendar day."""
    return (later.dt.normalize() == earlier.dt.normalize()).fillna(False).astype(bool)


def card_handed_in_late(cards: pd.DataFrame) -> pd.Series:
    """交卡超时: no 交回时间, or not on the day of 完工时间."""
    return ~same_day(cards["交回时间"], cards["完工时间"])


def report_late(cards: pd.DataFrame) -> pd.Series:
    """上报超时: no 上报时间, or not on the day of 交回时间."""
    return ~same_day(cards["上报时间"], cards["交回时间"])


def card_problems(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """One column of True/False per problem code, in the order of RULES.md (taken from the codes worked
    out when the card's file was read, where the card has them: card_derivations)."""
    if cards.empty:          # a month without cards (the trend looks at six)
        return pd.DataFrame({code: pd.Series(dtype=bool) for code in CODES}, index=cards.index)
    return kept_flags(cards, FLAGS, CODES, lambda some: checked_problems(some, rules))


def checked_problems(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """card_problems worked out from the cards' cells."""
    checks = {"信息不全": customer_info_incomplete(cards, rules), "迟到": late(cards, rules),
              "严重迟到": seriously_late(cards, rules), "回访超时": callback_overdue(cards, rules),
              "未回访": callback_missing(cards), "需再次上门": revisit_needed(cards),
              "疑似虚假满意": suspected_false_satisfaction(cards), "收费不符": fee_mismatch(cards),
              "交卡超时": card_handed_in_late(cards), "上报超时": report_late(cards)}
    return pd.DataFrame({code: checks[code].astype(bool) for code in CODES}, index=cards.index)


def code_bits(flags: pd.DataFrame, names: tuple[str, ...] = CODES) -> np.ndarray:
    """Each card's flags as one number (bit n for the n-th of `names`: by default the problem codes)."""
    return sum((flags[name].to_numpy(dtype=np.int64) << n) for n, name in enumerate(names)) \
        if len(flags) else np.zeros(0, dtype=np.int64)


def kept_flags(cards: pd.DataFrame, column: str, names: tuple[str, ...], work_out) -> pd.DataFrame:
    """The flags `names` of each card, from the bits kept in `column` where the card has them
    (card_derivations), from work_out(those cards) for the others (kept by an earlier version)."""
    if column not in cards.columns:
        return work_out(cards)
    known = cards[column].notna().to_numpy()
    bits = np.zeros(len(cards), dtype=np.int64)
    bits[known] = cards[column].to_numpy()[known].astype(np.int64)
    if not known.all():
        bits[~known] = code_bits(work_out(cards[~known]), names)
    return pd.DataFrame({name: (bits >> n) & 1 == 1 for n, name in enumerate(names)}, index=cards.index)


# -- worked out when a file is read -----------------------------------------------------------------
# What each card gives the figures whatever the month: its codes, its phone masked, its district. They
# are worked out once, in the process that reads the card's file, and kept with its records (columns
# named _d:…), so that a rerun after one outlet's workbook changed does not work them out for every
# other outlet's cards again. Cards kept without them (stored by an earlier version) are worked out here.
# What each card counts for in the shares and the anomaly check (share_flags) is kept the same way:
# comparing 200,000 cards' texts again took a third of the month's figures.
DERIVED = "_d:"
FLAGS, MASKED, DISTRICT = DERIVED + "问题", DERIVED + "联系电话", DERIVED + "所在区县"
SHARES = DERIVED + "计数"


def card_derivations(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """The _d: columns of a file's cards (see above)."""
    return pd.DataFrame({FLAGS: code_bits(checked_problems(cards, rules)) if len(cards) else [],
                         MASKED: masked_phone(cards["联系电话"]), DISTRICT: district(cards["用户地址"]),
                         SHARES: code_bits(share_flags(cards, rules), SHARE_FLAGS) if len(cards) else []},
                        index=cards.index)


def derived_or(cards: pd.DataFrame, column: str, work_out) -> pd.Series:
    """A _d: column where the cards have it, work_out(cards) for the others."""
    if column not in cards.columns:
        return work_out(cards)
    values = cards[column].astype(object)
    missing = values.isna()
    if missing.any():
        values = values.copy()
        values[missing] = work_out(cards[missing])
    return values


def problem_text(flags: pd.DataFrame) -> pd.Series:
    """The codes of each card joined by ；, empty when there is none."""
    if flags.empty:
        return pd.Series("", index=flags.index, dtype=object)
    # Each card's set of codes as one number; the text is made once per distinct set.
    sets = sum((flags[code].to_numpy(dtype=np.int64) << n) for n, code in enumerate(flags.columns))
    where, distinct = pd.factorize(sets)
    texts = np.array([SEPARATOR.join(code for n, code in enumerate(flags.columns) if s >> n & 1) for s in distinct],
                     dtype=object)
    return pd.Series(texts[where], index=flags.index, dtype=object)


# -- shares ----------------------------------------------------------------------------------------
def on_time(cards: pd.DataFrame) -> pd.Series:
    """Visits that arrived at or before the appointment (准时率's numerator)."""
    return (minutes_late(cards) <= 0).fillna(False).astype(bool)


def timed_visits(cards: pd.DataFrame) -> pd.Series:
    return is_visit(cards) & cards["到达时间"].notna() & cards["预约时间"].notna()


def early_in_target(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """Visits that arrived 5–10 minutes before the appointment (the punctuality target)."""
    early = -minutes_late(cards)
    return ((early >= rules["early_arrival_min_minutes"]) & (early <= rules["early_arrival_max_minutes"])) \
        .fillna(False).astype(bool)


def callback_in_time(cards: pd.DataFrame, rules: dict) -> pd.Series:
    """Cards needing a callback whose callback came by its deadline."""
    return (cards["回访时间"] <= callback_deadline(cards, rules)).fillna(False).astype(bool)


def rating(cards: pd.DataFrame) -> pd.Series:
    """The card's rating: 回访结果 where there is one, else 用户评价."""
    return cards["回访结果"].where(cards["回访结果"].notna(), cards["用户评价"])


def rated(cards: pd.DataFrame) -> pd.Series:
    said = rating(cards)
    return said.notna() & ~said.isin(NOT_RATED)


def content(cards: pd.DataFrame) -> pd.Series:
    return rating(cards).isin(CONTENT)


# Per card, 0/1 for: a timed visit, one on time, one in the early target; a callback needed, one in
# time; a rated card, a content one; 用户评价 满意; a callback result given, one saying 不满意.
SHARE_FLAGS = ("visit", "on_time", "early", "needed", "in_time", "rated", "content", "said_satisfied", "called",
               "called_unhappy")


def share_flags(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """SHARE_FLAGS worked out from the cards' cells."""
    visits = timed_visits(cards)
    needed = callback_needed(cards)
    graded = rated(cards)
    return pd.DataFrame({
        "visit": visits, "on_time": visits & on_time(cards), "early": visits & early_in_target(cards, rules),
        "needed": needed, "in_time": needed & callback_in_time(cards, rules), "rated": graded,
        "content": graded & content(cards), "said_satisfied": cards["用户评价"] == SATISFIED,
        "called": cards["回访结果"].notna(), "called_unhappy": cards["回访结果"] == UNSATISFIED},
        index=cards.index).astype(bool)


def card_shares(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """SHARE_FLAGS per card (taken from those worked out when the card's file was read, where the card
    has them: card_derivations)."""
    if cards.empty:
        return pd.DataFrame({name: pd.Series(dtype=bool) for name in SHARE_FLAGS}, index=cards.index)
    return kept_flags(cards, SHARES, SHARE_FLAGS, lambda some: share_flags(some, rules))


def card_counts(cards: pd.DataFrame, flags: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """Per card, 0/1 for each thing the shares count: the card itself, timed visits and those on time or in the
    early target, callbacks needed and in time, rated cards and content ones, and the main codes."""
    shares = card_shares(cards, rules)
    return pd.DataFrame({
        "card": 1, **{name: shares[name] for name in SHARE_FLAGS[:7]},
        "交卡超时数": flags["交卡超时"], "迟到数": flags["迟到"], "严重迟到数": flags["严重迟到"],
        "需再次上门数": flags["需再次上门"], "问题工单数": flags.any(axis=1)}, index=cards.index).astype(int)


def ratio(hits: pd.Series, of: pd.Series) -> pd.Series:
    """hits / of per group, NaN where nothing is counted."""
    return (hits / of.where(of > 0)).astype(float)


def kpi_table(sums: pd.DataFrame) -> pd.DataFrame:
    """Summed card counts → 工单数, 准时率, 回访合格率, 满意率, 交卡超时数 (RULES.md's order), then
    提前到达达标率 and the counts of the main codes."""
    return pd.DataFrame({
        "工单数": sums["card"], "准时率": ratio(sums["on_time"], sums["visit"]),
        "回访合格率": ratio(sums["in_time"], sums["needed"]), "满意率": ratio(sums["content"], sums["rated"]),
        "交卡超时数": sums["交卡超时数"], "提前到达达标率": ratio(sums["early"], sums["visit"]),
        "迟到数": sums["迟到数"], "严重迟到数": sums["严重迟到数"], "需再次上门数": sums["需再次上门数"],
        "问题工单数": sums["问题工单数"]})


def kpis(cards: pd.DataFrame, flags: pd.DataFrame, rules: dict, counts: pd.DataFrame | None = None
         ) -> dict[str, object]:
    """The figures of kpi_table for one group of cards, as plain numbers (`counts`: their card_counts,
    when already made)."""
    counts = card_counts(cards, flags, rules) if counts is None else counts
    table = kpi_table(counts.sum().to_frame().T)
    return {column: (int(value) if column.endswith("数") else float(value))
            for column, value in table.iloc[0].items()}


def grouped_kpis(cards: pd.DataFrame, flags: pd.DataFrame, by: list[str], rules: dict,
                 counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """kpi_table per group (网点, or 网点 + 服务工程师), groups in order of appearance."""
    counts = card_counts(cards, flags, rules) if counts is None else counts
    sums = counts.groupby([cards[column] for column in by], sort=False).sum()
    table = kpi_table(sums).reset_index()
    return table.rename(columns={f"level_{i}": column for i, column in enumerate(by)})


def engineer_anomaly(cards: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """Per engineer: 监督卡满意占比 (cards saying 满意), 回访不满意占比 (of the cards with a 回访结果), and 复核
    (是 when the first is ≥ 95 % while the second is ≥ 20 %)."""
    shares = card_shares(cards, rules)
    said = shares["said_satisfied"].groupby([cards["网点"], cards["服务工程师"]], sort=False).mean()
    called = shares["called"].to_numpy()       # only the three columns of those cards, not all of them
    unhappy = shares.loc[called, "called_unhappy"].groupby(
        [cards.loc[called, "网点"], cards.loc[called, "服务工程师"]], sort=False).mean().reindex(said.index)
    flagged = (said >= rules["anomaly_satisfied_share"]) & (unhappy >= rules["anomaly_unsatisfied_share"]).fillna(False)
    return pd.DataFrame({"监督卡满意占比": said, "回访不满意占比": unhappy,
                         "复核": np.where(flagged, "是", "")}, index=said.index)


def engineer_table(cards: pd.DataFrame, flags: pd.DataFrame, rules: dict, counts: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """Sheet 工程师: every engineer's figures, the anomaly flag and 排名 by the preset's order
    (满意率, then 准时率, then …; an engineer without rated cards ranks last)."""
    table = grouped_kpis(cards, flags, ["网点", "服务工程师"], rules, counts)
    if table.empty:
        return table.assign(监督卡满意占比=[], 回访不满意占比=[], 复核=[], 排名=[])
    anomaly = engineer_anomaly(cards, rules)
    table = table.join(anomaly, on=["网点", "服务工程师"])
    order = rules["engineer_rank_by"]
    keys = table[order].fillna(-1.0)
    combined = keys.apply(tuple, axis=1)
    ordered = sorted(set(combined), reverse=True)
    position = {value: number for number, value in enumerate(ordered)}
    table["排名"] = ranks(-combined.map(position).astype(float))
    return table.sort_values(["排名", "网点", "服务工程师"], kind="stable").reset_index(drop=True)


# -- personal data ---------------------------------------------------------------------------------
def masked_phone(phones: pd.Series) -> pd.Series:
    """138****5678 for a mobile, 0454-****888 for a landline, **** for anything else given."""
    texts = phone_texts(phones)
    mobile = mobile_numbers(texts)
    masked = np.where(mobile, np.strings.add(np.strings.add(np.strings.slice(texts, 0, 3), "****"),
                                             np.strings.slice(texts, 7, None)), "****").astype(object)
    others = ~mobile & (texts != "")
    if others.any():       # landlines are few: a regular expression over those only
        text = pd.Series(texts[others], dtype=object)
        landline = text.str.replace(r"^(0[0-9]{2,3})-[0-9]{4,5}([0-9]{3})$", r"\1-****\2", regex=True)
        masked[others] = landline.where(landline != text, "****").to_numpy(dtype=object)
    masked[texts == ""] = ""
    return pd.Series(masked, index=phones.index, dtype=object)


def district(addresses: pd.Series) -> pd.Series:
    """An address cut after its district (…区, …县, …旗, else …市); empty when none can be found."""
    def cut(values: pd.Series) -> pd.Series:
        text = values.astype("string").str.strip()
        district = text.str.extract(r"^(.*?(?:区|县|旗))", expand=False)
        city = text.str.extract(r"^(.*?市)", expand=False)
        return district.fillna(city).fillna("").astype(object)
    return per_distinct(addresses, cut).astype(object)


# -- days and months -------------------------------------------------------------------------------
def cards_completed_in(cards: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The cards whose 完工时间 falls in the period (a card belongs to the day it was completed)."""
    return records_in(cards, "完工时间", period)


def daily_reconciliation(cards: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Per day and outlet: 完工数, 当日交回数, 当日上报数, 交卡超时数, 上报超时数, 问题工单数."""
    columns = ["日期", "网点", "完工数", "当日交回数", "当日上报数", "交卡超时数", "上报超时数", "问题工单数"]
    if cards.empty:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame({
        "日期": cards["完工时间"].dt.normalize(), "网点": cards["网点"],
        "完工数": 1, "当日交回数": (~flags["交卡超时"]).astype(int),
        "当日上报数": (~flags["交卡超时"] & ~flags["上报超时"]).astype(int),
        "交卡超时数": flags["交卡超时"].astype(int), "上报超时数": flags["上报超时"].astype(int),
        "问题工单数": flags.any(axis=1).astype(int)})
    return frame.groupby(["日期", "网点"], sort=True).sum().reset_index()[columns]


# -- lists -----------------------------------------------------------------------------------------
def _sort_key(values: pd.Series) -> np.ndarray:
    """Numbers in the order pandas sorts the values in, blanks last."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return np.where(values.isna(), np.iinfo(np.int64).max, values.to_numpy(dtype="datetime64[ns]").view(np.int64))
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def sorted_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """frame.sort_values(columns, kind="stable"), for long lists of cards (sorted_order)."""
    return frame.iloc[sorted_order(frame, columns)].reset_index(drop=True)


def sorted_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The positions of frame's rows in the order of frame.sort_values(columns, kind="stable"): the last
    column (工单号, as many distinct texts as cards) is only looked at among the rows the others
    leave tied."""
    if len(frame) < 2:
        return np.arange(len(frame))
    keys = [_sort_key(frame[column]) for column in columns[:-1]]
    order = np.lexsort(keys[::-1]) if keys else np.arange(len(frame))
    tied = np.ones(len(frame) - 1, dtype=bool)
    for key in keys:
        ranked = key[order]
        tied &= ranked[1:] == ranked[:-1]
    if tied.any():
        # Only the runs of rows the others leave tied are sorted again, each by the last column within
        # itself (a few thousand of 200,000 cards, where sorting them all again took ~35 ms).
        among = np.zeros(len(frame), dtype=bool)
        among[:-1] |= tied
        among[1:] |= tied
        places = np.flatnonzero(among)
        run = np.cumsum(~np.concatenate(([False], tied))[places])    # a run starts where no tie links it back
        rows = order[places]
        order[places] = rows[np.lexsort([_sort_key(frame[columns[-1]].iloc[rows]), run])]
    return order


def by_record(listed: pd.DataFrame, columns: list[str], cards: pd.DataFrame) -> ByRecord | pd.DataFrame:
    """A long list of cards (its index: the cards') sorted as sorted_rows sorts it, with each row's
    card digest (RECORD_DIGEST) when every card listed has one; else the sorted list alone."""
    order = sorted_order(listed, columns)
    frame = listed.iloc[order].reset_index(drop=True)
    # A card kept without one (an older copy) leaves NaN, and the column floats: no digests then.
    if RECORD_DIGEST not in cards.columns or cards[RECORD_DIGEST].dtype.kind != "i":
        return frame
    return ByRecord(frame, cards[RECORD_DIGEST].reindex(listed.index).to_numpy(dtype=np.int64)[order])


PROBLEM_ORDER = ["网点", "服务工程师", "完工时间", "工单号"]
CARD_ORDER = ["网点", "完工时间", "工单号"]


def problem_list(cards: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """The cards with a problem as problem_cards lists them, in the cards' order."""
    with_codes = text != ""
    return cards.loc[with_codes, ["网点", "服务工程师", "工单号", "完工时间"]].assign(问题=text[with_codes])


def problem_cards(cards: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """The cards with a problem, grouped by outlet and engineer: 网点, 服务工程师, 工单号, 完工时间, 问题
    (`text`: the cards' problem_text)."""
    return sorted_rows(problem_list(cards, text), PROBLEM_ORDER)


def card_list(cards: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """Every card as card_sheet lists it, in the cards' order."""
    return pd.DataFrame({
        "工单号": cards["工单号"], "网点": cards["网点"], "服务工程师": cards["服务工程师"],
        "问题": text, "服务方式": cards["服务方式"], "预约时间": cards["预约时间"],
        "到达时间": cards["到达时间"], "完工时间": cards["完工时间"], "回访时间": cards["回访时间"],
        "回访结果": cards["回访结果"], "用户评价": cards["用户评价"], "实收金额": cards["实收金额"],
        "应收金额": fee_due(cards), "交回时间": cards["交回时间"], "上报时间": cards["上报时间"],
        "联系电话": derived_or(cards, MASKED, lambda c: masked_phone(c["联系电话"])),
        "所在区县": derived_or(cards, DISTRICT, lambda c: district(c["用户地址"]))})


def card_sheet(cards: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """Sheet 工单: every card with its codes (问题, empty when none; `text`: the cards' problem_text), and
    what a clerk needs to find it — the phone masked and the address cut to its district, never the
    customer's name."""
    return sorted_rows(card_list(cards, text), CARD_ORDER)


def revisit_list(cards: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """The cards needing another visit (需再次上门): 工单号, 网点, 服务工程师, 完工时间, 用户评价, 回访结果."""
    chosen = cards.loc[flags["需再次上门"], ["工单号", "网点", "服务工程师", "完工时间", "用户评价", "回访结果"]]
    return sorted_rows(chosen, ["网点", "完工时间"])


def checked(cards: pd.DataFrame, period: Period, rules: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The period's cards and their problem flags."""
    chosen = cards_completed_in(cards, period).reset_index(drop=True)
    return chosen, card_problems(chosen, rules)


def updated_cards(cards: pd.DataFrame, text: pd.Series, changed: frozenset[str] | set[str]) -> pd.DataFrame:
    """The period's cards that replaced an earlier version with different content (a clerk completing
    the callback later): 工单号, 网点, 服务工程师, 完工时间, 问题 as they stand now (`text`: the cards'
    problem_text)."""
    chosen = cards["工单号"].isin(list(changed))
    return pd.DataFrame({"工单号": cards.loc[chosen, "工单号"], "网点": cards.loc[chosen, "网点"],
                         "服务工程师": cards.loc[chosen, "服务工程师"], "完工时间": cards.loc[chosen, "完工时间"],
                         "问题": text[chosen]},
                        columns=["工单号", "网点", "服务工程师", "完工时间", "问题"]).reset_index(drop=True)


def monthly_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period, terms: dict,
                    changed: Callable[[], frozenset[str]] | frozenset[str] = frozenset()) -> Figures:
    """The month's figures: 工单, 网点, 工程师, 对账, 问题工单, 需再次上门, 更新工单, 信息员. `changed`: the
    工单号 of cards that replaced an earlier version with different content, or what gives them (asked
    only when 更新工单 is made: in a run, after the bulletin has gone to be rendered)."""
    cards, flags = checked(records["service_cards"], period, rules)
    counts = card_counts(cards, flags, rules)             # once, for every table that sums them
    outlets = grouped_kpis(cards, flags, ["网点"], rules, counts)
    engineers = engineer_table(cards, flags, rules, counts)
    officers = officers_of(records, rules)
    earlier = months_kpis(records["service_cards"], [m for m in last_months(period, TREND_MONTHS)
                                                     if m.name != period.name], rules)

    @cache
    def codes_text() -> pd.Series:         # each card's codes, made once for the three lists that show them
        return problem_text(flags)

    tables = Tables({
        # The tables only the workbook shows (the long lists among them): worked out while the
        # bulletin is rendered.
        "工单": Later(lambda: by_record(card_list(cards, codes_text()), CARD_ORDER, cards)),
        "网点": outlets,
        "工程师": engineers,
        "对账": Later(lambda: daily_reconciliation(cards, flags)),
        "问题工单": Later(lambda: by_record(problem_list(cards, codes_text()), PROBLEM_ORDER, cards)),
        "需再次上门": revisit_list(cards, flags),
        "更新工单": Later(lambda: updated_cards(cards, codes_text(), changed() if callable(changed) else changed)),
        "趋势": trend(period, lambda m: earlier[m.name] if m.name != period.name
                     else {k: v for k, v in kpis(cards, flags, rules, counts).items() if k in TREND_KPIS}),
        "信息员": officer_table(officers, period, counting_span(period.end, terms), records["feedback"],
                             records["attendance"], no_reasons(officers), no_reasons(officers)),
    })
    total = kpis(cards, flags, rules, counts)
    facts = {"total": total, "codes": {code: int(flags[code].sum()) for code in CODES},
             "anomalies": engineers.loc[engineers["复核"] == "是", ["网点", "服务工程师"]].values.tolist()
             if len(engineers) else []}
    return Figures(tables, facts)


TREND_KPIS = ("工单数", "准时率", "满意率")


def months_kpis(all_cards: pd.DataFrame, months: list[Period], rules: dict) -> dict[str, dict[str, object]]:
    """Per month (by name): 工单数, 准时率 and 满意率 of the cards completed in it, for the trend. In one
    pass over the cards of all the months: a card's counts do not depend on the month counted."""
    done = all_cards["完工时间"]
    which = np.full(len(all_cards), -1)
    for number, month in enumerate(months):
        which[in_period(done, month).to_numpy()] = number
    chosen = which >= 0
    cards = all_cards[chosen].reset_index(drop=True)
    counts = card_counts(cards, card_problems(cards, rules), rules)
    table = kpi_table(counts.groupby(which[chosen]).sum().reindex(range(len(months)), fill_value=0))
    return {month.name: {column: (int(table.at[number, column]) if column.endswith("数")
                                  else float(table.at[number, column])) for column in TREND_KPIS}
            for number, month in enumerate(months)}


def daily_figures(records: dict[str, pd.DataFrame], rules: dict, day: Period, changed: frozenset[str]) -> Figures:
    """One day's reconciliation: 对账 per outlet, the problem cards per engineer, per-engineer counts, and the
    cards of the day that were replaced by a later file (`changed` holds their 工单号)."""
    cards, flags = checked(records["service_cards"], day, rules)
    per_engineer = grouped_kpis(cards, flags, ["网点", "服务工程师"], rules)[
        ["网点", "服务工程师", "工单数", "问题工单数", "交卡超时数"]].rename(columns={"工单数": "完工数"})
    text = problem_text(flags)
    updated = updated_cards(cards, text, changed)
    tables = {"对账": daily_reconciliation(cards, flags).drop(columns=["日期"]),
              "问题工单": problem_cards(cards, text), "工程师": per_engineer, "更新工单": updated}
    return Figures(tables, {"total": kpis(cards, flags, rules), "changed": sorted(updated["工单号"])})
