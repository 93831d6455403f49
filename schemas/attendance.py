"""attendance — 例会/活动签到表: one row per officer per meeting. Key: 活动日期 + 活动名称 + 工号."""
from schemas import Field, FormKind

MEETING_TYPES = ("常规例会", "临时例会", "培训", "工作会议", "其他活动")
PRESENCE = ("出席", "迟到", "请假", "缺席")

KIND = FormKind(
    name="attendance",
    title="例会/活动签到表",
    key=("活动日期", "活动名称", "工号"),
    date_field="活动日期",
    roster_references=(("工号", "officer"),),
    fields=(
        Field("活动日期", "date", required=True, synonyms=("日期", "会议日期")),
        Field("活动名称", "text", required=True, synonyms=("会议名称",)),
        Field("活动类型", "enum", required=True, synonyms=("会议类型",), values=MEETING_TYPES),
        Field("工号", "id", required=True, synonyms=("学号",)),
        Field("出勤", "enum", required=True, synonyms=("出勤情况",), values=PRESENCE,
              help="缺席 = 无故缺席；请假须事先批准"),
        Field("备注", "text"),
    ),
)
