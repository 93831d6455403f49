"""roster — 信息员名册 / 推荐表: one row per information officer. Key: 工号."""
import pandas as pd

from schemas import Field, FormKind, RowCheck

ROLES = ("责任人", "组长", "组员", "信息员", "通讯员", "站长", "网点信息员", "中心信息员")
APPROVALS = ("通过", "不通过", "待审")
PHONE = r"1[0-9]{10}|0[0-9]{2,3}-[0-9]{7,8}"  # a mobile, or a landline with its area code


def _appointment_date_missing(frame: pd.DataFrame) -> pd.Series:
    approved = frame["审批"].isna() | (frame["审批"] == "通过")
    return approved & frame["聘任日期"].isna()


def _term_end_before_start(frame: pd.DataFrame) -> pd.Series:
    return frame["任期届满"].notna() & frame["聘任日期"].notna() & (frame["任期届满"] < frame["聘任日期"])


KIND = FormKind(
    name="roster",
    title="信息员名册",
    key=("工号",),
    date_field="聘任日期",
    fields=(
        Field("工号", "id", required=True, help="信息员编号（学号/警号），在本项目内唯一"),
        Field("姓名", "text", required=True),
        Field("单位", "text", required=True, synonyms=("系部", "班级", "大队", "科室", "网点", "网格"),
              help="信息员所代表的单位（系部、班级、大队、科室、网点）"),
        Field("职务", "enum", required=True, synonyms=("角色",), values=ROLES),
        Field("联系电话", "text", synonyms=("手机", "电话"), help="11位手机号或 0454-8888888 式座机，保密",
              pattern=PHONE, pattern_code="E_PHONE"),
        Field("推荐日期", "date"),
        Field("审批", "enum", synonyms=("审批结果",), values=APPROVALS, blank_means="通过",
              help="空白视为通过"),
        Field("聘任日期", "date", synonyms=("任职日期",), help="审批通过（或空白）时必填"),
        Field("任期届满", "date", synonyms=("届满日期",), help="空白 = 聘任日期起一年"),
        Field("毕业日期", "date"),
        Field("离任日期", "date", synonyms=("解聘日期",)),
        Field("离任原因", "text", synonyms=("解聘原因",)),
    ),
    row_checks=(
        RowCheck("E_REQUIRED_IF", "聘任日期", _appointment_date_missing, "审批通过时须填写聘任日期"),
        RowCheck("E_DATE_ORDER", "任期届满", _term_end_before_start, "任期届满不得早于聘任日期"),
    ),
)
