"""售后服务信息员 (RULES.md after-sales): the ten codes at both sides of each threshold, the figures,
the engineer anomaly, the daily reconciliation and personal data."""
import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rules import after_sales
from pipeline.rules.periods import Period, month
from pipeline.settings import programme_for
from tests.conftest import records

RULES = programme_for("after-sales", {}).rules
T = pd.Timestamp


def card(number="GD1", **more) -> dict:
    """A clean card: a visit on time, repaired, satisfied and signed, in warranty, free, handed in and
    reported the same day."""
    base = {"工单号": number, "网点": "东风网点", "服务工程师": "刘师傅", "用户姓名": "张三", "联系电话": "13812345678",
            "用户地址": "前进区长安路12号", "产品型号": "BCD-216", "购买日期": "2024-05-01", "故障现象": "不制冷",
            "服务方式": "上门", "预约时间": "2026-11-03 09:30", "到达时间": "2026-11-03 09:22",
            "完工时间": "2026-11-03 10:30", "修复状态": "已修复", "回访时间": None, "回访结果": None,
            "用户评价": "满意", "用户签字": "是", "保修状态": "保内", "标准收费": None, "保修证收费": None,
            "实收金额": 0.0, "交回时间": "2026-11-03 12:00", "上报时间": "2026-11-03 17:00"}
    return {**base, **more}


def codes(*cards: dict) -> list[str]:
    frame = records(service_cards=list(cards))["service_cards"]
    return after_sales.problem_text(after_sales.card_problems(frame, RULES)).tolist()


def test_a_clean_card_has_no_problem():
    assert codes(card()) == [""]


@pytest.mark.parametrize("field, value", [
    ("用户姓名", None), ("用户姓名", "不详"), ("联系电话", "1381234"), ("联系电话", None), ("用户地址", ""),
    ("产品型号", None), ("购买日期", "不详"), ("购买日期", "去年"), ("故障现象", None)])
def test_after_sales_missing_or_invalid_customer_information_is_信息不全(field, value):
    assert codes(card(**{field: value})) == ["信息不全"]


@pytest.mark.parametrize("value", ["0454-8888888", "2024/5/1", "2024年5月1日", "20240501"])
def test_after_sales_a_landline_and_dates_written_other_ways_are_complete(value):
    field = "联系电话" if "-" in value and value.startswith("0") else "购买日期"
    assert codes(card(**{field: value})) == [""]


@pytest.mark.parametrize("arrival, expected", [
    ("2026-11-03 09:30", ""), ("2026-11-03 09:31", "迟到"), ("2026-11-03 09:44", "迟到"),
    ("2026-11-03 09:45", "严重迟到"), ("2026-11-03 10:30", "严重迟到")])
def test_after_sales_late_is_1_to_14_minutes_and_seriously_late_from_15(arrival, expected):
    assert codes(card(到达时间=arrival)) == [expected]


def phone_call(**more):
    return card(服务方式="电话咨询", 预约时间=None, 到达时间=None, 完工时间="2026-11-03 10:00", **more)


@pytest.mark.parametrize("callback, expected", [
    ("2026-11-03 12:00", ""), ("2026-11-03 12:01", "回访超时")])
def test_after_sales_a_phone_consultation_must_be_called_back_within_exactly_2_hours(callback, expected):
    assert codes(phone_call(回访时间=callback, 回访结果="满意")) == [expected]


@pytest.mark.parametrize("state", ["未彻底修复", "未修复"])
def test_after_sales_an_unrepaired_card_must_be_called_back_within_3_hours(state):
    assert codes(card(修复状态=state, 回访时间="2026-11-03 13:30", 回访结果="满意")) == [""]
    assert codes(card(修复状态=state, 回访时间="2026-11-03 13:31", 回访结果="满意")) == ["回访超时"]


def test_after_sales_a_card_needing_a_callback_without_one_is_未回访():
    assert codes(phone_call()) == ["未回访"]
    assert codes(card()) == [""]                       # a repaired visit needs no callback


@pytest.mark.parametrize("rating, callback_result, expected", [
    ("不满意", None, "需再次上门"), ("基本满意", "不满意", "需再次上门"), ("满意", "不满意", "需再次上门；疑似虚假满意")])
def test_after_sales_an_unsatisfied_customer_needs_another_visit(rating, callback_result, expected):
    callback = "2026-11-03 11:00" if callback_result else None
    assert codes(card(用户评价=rating, 回访结果=callback_result, 回访时间=callback)) == [expected]


