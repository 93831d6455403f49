"""feedback — 信息反馈表: one row per item an officer reports. Key: 工号 + 反馈日期 + 反馈内容."""
import pandas as pd

from schemas import Field, FormKind, RowCheck

STATES = ("未处理", "处理中", "已处理")


def _handled_before_reported(frame: pd.DataFrame) -> pd.Series:
    return frame["处理日期"].notna() & frame["反馈日期"].notna() & (frame["处理日期"] < frame["反馈日期"])


KIND = FormKind(
    name="feedback",
    title="信息反馈表",
    key=("工号", "反馈日期", "反馈内容"),
    date_field="反馈日期",
    roster_references=(("工号", "officer"),),
    fields=(
        Field("工号", "id", required=True, synonyms=("学号", "信息员编号")),
        Field("反馈日期", "date", required=True, synonyms=("日期", "报送日期")),
        Field("类别", "enum", required=True, synonyms=("反馈类别", "信息类别"),
              values_from="feedback_categories"),
        Field("反馈对象", "text", synonyms=("涉及课程/教师", "涉及对象"), help="涉及的课程、教师或地点"),
        Field("反馈内容", "text", required=True, synonyms=("内容", "意见和建议"), max_length=2000),
        Field("转交部门", "text", synonyms=("处理部门",)),
        Field("处理状态", "enum", values=STATES, blank_means="未处理"),
        Field("处理日期", "date", help="不得早于反馈日期"),
    ),
    row_checks=(
        RowCheck("E_DATE_ORDER", "处理日期", _handled_before_reported, "处理日期不得早于反馈日期"),
    ),
)
