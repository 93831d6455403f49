"""社区信息员 (RULES.md community): roster, meetings, the annual score, the award, and pseudonyms."""
import datetime as dt

import pandas as pd
from pypdf import PdfReader

from pipeline.rules import community
from pipeline.rules.figures import officers_of
from pipeline.rules.periods import month, year
from pipeline.settings import programme_for
from tests.conftest import ROSTER_HEADERS, read_sheet, run_cli, officer, records, write_xlsx

RULES = programme_for("community", {}).rules


def informant(number, role="信息员", appointed="2026-01-05", **more):
    return officer(number, "第一网格", role, appointed, **more)


def meeting(number, day, presence="出席", kind="常规例会"):
    return {"活动日期": day, "活动名称": f"{day}{kind}", "活动类型": kind, "工号": number, "出勤": presence}


def item(number, day):
    return {"工号": number, "反馈日期": day, "类别": "社情民意", "反馈内容": f"{number}{day}"}


def test_community_needs_exactly_one_responsible_person_and_at_least_one_member():
    day = dt.date(2026, 11, 30)
    assert community.roster_composition(officers_of(records(roster=[informant("S1", "责任人"), informant("S2")]),
                                                    RULES), day, RULES) == []
    two_heads = officers_of(records(roster=[informant("S1", "责任人"), informant("S2", "责任人")]), RULES)
    assert community.roster_composition(two_heads, day, RULES) == ["在任责任人2名，应为1名", "在任成员0名，应不少于1名"]
    left = officers_of(records(roster=[informant("S1", "责任人", 离任日期="2026-11-01"), informant("S2")]), RULES)
    assert community.roster_composition(left, day, RULES) == ["在任责任人0名，应为1名"]


def test_community_meeting_attendance_per_officer_for_both_kinds_of_meeting():
    data = records(roster=[informant("S1")],
                   attendance=[meeting("S1", "2026-11-10"), meeting("S1", "2026-11-20", "迟到", "临时例会"),
                               meeting("S1", "2026-11-25", "缺席", "临时例会")])
    table = community.meeting_attendance(data["attendance"], pd.Index(["S1"]), month("2026-11"), RULES["meeting_types"])
    assert table.loc["S1"].to_dict() == {"本月常规例会出席": 1, "本月临时例会出席": 1, "本月请假": 0, "本月缺席": 1}


def test_community_score_is_two_per_item_plus_one_per_meeting_minus_two_per_absence():
    data = records(roster=[informant("S1")],
                   feedback=[item("S1", "2026-03-01"), item("S1", "2026-04-01"), item("S1", "2025-12-01")],
                   attendance=[meeting("S1", "2026-03-10"), meeting("S1", "2026-04-10"), meeting("S1", "2026-05-10", "缺席"),
                               meeting("S1", "2026-06-10", "请假")])
    scores = community.community_scores(data["feedback"], data["attendance"], pd.Index(["S1"]), year("2026"), RULES)
    assert scores.loc["S1"].to_dict() == {"反馈数": 2, "出席例会": 2, "无故缺席": 1, "得分": 2 * 2 + 2 - 2}


def test_community_top_ten_percent_rounded_up_are_优秀信息员():
    roster = [informant(f"S{i:02d}") for i in range(12)]            # 12 → 2 places
    items = [item(f"S{i:02d}", f"2026-05-{d + 1:02d}") for i in range(12) for d in range(i)]
    figures = community.evaluation_figures(records(roster=roster, feedback=items), RULES, year("2026"))
    ranking = figures.tables["评优"].set_index("工号")
    assert ranking.index[ranking["称号"] == "优秀信息员"].tolist() == ["S10", "S11"]


def test_community_pseudonyms_are_stable_and_newcomers_numbered_on():
    first = officers_of(records(roster=[informant("S2", appointed="2026-02-01"), informant("S1")]), RULES)
    numbers = community.pseudonym_numbers(first, {})
    assert numbers == {"S1": 1, "S2": 2}                           # by appointment date, then id
    later = officers_of(records(roster=[informant("S0", appointed="2025-01-01"), informant("S1"),
                                        informant("S2", appointed="2026-02-01")]), RULES)
    assert community.pseudonym_numbers(later, numbers) == {"S1": 1, "S2": 2, "S0": 3}
    assert community.pseudonym(7, "信息员") == "信息员07"