def test_after_sales_satisfied_without_signature_is_suspected_false_satisfaction():
    assert codes(card(用户签字="否")) == ["疑似虚假满意"]
    assert codes(card(用户签字="否", 用户评价="基本满意")) == [""]


@pytest.mark.parametrize("warranty, standard, card_fee, charged, expected", [
    ("保内", None, None, 0.0, ""), ("保内", None, None, 20.0, "收费不符"),
    ("保外", 120.0, 100.0, 100.0, ""), ("保外", 120.0, 100.0, 120.0, "收费不符"),
    ("保外", 120.0, 120.0, 120.0, ""),                   # equal fees
    ("保外", 120.0, None, 120.0, ""), ("保外", 80.0, 100.0, 80.0, ""), ("保外", 80.0, 100.0, 79.99, "收费不符")])
def test_after_sales_the_fee_is_nothing_in_warranty_else_the_lower_of_the_two(warranty, standard, card_fee,
                                                                                 charged, expected):
    assert codes(card(保修状态=warranty, 标准收费=standard, 保修证收费=card_fee, 实收金额=charged)) == [expected]


@pytest.mark.parametrize("handed, reported, expected", [
    ("2026-11-03 23:59", "2026-11-03 23:59", ""), ("2026-11-04 00:00", "2026-11-04 08:00", "交卡超时"),
    (None, None, "交卡超时；上报超时"), ("2026-11-03 23:59", "2026-11-04 00:00", "上报超时"),
    ("2026-11-03 12:00", None, "上报超时")])
def test_after_sales_cards_are_handed_in_and_reported_on_the_same_calendar_day(handed, reported, expected):
    assert codes(card(交回时间=handed, 上报时间=reported)) == [expected]


def test_after_sales_a_card_can_carry_several_codes():
    assert codes(card(联系电话="", 到达时间="2026-11-03 09:50", 交回时间="2026-11-04 08:00",
                      上报时间="2026-11-04 09:00")) == ["信息不全；严重迟到；交卡超时"]


def crew_cards(engineer, said, called_back_unhappy, n=10, **more):
    """n cards of one engineer: `said` of them say 满意; `called_back_unhappy` of the first five have a
    callback saying 不满意 (the other four of those five: 满意)."""
    cards = []
    for i in range(n):
        callback = i < 5
        cards.append(card(f"{engineer}{i}", 服务工程师=engineer, 用户评价="满意" if i < said else "基本满意",
                          回访时间="2026-11-03 11:00" if callback else None,
                          回访结果=("不满意" if i < called_back_unhappy else "满意") if callback else None, **more))
    return cards


def test_after_sales_engineer_anomaly_on_a_small_crew():
    frame = records(service_cards=crew_cards("甲", 10, 1) + crew_cards("乙", 9, 1) + crew_cards("丙", 10, 0)
                    + crew_cards("丁", 20, 4, n=20))["service_cards"]
    flags = after_sales.engineer_anomaly(frame, RULES).reset_index().set_index("服务工程师")
    # 甲: 100 % say 满意, 1 of 5 callbacks 不满意 = 20 % → review. 乙: 90 % say 满意. 丙: no unhappy callback.
    assert flags["复核"].to_dict() == {"甲": "是", "乙": "", "丙": "", "丁": "是"}
    assert flags.loc["乙", "监督卡满意占比"] == pytest.approx(0.9)


def test_after_sales_outlet_shares_follow_their_definitions():
    cards = [card("A", 到达时间="2026-11-03 09:30"),                        # on time, not early
             card("B", 到达时间="2026-11-03 09:25"),                        # 5 minutes early: in the target
             card("C", 到达时间="2026-11-03 09:35"),                        # late
             phone_call(工单号="D", 回访时间="2026-11-03 11:00", 回访结果="未联系上", 用户评价="未评价"),
             phone_call(工单号="E", 回访时间="2026-11-03 13:00", 回访结果="不满意")]
    frame = records(service_cards=cards)["service_cards"]
    figures = after_sales.kpis(frame, after_sales.card_problems(frame, RULES), RULES)
    assert figures["准时率"] == pytest.approx(2 / 3)
    assert figures["提前到达达标率"] == pytest.approx(1 / 3)
    assert figures["回访合格率"] == pytest.approx(1 / 2)
    assert figures["满意率"] == pytest.approx(3 / 4)            # D is not rated; E is rated by its callback
    assert figures["工单数"] == 5


