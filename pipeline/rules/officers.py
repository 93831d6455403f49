"""Who is an officer, when, and what each did: appointment, term end, leaving, counts per officer.

Shared by the four officer programmes. Every function takes typed frames (pipeline.records) and
plain numbers, and returns a new frame or series indexed by 工号 unless it says otherwise.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.rules.periods import Period

IN_OFFICE, DISMISSAL, RENEWAL, GRADUATED, LEFT = "在任", "建议解聘", "期满待续聘", "毕业离任", "已离任"
APPROVED = "通过"
ATTENDED = ("出席", "迟到")
UNEXCUSED = "缺席"
REASON_SEPARATOR = "；"


def day_text(day) -> str:
    """2026年11月3日."""
    day = pd.Timestamp(day)
    return f"{day.year}年{day.month}月{day.day}日"


def appointed_officers(roster: pd.DataFrame, term_years: int) -> pd.DataFrame:
    """The officers of the roster: rows approved (审批 通过 or blank), indexed by 工号, with
    任期届满 filled in (blank = 聘任日期 + term_years years − 1 day), 离任于 (the first day out of office:
    毕业日期 or 离任日期, whichever comes first) and 离任方式 (毕业离任 or 已离任)."""
    approved = roster[roster["审批"].isna() | (roster["审批"] == APPROVED)]
    approved = approved[approved["聘任日期"].notna()]
    default_end = approved["聘任日期"] + pd.DateOffset(years=term_years) - pd.Timedelta(days=1)
    term_end = approved["任期届满"].where(approved["任期届满"].notna(), default_end)
    graduation, departure = approved["毕业日期"], approved["离任日期"]
    by_graduation = graduation.notna() & (departure.isna() | (graduation <= departure))
    leaves = graduation.where(by_graduation, departure)
    officers = approved.assign(任期届满=term_end, 离任于=leaves,
                               离任方式=pd.Series(LEFT, index=approved.index).where(~by_graduation, GRADUATED)
                               .where(leaves.notna(), None))
    columns = ["工号", "姓名", "单位", "职务", "联系电话", "聘任日期", "任期届满", "离任于", "离任方式", "离任原因"]
    return officers[columns].drop_duplicates("工号", keep="last").set_index("工号")


def in_office_on(officers: pd.DataFrame, day: dt.date) -> pd.Series:
    """True for the officers in office on `day`: appointed by then and not yet left."""
    day = pd.Timestamp(day)
    return (officers["聘任日期"] <= day) & (officers["离任于"].isna() | (officers["离任于"] > day))


def serving_during(officers: pd.DataFrame, period: Period) -> pd.Series:
    """True for the officers in office on at least one day of the period."""
    return (officers["聘任日期"] <= pd.Timestamp(period.end)) & \
        (officers["离任于"].isna() | (officers["离任于"] > pd.Timestamp(period.start)))


def on_the_books(officers: pd.DataFrame, period: Period) -> pd.Series:
    """True for the officers a period's list shows: those serving in it, and those who left in it (an
    officer graduating on the 1st served no day of that month but is shown as 毕业离任)."""
    leaves = officers["离任于"]
    left_in = leaves.notna() & (leaves >= pd.Timestamp(period.start)) & (leaves <= pd.Timestamp(period.end))
    return serving_during(officers, period) | left_in


def left_by(officers: pd.DataFrame, day: dt.date) -> pd.Series:
    """True for the officers who left (graduated or 离任) on or before `day`."""
    return officers["离任于"].notna() & (officers["离任于"] <= pd.Timestamp(day))


def renewal_reasons(officers: pd.DataFrame, day: dt.date, notice_days: int) -> pd.Series:
    """For officers in office whose term has ended or ends within `notice_days` of `day`: why they
    are listed for renewal (期满待续聘); None for the others."""
    day = pd.Timestamp(day)
    due = in_office_on(officers, day) & (officers["任期届满"] <= day + pd.Timedelta(days=notice_days))
    ended = officers["任期届满"] < day
    text = pd.Series(None, index=officers.index, dtype=object)
    for officer in officers.index[due]:
        end = officers.at[officer, "任期届满"]
        text[officer] = (f"任期已于{day_text(end)}届满，尚未续聘" if ended[officer]
                         else f"任期将于{day_text(end)}届满")
    return text


def records_in(frame: pd.DataFrame, date_column: str, period: Period) -> pd.DataFrame:
    """The rows whose date falls in the period."""
    return frame[in_period(frame[date_column], period)]


def in_period(dates: pd.Series, period: Period) -> pd.Series:
    """True for each date or moment that falls in the period (a blank does not)."""
    return (dates >= pd.Timestamp(period.start)) & (dates < pd.Timestamp(period.end) + pd.Timedelta(days=1))


def count_by_officer(frame: pd.DataFrame, officers: pd.Index, column: str = "工号") -> pd.Series:
    """How many rows each officer has (0 for officers without any)."""
    return frame.groupby(column).size().reindex(officers, fill_value=0).astype(int)


def feedback_items(feedback: pd.DataFrame, officers: pd.Index, period: Period) -> pd.Series:
    """Feedback items each officer reported in the period."""
    return count_by_officer(records_in(feedback, "反馈日期", period), officers)


def handled_items(feedback: pd.DataFrame, officers: pd.Index, period: Period) -> pd.Series:
    """Feedback items of the period that were dealt with (处理状态 已处理)."""
    items = records_in(feedback, "反馈日期", period)
    return count_by_officer(items[items["处理状态"] == "已处理"], officers)


def unexcused_absences(attendance: pd.DataFrame, officers: pd.Index, period: Period) -> pd.Series:
    """Absences without leave (出勤 缺席) of each officer at meetings and activities in the period."""
    rows = records_in(attendance, "活动日期", period)
    return count_by_officer(rows[rows["出勤"] == UNEXCUSED], officers)


def meetings_attended(attendance: pd.DataFrame, officers: pd.Index, period: Period,
                      types: list[str] | None = None) -> pd.Series:
    """Meetings each officer attended (出席 or 迟到) in the period, of the given types (all when None)."""
    rows = records_in(attendance, "活动日期", period)
    if types is not None:
        rows = rows[rows["活动类型"].isin(types)]
    return count_by_officer(rows[rows["出勤"].isin(ATTENDED)], officers)


def meetings_held(attendance: pd.DataFrame, period: Period, types: list[str] | None = None) -> pd.DataFrame:
    """One row per meeting held in the period: 活动日期, 活动名称, 活动类型, 应到, 出席, 请假, 缺席."""
    rows = records_in(attendance, "活动日期", period)
    if types is not None:
        rows = rows[rows["活动类型"].isin(types)]
    columns = ["活动日期", "活动名称", "活动类型", "应到", "出席", "请假", "缺席"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    held = rows.groupby(["活动日期", "活动名称"], sort=True).agg(
        活动类型=("活动类型", "first"), 应到=("工号", "size"),
        出席=("出勤", lambda s: int(s.isin(ATTENDED).sum())),
        请假=("出勤", lambda s: int((s == "请假").sum())),
        缺席=("出勤", lambda s: int((s == UNEXCUSED).sum())))
    return held.reset_index()[columns]


def incident_reasons(incidents: pd.DataFrame, officers: pd.Index, period: Period, types: list[str]) -> pd.Series:
    """For each officer, the incidents of the given types in the period as texts (考试舞弊（2026年10月22日）)."""
    rows = records_in(incidents, "日期", period)
    rows = rows[rows["类型"].isin(types)].sort_values(["日期", "类型"])
    texts = {officer: [] for officer in officers}
    for officer, kind, day in zip(rows["工号"], rows["类型"], rows["日期"]):
        if officer in texts:
            texts[officer].append(f"{kind}（{day_text(day)}）")
    return pd.Series(texts, dtype=object).reindex(officers)


def unit_staffing(officers: pd.DataFrame, day: dt.date, expected: int, units: list[str],
                  role: str | None = None) -> pd.DataFrame:
    """Units whose number of officers in office on `day` (of `role`, when given) differs from `expected`:
    单位, 在任人数, 问题. `units` are the units that must exist (from the settings) besides the roster's."""
    serving = officers[in_office_on(officers, day)]
    if role is not None:
        serving = serving[serving["职务"] == role]
    counts = serving.groupby("单位").size()
    every = units_in_order(officers, units)
    counts = counts.reindex(every, fill_value=0).astype(int)
    wrong = counts[counts != expected]
    what = f"{role}" if role else "在任信息员"
    problems = [f"没有{what}" if n == 0 else f"有{n}名{what}，应为{expected}名" for n in wrong]
    return pd.DataFrame({"单位": wrong.index, "在任人数": wrong.to_numpy(), "问题": problems},
                        columns=["单位", "在任人数", "问题"])


