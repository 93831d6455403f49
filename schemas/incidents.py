"""incidents — 违纪及考核登记: one row per incident. Key: 工号 + 日期 + 类型."""
from schemas import Field, FormKind

INCIDENT_TYPES = ("违纪", "考试舞弊", "报道失实", "抄袭", "泄密", "工作不力")

KIND = FormKind(
    name="incidents",
    title="违纪及考核登记",
    key=("工号", "日期", "类型"),
    date_field="日期",
    roster_references=(("工号", "officer"),),
    fields=(
        Field("工号", "id", required=True, synonyms=("学号",)),
        Field("日期", "date", required=True),
        Field("类型", "enum", required=True, values=INCIDENT_TYPES),
        Field("说明", "text"),
    ),
)