def test_after_sales_the_monthly_sheets_hold_every_card_and_outlet():
    cards = [card("A"), card("B", 网点="向阳网点", 到达时间="2026-11-03 09:40"),
             card("Z", 完工时间="2026-10-31 23:59", 交回时间="2026-10-31 23:59", 上报时间="2026-10-31 23:59")]
    figures = after_sales.monthly_figures(records(service_cards=cards), RULES, month("2026-11"), {})
    sheet = figures.tables["工单"]
    assert list(sheet.columns[:4]) == ["工单号", "网点", "服务工程师", "问题"]
    assert sheet.set_index("工单号")["问题"].to_dict() == {"A": "", "B": "迟到"}
    outlets = figures.tables["网点"].set_index("网点")
    assert list(figures.tables["网点"].columns[:6]) == ["网点", "工单数", "准时率", "回访合格率", "满意率", "交卡超时数"]
    assert outlets.loc["向阳网点", "准时率"] == 0 and outlets.loc["东风网点", "工单数"] == 1


def test_after_sales_clerk_sheets_mask_phones_and_cut_addresses_to_the_district():
    phones = pd.Series(["13812345678", "0454-8888888", "1381234", None])
    assert after_sales.masked_phone(phones).tolist() == ["138****5678", "0454-****888", "****", ""]
    addresses = pd.Series(["前进区长安路12号", "黑龙江省佳木斯市桦南县城关镇", "佳木斯市长安路", "长安路"])
    assert after_sales.district(addresses).tolist() == ["前进区", "黑龙江省佳木斯市桦南县", "佳木斯市", ""]
    sheet = after_sales.monthly_figures(records(service_cards=[card()]), RULES, month("2026-11"), {}).tables["工单"]
    assert sheet.loc[0, "联系电话"] == "138****5678" and sheet.loc[0, "所在区县"] == "前进区"
    assert "用户姓名" not in sheet and "张三" not in sheet.astype(str).to_numpy().ravel().tolist()


def test_after_sales_daily_reconciliation_of_a_hand_built_day():
    day = [card("A"), card("B", 服务工程师="陈师傅", 交回时间="2026-11-04 08:00", 上报时间="2026-11-04 09:00"),
           card("C", 网点="向阳网点", 服务工程师="赵师傅", 上报时间=None),
           card("D", 完工时间="2026-11-04 09:00", 交回时间="2026-11-04 10:00", 上报时间="2026-11-04 11:00")]
    figures = after_sales.daily_figures(records(service_cards=day), RULES,
                                        Period("2026-11-03", dt.date(2026, 11, 3), dt.date(2026, 11, 3), ""),
                                        frozenset({"C"}))
    table = figures.tables["对账"].set_index("网点")
    assert table.loc["东风网点"].to_dict() == {"完工数": 2, "当日交回数": 1, "当日上报数": 1, "交卡超时数": 1,
                                               "上报超时数": 0, "问题工单数": 1}
    assert table.loc["向阳网点", "上报超时数"] == 1 and table.loc["向阳网点", "当日上报数"] == 0
    problems = figures.tables["问题工单"]
    assert problems[["网点", "服务工程师", "工单号", "问题"]].values.tolist() == [
        ["东风网点", "陈师傅", "B", "交卡超时"], ["向阳网点", "赵师傅", "C", "上报超时"]]
    assert figures.tables["更新工单"]["工单号"].tolist() == ["C"]


def test_after_sales_engineers_are_ranked_by_satisfaction_then_punctuality():
    cards = [card("A1", 服务工程师="甲", 用户评价="不满意"), card("A2", 服务工程师="甲"),
             card("B1", 服务工程师="乙"), card("B2", 服务工程师="乙", 到达时间="2026-11-03 09:40"),
             card("C1", 服务工程师="丙"), card("C2", 服务工程师="丙")]
    table = after_sales.monthly_figures(records(service_cards=cards), RULES, month("2026-11"), {}).tables["工程师"]
    assert table[["服务工程师", "排名"]].values.tolist() == [["丙", 1], ["乙", 2], ["甲", 3]]