def has_reason(value: object) -> bool:
    """Whether a reason cell holds a reason: a non-empty text or list (None and NaN do not)."""
    return bool(value) if isinstance(value, (str, list, tuple)) else False


def units_in_order(officers: pd.DataFrame, extra: list[str] = ()) -> list[str]:
    """The units as the roster lists them (first appearance), then any further units named in the settings."""
    units = list(dict.fromkeys(officers["单位"]))
    return units + [unit for unit in extra if unit not in units]


def joined_reasons(*reasons: pd.Series) -> pd.Series:
    """Per officer, every reason of the given series (each None, a text or a list of texts), joined by ；."""
    index = reasons[0].index
    joined = []
    for officer in index:
        parts = []
        for series in reasons:
            value = series.get(officer)
            if isinstance(value, (list, tuple)):
                parts.extend(value)
            elif isinstance(value, str) and value:
                parts.append(value)
        joined.append(REASON_SEPARATOR.join(parts))
    return pd.Series(joined, index=index, dtype=object)


def officer_status(officers: pd.DataFrame, day: dt.date, dismissal: pd.Series, renewal: pd.Series) -> pd.Series:
    """状态 on `day`: 毕业离任 or 已离任 once left; else 建议解聘 with a dismissal reason; else 期满待续聘
    when listed for renewal; else 在任."""
    status = pd.Series(IN_OFFICE, index=officers.index, dtype=object)
    status[renewal.reindex(officers.index).notna()] = RENEWAL
    status[dismissal.reindex(officers.index).map(has_reason).astype(bool)] = DISMISSAL
    gone = left_by(officers, day)
    status[gone] = officers.loc[gone, "离任方式"]
    return status


def leaving_reasons(officers: pd.DataFrame, day: dt.date) -> pd.Series:
    """For officers who left by `day`: 于2026年10月1日毕业离任 (with the 离任原因 when given)."""
    text = pd.Series(None, index=officers.index, dtype=object)
    for officer in officers.index[left_by(officers, day)]:
        row = officers.loc[officer]
        words = f"于{day_text(row['离任于'])}{row['离任方式']}"
        if row["离任原因"]:
            words += f"（{row['离任原因']}）"
        text[officer] = words
    return text
