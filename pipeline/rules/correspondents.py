"""交警支队信息通讯员 (RULES.md correspondents): articles, quotas, scores, deductions, awards."""
from __future__ import annotations

import pandas as pd

from pipeline.rules.awards import award_table
from pipeline.rules.figures import Figures, trend, no_reasons, officer_table, officers_of
from pipeline.rules.officers import (has_reason, in_office_on, in_period, units_in_order, incident_reasons,
                                     meetings_held, records_in, serving_during, unit_staffing)
from pipeline.rules.periods import Period, half_year_of, months_in, quarter_of, so_far, year

LEVEL_ORDER = {"未采用": 0, "内部": 1, "市级": 2, "省级": 3, "国家级": 4}
CITY, PROVINCE = LEVEL_ORDER["市级"], LEVEL_ORDER["省级"]
RUN_ORDER = "级别序"          # the column article_runs adds
UNIT_COLUMNS = ["单位", "报送数", "市级以上采用数", "省级以上采用数_半年", "得分", "达标", "未达标项", "扣分",
                "半年任务", "本年累计得分", "市级采用数", "省级采用数", "国家级采用数", "说明"]
REPORTED_LEVELS = ("市级", "省级", "国家级")


def level_points(rules: dict) -> dict[str, float]:
    """Points per media level from the preset; 内部 and 未采用 score nothing."""
    return {"市级": rules["points_city"], "省级": rules["points_province"], "国家级": rules["points_national"]}


def reviewed_articles(articles: pd.DataFrame) -> pd.DataFrame:
    """The article rows that count: those a unit head cleared (审核人 given)."""
    reviewer = articles["审核人"].astype("string").str.strip()
    return articles[reviewer.notna() & (reviewer != "")]


def article_runs(articles: pd.DataFrame) -> pd.DataFrame:
    """The reviewed rows with 级别序 (the level's order, 未采用 0 … 国家级 4). Rows that are runs already
    (they have 级别序) are given back as they are: the figures work them out once, not per month."""
    if RUN_ORDER in articles.columns:
        return articles
    rows = reviewed_articles(articles)
    return rows.assign(**{RUN_ORDER: rows["媒体级别"].map(LEVEL_ORDER).fillna(0).astype(int)})


def article_scores(articles: pd.DataFrame, points: dict[str, float]) -> pd.DataFrame:
    """One row per reviewed article: 稿件 (its identity), 稿件编号, 标题, 报送单位, 作者工号, 报送日期, 最高级别, 计分日期 (the 刊发日期 of
    its run at that level, earliest if several) and 得分 — counted once, by the highest level that ran it."""
    runs = article_runs(articles).sort_values(["稿件", "级别序", "刊发日期"], ascending=[True, False, True],
                                              kind="stable")
    best = runs.drop_duplicates("稿件", keep="first")
    first = runs.sort_values(["稿件", "报送日期"], kind="stable").drop_duplicates("稿件", keep="first").set_index("稿件")
    level = best["媒体级别"].where(best["媒体级别"].notna(), "未采用")
    return pd.DataFrame({
        "稿件": best["稿件"].to_numpy(),
        "稿件编号": first.loc[best["稿件"], "稿件编号"].to_numpy(),
        "标题": first.loc[best["稿件"], "标题"].to_numpy(),
        "报送单位": first.loc[best["稿件"], "报送单位"].to_numpy(),
        "作者工号": first.loc[best["稿件"], "作者工号"].to_numpy(),
        "报送日期": first.loc[best["稿件"], "报送日期"].to_numpy(),
        "最高级别": level.to_numpy(),
        "计分日期": best["刊发日期"].where(best["级别序"] >= CITY).to_numpy(),
        "得分": level.map(points).fillna(0).astype(float).to_numpy()})


def submissions(articles: pd.DataFrame, period: Period, by: str = "报送单位") -> pd.Series:
    """报送数: distinct reviewed articles submitted (报送日期) in the period, per unit (or author)."""
    runs = records_in(article_runs(articles), "报送日期", period)
    return runs.groupby(by)["稿件"].nunique()


def runs_at_or_above(articles: pd.DataFrame, level: int, period: Period, by: str = "报送单位") -> pd.Series:
    """Distinct reviewed articles with a run at `level` or higher whose 刊发日期 falls in the period."""
    runs = article_runs(articles)
    runs = records_in(runs[runs["级别序"] >= level], "刊发日期", period)
    return runs.groupby(by)["稿件"].nunique()


