"""materials — 考核材料提交登记: one document handed in. Key: 工号或单位 + 材料类型 + 学期."""
import pandas as pd

from schemas import Field, FormKind, RowCheck

MATERIAL_TYPES = ("个人小结", "小组总结", "年度总结")


def _term_malformed(frame: pd.DataFrame) -> pd.Series:
    return frame["学期"].notna() & ~frame["学期"].astype("string").str.fullmatch(r"\d{4}[春秋]").fillna(False)


KIND = FormKind(
    name="materials",
    title="考核材料提交登记",
    key=("工号或单位", "材料类型", "学期"),
    date_field="提交日期",
    officer_id_field=None,
    fields=(
        Field("工号或单位", "text", required=True, synonyms=("工号", "单位"),
              help="个人小结填工号，小组总结填单位"),
        Field("材料类型", "enum", required=True, values=MATERIAL_TYPES),
        Field("学期", "text", required=True, help="如 2026秋、2027春"),
        Field("提交日期", "date", required=True),
    ),
    row_checks=(
        RowCheck("E_TERM_FORMAT", "学期", _term_malformed, "学期写作四位年份加“春”或“秋”，如 2026秋"),
    ),
)
