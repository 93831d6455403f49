"""materials — 考核材料提交登记: one document handed in. Key: 工号或单位 + 材料类型 + 学期."""
from schemas import Field, FormKind

MATERIAL_TYPES = ("个人小结", "小组总结", "年度总结")
TERM = r"[0-9]{4}[春秋]"  # 2026秋, 2027春

KIND = FormKind(
    name="materials",
    title="考核材料提交登记",
    key=("工号或单位", "材料类型", "学期"),
    date_field="提交日期",
    officer_id_field=None,
    roster_references=(("工号或单位", "officer or unit"),),
    fields=(
        Field("工号或单位", "text", required=True, synonyms=("工号", "单位"),
              help="个人小结填工号，小组总结填单位"),
        Field("材料类型", "enum", required=True, values=MATERIAL_TYPES),
        Field("学期", "text", required=True, help="如 2026秋、2027春", pattern=TERM, pattern_code="E_TERM_FORMAT"),
        Field("提交日期", "date", required=True),
    ),
)