def test_long_card_lists_are_sorted_as_pandas_sorts_them():
    import random

    import numpy as np

    from pipeline.rules.after_sales import sorted_rows

    rng = random.Random(7)
    rows = 3000
    frame = pd.DataFrame({
        "网点": [rng.choice(["网点B", "网点A", None, "网点C"]) for _ in range(rows)],
        "服务工程师": [rng.choice(["张", "李", "王"]) for _ in range(rows)],
        "完工时间": pd.to_datetime([rng.choice([None, "2026-11-03 10:00", "2026-11-03 09:00", "2026-11-04 08:30"])
                                 for _ in range(rows)], format="mixed"),
        "工单号": [rng.choice([None, *(f"GD{n:03d}" for n in range(400))]) for _ in range(rows)],
        "序": np.arange(rows),
    })
    for columns in (["网点", "完工时间", "工单号"], ["网点", "服务工程师", "完工时间", "工单号"], ["工单号"]):
        expected = frame.sort_values(columns, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(sorted_rows(frame, columns), expected)


def test_phone_checks_and_masks_agree_with_the_rule_for_odd_cells():
    import re

    import numpy as np

    from pipeline.rules.after_sales import LANDLINE, MOBILE, masked_phone, phone_number

    cells = ["13912345678", " 13912345678 ", "１３９１２３４５６７８", "139123456789", "1391234567", "23912345678",
             "139-1234-567", "0454-1234567", "010-12345678", "0454-123", "abc", "", None, np.nan, "x" * 40_000]
    values = pd.Series(cells, dtype=object)
    expected = [isinstance(c, str) and bool(re.fullmatch(MOBILE, c.strip()) or re.fullmatch(LANDLINE, c.strip()))
                for c in cells]
    assert phone_number(values).tolist() == expected
    assert masked_phone(values).tolist()[:11] == ["139****5678", "139****5678", "****", "****", "****", "****",
                                                 "****", "0454-****567", "010-****678", "****", "****"]
    assert masked_phone(values).tolist()[11:14] == ["", "", ""] and masked_phone(values)[14] == "****"


def test_what_is_worked_out_when_a_file_is_read_gives_the_same_figures():
    """Codes, masked phones, districts and what each card counts for in the shares kept from reading
    the file (_d: columns) give what working them out from the cells gives, also when only some cards
    have them (stored by an earlier version)."""
    cards = [card("GD1"), card("GD2", 到达时间="2026-11-03 09:45", 联系电话="0454-1234567"),
             card("GD3", 用户评价="不满意", 用户地址="北安市某街"), card("GD4", 交回时间=None, 联系电话=None),
             card("GD5", 服务方式="电话咨询", 预约时间=None, 到达时间=None, 回访时间="2026-11-03 13:00",
                  回访结果="不满意"),
             card("GD6", 到达时间="2026-11-03 09:23", 回访结果="满意", 用户评价="未评价"),
             card("GD7", 服务方式="拉修", 修复状态="未修复", 回访时间="2026-11-03 12:00", 回访结果="基本满意"),
             card("GD8", 服务工程师="王师傅", 用户评价=None, 回访结果="未联系上")]
    frame = records(service_cards=cards)["service_cards"]
    kept = pd.concat([frame, after_sales.card_derivations(frame, RULES)], axis=1)
    partly = kept.copy()
    partly.loc[[1, 3, 6], [after_sales.FLAGS, after_sales.MASKED, after_sales.DISTRICT, after_sales.SHARES]] = None
    expected = after_sales.card_problems(frame, RULES)
    assert expected.any().any()
    shares = after_sales.share_flags(frame, RULES)
    assert shares.any().all() and not shares.all().any()      # every flag both ways among these cards
    for worked_out in (kept, partly):
        pd.testing.assert_frame_equal(after_sales.card_problems(worked_out, RULES), expected)
        pd.testing.assert_frame_equal(after_sales.card_shares(worked_out, RULES), shares)
        pd.testing.assert_frame_equal(after_sales.card_counts(worked_out, expected, RULES),
                                      after_sales.card_counts(frame, expected, RULES))
        pd.testing.assert_frame_equal(after_sales.engineer_anomaly(worked_out, RULES),
                                      after_sales.engineer_anomaly(frame, RULES))
        pd.testing.assert_frame_equal(after_sales.card_sheet(worked_out, after_sales.problem_text(expected)),
                                      after_sales.card_sheet(frame, after_sales.problem_text(expected)))


@given(st.lists(st.one_of(st.none(), st.sampled_from(["不详", " 不详 ", "无", "\u3000", "", "张三", " 李四", "不详\n"]),
                          st.text(alphabet=" \t\u3000不详无张", max_size=4)), max_size=30),
       st.booleans())
@settings(max_examples=300, deadline=None)
def test_information_incomplete_counts_blank_and_unknown_words_alike_however_cells_come(cells, with_nan):
    words = RULES["unknown_words"]
    values = pd.Series(cells + ([float("nan")] if with_nan else []), dtype=object)
    text = values.astype("string").str.strip()
    expected = (text.isna() | (text == "") | text.isin(words)).fillna(True).astype(bool)
    pd.testing.assert_series_equal(after_sales.blank_or_unknown(values, words), expected)


def test_after_sales_trend_months_counted_in_one_pass_are_those_of_each_month_alone():
    months = [month(f"2026-{n:02d}") for n in range(6, 11)]
    shapes = [card(), card(到达时间="2026-11-03 09:40"), card(用户评价="不满意"), phone_call(),
              card(服务方式="拉修", 到达时间=None), card(完工时间=None)]
    cards = []
    for number in range(60):        # cards in every month but August, and some in November (not counted)
        day = dt.date(2026, 6 + number % 6, 1 + number % 27)
        if day.month == 8:
            continue
        moment = f"{day} 10:{number % 60:02d}"
        shape = shapes[number // 6 % len(shapes)]
        cards.append({**shape, "工单号": f"GD{number}", "完工时间": moment if shape["完工时间"] else None,
                      "预约时间": shape["预约时间"] and f"{day} 09:30",
                      "到达时间": shape["到达时间"] and f"{day} 09:{20 + number % 17}"})
    frame = records(service_cards=cards)["service_cards"]
    together = after_sales.months_kpis(frame, months, RULES)
    for one in months:
        alone = after_sales.kpis(*after_sales.checked(frame, one, RULES), RULES)
        expected = {k: alone[k] for k in after_sales.TREND_KPIS}
        assert together[one.name].keys() == expected.keys()
        for k, value in expected.items():       # the same numbers, and blank (NaN) where nothing is counted
            assert together[one.name][k] == value or (value != value and together[one.name][k] != together[one.name][k])
            assert type(together[one.name][k]) is type(value)
    assert together["2026-08"]["工单数"] == 0 and together["2026-06"]["工单数"] > 0


def test_the_long_lists_carry_each_cards_record_digest_in_their_order(tmp_path):
    """工单 and 问题工单 come with the digest of each row's card (kept by the store: RECORD_DIGEST), in
    the rows' order, for the workbook writer to know unchanged rows by; without digests, the lists alone."""
    import numpy as np

    from pipeline.columns import RECORD_DIGEST, encode_records
    from pipeline.rules.figures import ByRecord

    cards = [card(f"GD{n}", 网点=f"网点{n % 3}", 完工时间=f"2026-11-0{1 + n % 5} 10:{n:02d}",
                  用户评价="不满意" if n % 2 else "满意") for n in range(12)]
    frame = records(service_cards=cards)["service_cards"]
    frame = frame.assign(**{RECORD_DIGEST: encode_records(frame.assign(_sheet="数据", _row=range(2, 14))).digests})
    figures = after_sales.monthly_figures({**records(), "service_cards": frame}, RULES, month("2026-11"), {})
    listed, text = after_sales.checked(frame, month("2026-11"), RULES), None
    cards_now, flags = listed
    text = after_sales.problem_text(flags)
    by_number = dict(zip(frame["工单号"], frame[RECORD_DIGEST]))
    for sheet, expected in (("工单", after_sales.card_sheet(cards_now, text)),
                            ("问题工单", after_sales.problem_cards(cards_now, text))):
        pd.testing.assert_frame_equal(figures.tables[sheet], expected)
        digests = figures.tables.record_digests[sheet]
        assert len(expected) > 1 and list(digests) == [by_number[n] for n in expected["工单号"]], sheet
    plain = after_sales.monthly_figures({**records(), "service_cards": frame.drop(columns=[RECORD_DIGEST])}, RULES,
                                        month("2026-11"), {})
    pd.testing.assert_frame_equal(plain.tables["工单"], figures.tables["工单"])
    assert plain.tables.record_digests == {}
    assert not isinstance(after_sales.by_record(cards_now[["网点", "完工时间", "工单号"]], after_sales.CARD_ORDER,
                                                cards_now.assign(**{RECORD_DIGEST: np.nan})), ByRecord)


def test_the_changed_cards_are_asked_for_only_when_the_list_of_updated_cards_is_made():
    asked = []

    def changed():
        asked.append(True)
        return frozenset({"B"})

    cards = [card("A"), card("B", 用户评价="不满意")]
    figures = after_sales.monthly_figures(records(service_cards=cards), RULES, month("2026-11"), {}, changed)
    assert figures.facts["total"]["工单数"] == 2 and not asked
    assert figures.tables["更新工单"]["工单号"].tolist() == ["B"] and asked == [True]
