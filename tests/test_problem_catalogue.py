"""Every problem code of the catalogue, planted in a real file, is reported at exactly its cell."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from pipeline.ingest import ingest_programme
from pipeline.problems import CATALOGUE, Problem
from pipeline.settings import programme_for
from pipeline.store import Store
from pipeline.validate import check_against_roster
from schemas import all_kinds
from tests import hostile
from tests.conftest import ARTICLE_HEADERS, FEEDBACK_HEADERS, ROSTER_HEADERS, article, write_xlsx

ROSTER = [ROSTER_HEADERS, ["JX001", "王芳", "一大队", "通讯员", "13812345678", None, None, dt.date(2026, 1, 1)]]
CARD_HEADERS = all_kinds()["service_cards"].headers
CARD = {"工单号": "GD001", "网点": "东风网点", "服务工程师": "刘师傅", "用户姓名": "张三", "联系电话": "13812345678",
        "用户地址": "东风区长安路1号", "产品型号": "BCD-216", "购买日期": "不详", "故障现象": "不制冷", "服务方式": "上门",
        "预约时间": dt.datetime(2026, 11, 3, 9, 0), "到达时间": dt.datetime(2026, 11, 3, 8, 52),
        "完工时间": dt.datetime(2026, 11, 3, 10, 0), "修复状态": "已修复", "回访时间": None, "回访结果": None,
        "用户评价": "满意", "用户签字": "是", "保修状态": "保内", "标准收费": None, "保修证收费": None, "实收金额": 0,
        "交回时间": dt.datetime(2026, 11, 3, 12, 0), "上报时间": dt.datetime(2026, 11, 3, 16, 0)}


def card(**changes) -> list:
    return [changes.get(h, CARD[h]) for h in CARD_HEADERS]


def encrypted_workbook(path):
    plain = write_xlsx(path.with_name("plain.xlsx"), {"名册": ROSTER})
    out = io.BytesIO()
    with open(plain, "rb") as handle:
        OOXMLFile(handle).encrypt("口令", out)
    plain.unlink()
    path.write_bytes(out.getvalue())


def link_outside(path):
    """A link in the inbox to a workbook outside it."""
    outside = write_xlsx(path.parent.parent.parent / "outside" / "秘密.xlsx", {"名册": ROSTER})
    path.symlink_to(outside)


def articles(*rows) -> dict:
    return {"名册.xlsx": {"名册": ROSTER}, "11月.xlsx": {"一大队": [["2026年11月稿件"], ARTICLE_HEADERS, *rows]}}


def feedback(*rows) -> dict:
    return {"名册.xlsx": {"名册": [ROSTER_HEADERS, ["2024001", "李明", "机电工程系", "组长", None, None, None,
                                                  dt.date(2026, 9, 1)]]},
            "11月.xlsx": {"反馈": [["反馈表"], FEEDBACK_HEADERS, *rows]}}


GOOD_FEEDBACK = ["2024001", dt.date(2026, 11, 3), "教学态度", "高数", "讲课认真", "", "", None]

# code: (programme, files {name: sheets} or a writer, file, sheet, Excel row, column letter)
FIXTURES = {
    "E_FILE_UNREADABLE": ("correspondents", {"网页.xls": b"<html><table><tr><td>1</td></tr></table></html>"},
                          "网页.xls", "", None, ""),
    "E_FILE_ENCRYPTED": ("correspondents", {"加密.xlsx": encrypted_workbook}, "加密.xlsx", "", None, ""),
    "E_FILE_EMPTY": ("correspondents", {"空.xlsx": b""}, "空.xlsx", "", None, ""),
    "E_FILE_UNSAFE": ("correspondents", {"实体.xlsx": hostile.entity_bomb()}, "实体.xlsx", "", None, ""),
    "E_FILE_TOO_LARGE": ("correspondents", {"远.xlsx": hostile.far_apart_cells()}, "远.xlsx", "", None, ""),
    "E_FILE_LINK": ("correspondents", {"链接.xlsx": link_outside}, "链接.xlsx", "", None, ""),
    "E_SHEET_TOO_LARGE": ("correspondents", {"长.xlsx": hostile.too_many_rows()}, "长.xlsx", "表", None, ""),
    "E_CSV_ENCODING": ("correspondents", {"乱码.csv": b"\xff\xfe\xff\x00\x81"}, "乱码.csv", "", None, ""),
    "E_SHEET_HEADER": ("correspondents", articles(), "11月.xlsx", "一大队", 2, ""),
    "N_SHEET_UNKNOWN": ("correspondents", {"说明.xlsx": {"说明": [["填表说明"], ["每月5日前报送"]]}},
                        "说明.xlsx", "说明", None, ""),
    "E_REQUIRED": ("correspondents", articles(article("G1"), article("G2", title="")), "11月.xlsx", "一大队", 4, "D"),
    "E_REQUIRED_IF": ("correspondents", articles(article("G1", outlet="佳木斯日报", level="市级")),
                      "11月.xlsx", "一大队", 3, "I"),
    "E_DATE": ("correspondents", articles(article("G1", submitted="2026/13/01")), "11月.xlsx", "一大队", 3, "E"),
    "E_DATETIME": ("after-sales", {"卡.xlsx": {"监督卡": [CARD_HEADERS, card(完工时间="2026-11-03")]}},
                   "卡.xlsx", "监督卡", 2, "M"),
    "E_DATE_ORDER": ("correspondents", articles(article("G1", outlet="佳木斯日报", level="市级",
                                                        run=dt.date(2026, 11, 1))), "11月.xlsx", "一大队", 3, "I"),
    "E_ID": ("correspondents", articles(article("G1", author=2023001.5)), "11月.xlsx", "一大队", 3, "C"),
    "E_ID_SCIENTIFIC": ("correspondents", articles(article("G1", author="2.02E+09")), "11月.xlsx", "一大队", 3, "C"),
    "E_MONEY": ("after-sales", {"卡.xlsx": {"监督卡": [CARD_HEADERS, card(实收金额="五十")]}}, "卡.xlsx", "监督卡", 2, "V"),
    "E_ENUM": ("correspondents", articles(article("G1", level="市级以上")), "11月.xlsx", "一大队", 3, "H"),
    "E_PHONE": ("correspondents", {"名册.xlsx": {"名册": [ROSTER_HEADERS, ROSTER[1][:4] + ["1381234", None, None, dt.date(2026, 1, 1)]]}},
                "名册.xlsx", "名册", 2, "E"),
    "E_TOO_LONG": ("teaching", feedback(GOOD_FEEDBACK[:4] + ["很" * 2001] + GOOD_FEEDBACK[5:]),
                   "11月.xlsx", "反馈", 3, "E"),
    "E_TERM_FORMAT": ("teaching", {"材料.xlsx": {"材料": [["工号或单位", "材料类型", "学期", "提交日期"],
                                                      ["2024001", "个人小结", "2026年秋季", dt.date(2027, 1, 2)]]}},
                      "材料.xlsx", "材料", 2, "C"),
    "E_NOT_IN_ROSTER": ("correspondents", articles(article("G1"), article("G2", author="JX999")),
                        "11月.xlsx", "一大队", 4, "C"),
    "E_DUPLICATE_KEY": ("correspondents", articles(article("G1"), article("G2", title="甲"), article("G2", title="乙")),
                        "11月.xlsx", "一大队", 4, "A"),
    "N_NO_ROSTER": ("teaching", {"11月.xlsx": {"反馈": [FEEDBACK_HEADERS, GOOD_FEEDBACK]}}, "", "", None, ""),
}
# No form has a whole-number column today (FORMS.md lists the type); to_int's refusal is tested in test_convert.
UNREACHABLE = {"E_INT"}
# The header fixture drops 审核人 from the header.
FIXTURES["E_SHEET_HEADER"][1]["11月.xlsx"]["一大队"][1] = [h for h in ARTICLE_HEADERS if h != "审核人"] + ["备用"]


def problems_of(programme_id: str, files: dict, tmp_path) -> list[Problem]:
    folder = tmp_path / "inbox" / programme_id
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        elif callable(content):
            content(folder / name)
        else:
            write_xlsx(folder / name, content)
    programme = programme_for(programme_id, {})
    with Store(tmp_path / "store.sqlite") as store:
        results = ingest_programme(store, folder, programme, dt.datetime(2026, 12, 1))
        records = {kind: store.current_records(programme_id, kind) for kind in all_kinds()}
    _, roster_problems = check_against_roster(records, programme_id)
    return [p for r in results for p in r.problems] + roster_problems


def test_every_code_of_the_catalogue_has_a_fixture():
    assert set(CATALOGUE) - UNREACHABLE == set(FIXTURES)


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_the_planted_problem_is_reported_at_exactly_its_cell(code, tmp_path):
    programme, files, file, sheet, row, column = FIXTURES[code]
    problems = problems_of(programme, files, tmp_path)
    assert [(p.code, p.file, p.sheet, p.row, p.column) for p in problems if p.code == code][:1] == \
        [(code, file, sheet, row, column)]
    assert {p.code for p in problems} <= {code}, "the planted problem is reported alone, once per cell"
    message = next(p.message for p in problems if p.code == code)
    assert "Error" not in message and "Traceback" not in message
    if row is not None:
        assert f"第{row}行" in message and (not column or f"{column}列" in message)


def test_a_header_problem_names_the_missing_and_the_unknown_columns(tmp_path):
    _, files, *_ = FIXTURES["E_SHEET_HEADER"]
    [problem] = [p for p in problems_of("correspondents", files, tmp_path) if p.code == "E_SHEET_HEADER"]
    assert "缺少：审核人" in problem.message and "备用" in problem.message


def test_a_15_digit_id_is_kept_exact_through_a_workbook(tmp_path):
    files = {"名册.xlsx": {"名册": [ROSTER_HEADERS, [230102200001011, "王芳", "一大队", "通讯员", None, None, None,
                                                        dt.date(2026, 1, 1)]]}}
    problems_of("correspondents", files, tmp_path)
    with Store(tmp_path / "store.sqlite") as store:
        assert list(store.current_records("correspondents", "roster")["工号"]) == ["230102200001011"]


def test_column_letters_and_indexes_turn_into_each_other_over_all_of_excels_columns():
    from pipeline.problems import column_index, column_letter

    assert [column_letter(i) for i in (0, 25, 26, 27, 16_383)] == ["A", "Z", "AA", "AB", "XFD"]
    assert all(column_index(column_letter(i)) == i for i in range(16_384))