def runs_at_level(articles: pd.DataFrame, level: str, period: Period, by: str = "报送单位") -> pd.Series:
    """Distinct reviewed articles run at exactly `level` with 刊发日期 in the period (an article run by a
    city and a provincial paper counts once at each level here, and once only in the score)."""
    runs = article_runs(articles)
    runs = records_in(runs[runs["媒体级别"] == level], "刊发日期", period)
    return runs.groupby(by)["稿件"].nunique()


def points_in(scores: pd.DataFrame, period: Period, by: str = "报送单位") -> pd.Series:
    """Points of the articles whose scoring run (计分日期) falls in the period, per unit (or author)."""
    return records_in(scores, "计分日期", period).groupby(by)["得分"].sum()


def unmet_monthly_items(submitted: int, city_runs: int, rules: dict) -> list[str]:
    """The monthly basic quota items a unit missed, as texts (empty when the quota is met)."""
    items = []
    if submitted < rules["monthly_submissions"]:
        items.append(f"报送稿件{submitted}篇，少于{rules['monthly_submissions']}篇")
    if city_runs < rules["monthly_city_runs"]:
        items.append(f"市级以上媒体采用{city_runs}篇，少于{rules['monthly_city_runs']}篇")
    return items


def units_in_office(officers: pd.DataFrame, day) -> set[str]:
    """Units with a correspondent in office on `day` (only those can miss a month)."""
    return set(officers.loc[in_office_on(officers, day), "单位"])


def monthly_quota(articles: pd.DataFrame, units: list[str], month: Period, rules: dict) -> pd.DataFrame:
    """Per unit for one month: 报送数, 市级以上采用数, 省级以上采用数_半年 (half-year up to the month's end),
    达标 (是/否) and 未达标项."""
    half = half_year_of(month.start)
    half_so_far = so_far(half, month.end)
    submitted = submissions(articles, month).reindex(units, fill_value=0).astype(int)
    city = runs_at_or_above(articles, CITY, month).reindex(units, fill_value=0).astype(int)
    province = runs_at_or_above(articles, PROVINCE, half_so_far).reindex(units, fill_value=0).astype(int)
    unmet = [unmet_monthly_items(s, c, rules) for s, c in zip(submitted, city)]
    return pd.DataFrame({"单位": units, "报送数": submitted.to_numpy(), "市级以上采用数": city.to_numpy(),
                         "省级以上采用数_半年": province.to_numpy(),
                         "达标": ["否" if items else "是" for items in unmet],
                         "未达标项": ["；".join(items) for items in unmet]})


def missed_months(articles: pd.DataFrame, officers: pd.DataFrame, units: list[str], span: Period,
                  rules: dict) -> pd.Series:
    """How many whole months of the span each unit missed the basic quota (as monthly_quota judges it:
    报送数 and 市级以上采用数 of the month), counting only the months the unit had a correspondent in
    office on the first day. All months at once: the articles are counted by unit and month in one go,
    not filtered again for every month."""
    months = [month for month in months_in(span) if month.end <= span.end]
    if not months:
        return pd.Series(0, index=units, dtype=int)
    runs = article_runs(articles)
    submitted = _by_unit_and_month(runs, "报送日期", units, months)
    city = _by_unit_and_month(runs[runs[RUN_ORDER] >= CITY], "刊发日期", units, months)
    met = (submitted >= rules["monthly_submissions"]) & (city >= rules["monthly_city_runs"])
    liable = pd.DataFrame({month.name: pd.Index(units).isin(list(units_in_office(officers, month.start)))
                           for month in months}, index=units)
    return (~met & liable).sum(axis=1).astype(int)


def _by_unit_and_month(runs: pd.DataFrame, date_column: str, units: list[str], months: list[Period]) -> pd.DataFrame:
    """Distinct articles per unit (rows) and month (columns, by name) whose date falls in that month."""
    dates = runs[date_column]
    inside = in_period(dates, Period("", months[0].start, months[-1].end, ""))
    chosen = runs[inside]
    month_names = chosen[date_column].dt.strftime("%Y-%m")
    counts = chosen.groupby([chosen["报送单位"], month_names])["稿件"].nunique()
    return counts.unstack(fill_value=0).reindex(index=units, columns=[m.name for m in months], fill_value=0)


def half_year_progress(province_runs: int, month: Period, required: int) -> str:
    """半年任务: 已完成, 进行中（0/1）, or 未完成 when judged in the half-year's last month."""
    if province_runs >= required:
        return "已完成"
    if month.end == half_year_of(month.start).end:
        return f"未完成（省级以上采用{province_runs}篇，应不少于{required}篇）"
    return f"进行中（{province_runs}/{required}）"