ROSTER = [["SQ001", "张秘密", "第一网格", "责任人", "13900001111", None, None, dt.date(2026, 1, 5)] + [None] * 4,
          ["SQ002", "李秘密", "第二网格", "信息员", "13900002222", None, None, dt.date(2026, 1, 5)] + [None] * 4]
FEEDBACK = ["工号", "反馈日期", "类别", "反馈内容"]


def monthly_run(tmp_path, period, roster, feedback):
    inbox = tmp_path / "inbox"
    write_xlsx(inbox / "community" / "名册.xlsx", {"名册": [ROSTER_HEADERS, *roster]})
    write_xlsx(inbox / "community" / "反馈.xlsx", {"反馈": [FEEDBACK, *feedback]})
    result = run_cli("monthly", "--period", period, "--inbox", str(inbox), "--out", str(tmp_path / "out"),
                     "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml"))
    assert result.returncode in (0, 1), result.stderr
    return tmp_path / "out" / "community" / period


def test_community_documents_for_leaders_show_pseudonyms_only(tmp_path):
    folder = monthly_run(tmp_path, "2026-11", ROSTER, [["SQ002", dt.date(2026, 11, 3), "矛盾纠纷", "楼上漏水"]])
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(folder / "通报.pdf").pages)
    officers = read_sheet(folder / "统计表.xlsx", "信息员")
    for secret in ("SQ001", "SQ002", "张秘密", "李秘密", "13900001111"):
        assert secret not in text
        assert not officers.astype(str).apply(lambda column: column.str.contains(secret)).any().any()
    assert officers["工号"].tolist() == ["信息员01", "信息员02"]
    assert "信息员02" in text
    key = read_sheet(folder / "名册对照.xlsx", "名册对照")
    assert key[["化名", "工号", "姓名"]].values.tolist() == [["信息员01", "SQ001", "张秘密"], ["信息员02", "SQ002", "李秘密"]]


def test_community_pseudonyms_stay_the_same_the_next_month(tmp_path):
    monthly_run(tmp_path, "2026-11", ROSTER, [])
    newcomer = ["SQ000", "王新人", "第一网格", "信息员", None, None, None, dt.date(2026, 12, 1)] + [None] * 4
    folder = monthly_run(tmp_path, "2026-12", [newcomer, *ROSTER], [])
    key = read_sheet(folder / "名册对照.xlsx", "名册对照").set_index("工号")["化名"].to_dict()
    assert key == {"SQ001": "信息员01", "SQ002": "信息员02", "SQ000": "信息员03"}


def test_any_programme_whose_settings_say_confidential_shows_pseudonyms(tmp_path):
    inbox = tmp_path / "inbox"
    write_xlsx(inbox / "teaching" / "名册.xlsx", {"名册": [ROSTER_HEADERS, *ROSTER]})
    (tmp_path / "settings.toml").write_text("[programmes.teaching]\nconfidential = true\n", encoding="utf-8")
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(inbox), "--out", str(tmp_path / "out"),
                     "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "settings.toml"))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "teaching" / "2026-11"
    assert read_sheet(folder / "统计表.xlsx", "信息员")["工号"].tolist() == ["教学信息员01", "教学信息员02"]
    assert (folder / "名册对照.xlsx").exists()


def test_community_assessment_shows_pseudonyms_only(tmp_path):
    monthly_run(tmp_path, "2026-11", ROSTER, [["SQ002", dt.date(2026, 11, 3), "矛盾纠纷", "楼上漏水"]])
    result = run_cli("evaluation", "--year", "2026", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                     "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml"))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "community" / "2026"
    ranking = read_sheet(folder / "评优.xlsx", "评优")
    assert ranking.loc[ranking["称号"] == "优秀信息员", "工号"].tolist() == ["信息员02"]
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(folder / "考核评优.pdf").pages)
    assert "信息员02" in text
    assert not any(secret in text for secret in ("SQ001", "SQ002", "张秘密", "李秘密"))