def disqualified_officers(incidents: pd.DataFrame, officers: pd.DataFrame, span: Period, types: list[str]) -> pd.Series:
    """Officers with an incident of a disqualifying type (报道失实, 抄袭, 泄密) in the span → the texts."""
    reasons = incident_reasons(incidents, officers.index, span, types)
    return reasons[reasons.map(has_reason)]


def disqualified_units(officers: pd.DataFrame, disqualified: pd.Series) -> set[str]:
    """The units of the disqualified officers: their publicity score is zeroed for the year."""
    return set(officers.loc[officers.index.isin(disqualified.index), "单位"])


def briefings_by_quarter(attendance: pd.DataFrame, officers: pd.DataFrame, span: Period, as_of,
                         meeting_type: str, required: int) -> pd.DataFrame:
    """Per quarter of the span begun by `as_of`: 季度, 通报会次数, 情况 (已召开, 未召开, 进行中, or 无在任通讯员
    for a quarter before the team existed, which is not flagged)."""
    rows, start = [], span.start
    while start <= min(span.end, as_of):
        quarter = quarter_of(start)
        held = len(meetings_held(attendance, quarter, [meeting_type]))
        if held >= required:
            state = "已召开"
        elif not serving_during(officers, quarter).any():
            state = "无在任通讯员"
        elif quarter.end <= as_of:
            state = "未召开"
        else:
            state = "进行中"
        rows.append({"季度": quarter.label, "通报会次数": held, "情况": state})
        start = quarter.end + pd.Timedelta(days=1)
    return pd.DataFrame(rows, columns=["季度", "通报会次数", "情况"])


def unit_list(officers: pd.DataFrame, period: Period, rules: dict) -> list[str]:
    """The units reported on: those of the roster with a correspondent serving in the period, and those
    the settings name (expected_units)."""
    return units_in_order(officers[serving_during(officers, period)], rules.get("expected_units", []))


def monthly_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period) -> Figures:
    """The month's figures: 单位 (quota, scores, deductions), 信息员, 稿件, 通讯员配备, 通报会."""
    officers = officers_of(records, rules)
    articles, incidents = article_runs(records["articles"]), records["incidents"]
    the_year = year(str(period.year))
    year_so_far = so_far(the_year, period.end)
    units = unit_list(officers, period, rules)
    quota = monthly_quota(articles, units, period, rules).set_index("单位")
    scores = article_scores(articles, level_points(rules))
    liable = quota.index.isin(list(units_in_office(officers, period.start)))
    missed = (quota["达标"] == "否") & liable
    disqualified = disqualified_officers(incidents, officers, year_so_far, rules["disqualifying_incidents"])
    zeroed = disqualified_units(officers, disqualified)
    year_points = points_in(scores, year_so_far).reindex(units, fill_value=0.0)
    year_missed = missed_months(articles, officers, units, year_so_far, rules)
    year_total = (year_points - rules["deduction_per_missed_month"] * year_missed).where(
        ~quota.index.isin(list(zeroed)), 0.0)
    unit_table = quota.assign(
        得分=points_in(scores, period).reindex(units, fill_value=0.0).astype(float),
        扣分=missed.astype(int) * rules["deduction_per_missed_month"],
        半年任务=[half_year_progress(n, period, rules["halfyear_province_runs"]) for n in quota["省级以上采用数_半年"]],
        本年累计得分=year_total.astype(float),
        **{f"{level}采用数": runs_at_level(articles, level, period).reindex(units, fill_value=0).astype(int)
           for level in REPORTED_LEVELS},
        说明=["本年度发生严重违规，宣传工作考核分全部扣除" if unit in zeroed
              else ("" if liable[i] else "本月1日无在任通讯员，不计未完成") for i, unit in enumerate(quota.index)],
    ).reset_index()[UNIT_COLUMNS]
    per_author = {"报送数": submissions(articles, period, "作者工号"),
                  "市级以上采用数": runs_at_or_above(articles, CITY, period, "作者工号"),
                  "得分": points_in(scores, period, "作者工号")}
    extra = {name: series.reindex(officers.index, fill_value=0) for name, series in per_author.items()}
    dismissal = disqualified.map(lambda texts: [f"{t}，取消本年度通讯员资格" for t in texts]).reindex(officers.index)
    officer_sheet = officer_table(officers, period, year_so_far, records["feedback"], records["attendance"],
                                  dismissal, no_reasons(officers), extra)
    month_articles = scores[scores["报送日期"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    staffing = unit_staffing(officers, period.end, rules["correspondents_per_unit"], rules.get("expected_units", []))
    briefings = briefings_by_quarter(records["attendance"], officers, the_year, period.end, rules["briefing_meeting_type"],
                                     rules["briefings_per_quarter"])
    tables = {
        "单位": unit_table,
        "信息员": officer_sheet,
        "稿件": month_articles.drop(columns=["稿件"]).reset_index(drop=True),
        "通讯员配备": staffing,
        "通报会": briefings,
        "趋势": trend(period, lambda m: {"报送数": int(submissions(articles, m).sum()),
                                        "市级以上采用数": int(runs_at_or_above(articles, CITY, m).sum())}),
    }
    facts = {
        "units": len(units),
        "units_missed": unit_table.loc[unit_table["达标"] == "否", "单位"].tolist(),
        "submitted": int(unit_table["报送数"].sum()),
        "city_runs": int(unit_table["市级以上采用数"].sum()),
        "half_year_unfinished": unit_table.loc[unit_table["半年任务"].astype(str).str.startswith("未完成"), "单位"].tolist(),
        "briefings_missing": briefings.loc[briefings["情况"] == "未召开", "季度"].tolist(),
        "disqualified": sorted(disqualified.index),
        "staffing": staffing.to_dict("records"),
    }
    return Figures(tables, facts)


def evaluation_figures(records: dict[str, pd.DataFrame], rules: dict, period: Period) -> Figures:
    """The year's assessment: 优秀基层信息通讯员 and 宣传先进单位 (top shares, disqualified skipped),
    unit scores after deductions, disqualifications."""
    officers = officers_of(records, rules)
    articles = article_runs(records["articles"])
    scores = article_scores(articles, level_points(rules))
    serving = officers[serving_during(officers, period)]
    disqualified = disqualified_officers(records["incidents"], officers, period, rules["disqualifying_incidents"])
    zeroed = disqualified_units(officers, disqualified)
    officer_points = points_in(scores, period, "作者工号").reindex(serving.index, fill_value=0.0).astype(float)
    eligible = ~serving.index.isin(disqualified.index)
    people = pd.DataFrame({"对象": "个人", "工号": serving.index, "单位": serving["单位"].to_numpy(),
                           "得分": officer_points.where(eligible, 0.0).to_numpy(),
                           "采用篇数": scores[scores["计分日期"].notna()].pipe(records_in, "计分日期", period)
                           .groupby("作者工号").size().reindex(serving.index, fill_value=0).to_numpy()})
    people = award_table(people, "得分", ["采用篇数"], pd.Series(eligible, index=people.index),
                         rules, rules["officer_award_title"])
    people.loc[~eligible, "说明"] = ["；".join(disqualified[o]) + "，取消评优资格" for o in serving.index[~eligible]]
    units = unit_list(officers, period, rules)
    missed = missed_months(articles, officers, units, period, rules)
    unit_points = points_in(scores, period).reindex(units, fill_value=0.0).astype(float)
    unit_scores = unit_points - rules["deduction_per_missed_month"] * missed
    unit_ok = ~pd.Index(units).isin(list(zeroed))
    teams = pd.DataFrame({"对象": "单位", "工号": "", "单位": units,
                          "得分": unit_scores.where(unit_ok, 0.0).to_numpy(),
                          "稿件得分": unit_points.to_numpy(), "未完成月数": missed.to_numpy()})
    teams = award_table(teams, "得分", ["稿件得分"], pd.Series(unit_ok, index=teams.index),
                        rules, rules["unit_award_title"])
    teams["说明"] = [("通讯员严重违规，宣传工作考核分全部扣除，取消评优资格" if not ok else
                     "；".join(filter(None, [f"稿件得分{p:g}分" + (f"，{m}个月未完成基本任务扣{m * rules['deduction_per_missed_month']:g}分" if m else ""), note])))
                    for ok, p, m, note in zip(unit_ok, unit_points, missed, teams["说明"])]
    ranking = pd.concat([people.drop(columns=["采用篇数"]), teams.drop(columns=["稿件得分", "未完成月数"])],
                        ignore_index=True)[["对象", "工号", "单位", "得分", "排名", "称号", "说明"]]
    disqualified_table = pd.DataFrame({"工号": disqualified.index,
                                       "单位": officers.loc[disqualified.index, "单位"].to_numpy(),
                                       "原因": ["；".join(t) for t in disqualified]},
                                      columns=["工号", "单位", "原因"])
    tables = {"评优": ranking, "取消资格": disqualified_table,
              "单位得分": teams.drop(columns=["工号", "对象"])}
    facts = {"officer_awards": people.loc[people["称号"] != "", "工号"].tolist(),
             "unit_awards": teams.loc[teams["称号"] != "", "单位"].tolist(),
             "disqualified": sorted(disqualified.index)}
    return Figures(tables, facts)
