"""service_cards — 服务任务监督卡: one row per service task. Key: 工单号.

The six customer-information columns must exist, but a blank or wrong value there is no form error:
the card is kept and the rules give it the problem code 信息不全.
"""
import pandas as pd

from schemas import Field, FormKind, RowCheck

SERVICE_MODES = ("上门", "电话咨询", "拉修")
VISITS = ("上门", "拉修")
REPAIR_STATES = ("已修复", "未彻底修复", "未修复")
CALLBACK_RESULTS = ("满意", "不满意", "未联系上")
RATINGS = ("满意", "基本满意", "不满意", "未评价")
YES_NO = ("是", "否")
WARRANTY = ("保内", "保外")
CUSTOMER_FIELDS = ("用户姓名", "联系电话", "用户地址", "产品型号", "购买日期", "故障现象")


def _visit_times_missing(column: str):
    def fails(frame: pd.DataFrame) -> pd.Series:
        return frame["服务方式"].isin(VISITS) & frame[column].isna()
    return fails


def _standard_fee_missing(frame: pd.DataFrame) -> pd.Series:
    return (frame["保修状态"] == "保外") & frame["标准收费"].isna()


KIND = FormKind(
    name="service_cards",
    title="服务任务监督卡",
    key=("工单号",),
    date_field="完工时间",
    officer_id_field=None,
    fields=(
        Field("工单号", "id", required=True, synonyms=("任务编号",)),
        Field("网点", "text", required=True, synonyms=("服务网点",)),
        Field("服务工程师", "text", required=True, synonyms=("工程师",)),
        Field("用户姓名", "loose", lenient=True, synonyms=("用户",), help="个人信息，保密"),
        Field("联系电话", "loose", lenient=True, synonyms=("用户电话",), help="个人信息，保密"),
        Field("用户地址", "loose", lenient=True, synonyms=("地址",), help="个人信息，保密"),
        Field("产品型号", "loose", lenient=True, synonyms=("型号",)),
        Field("购买日期", "loose", lenient=True, help="日期，或“不详”"),
        Field("故障现象", "loose", lenient=True),
        Field("服务方式", "enum", required=True, values=SERVICE_MODES),
        Field("预约时间", "datetime", synonyms=("约定时间",), help="上门、拉修必填，如 2026-11-03 09:30"),
        Field("到达时间", "datetime", synonyms=("实际到达时间",), help="上门、拉修必填"),
        Field("完工时间", "datetime", required=True, synonyms=("结束时间",), help="电话咨询填通话结束时间"),
        Field("修复状态", "enum", required=True, values=REPAIR_STATES),
        Field("回访时间", "datetime"),
        Field("回访结果", "enum", values=CALLBACK_RESULTS),
        Field("用户评价", "enum", required=True, values=RATINGS, help="监督卡上用户的评价"),
        Field("用户签字", "enum", required=True, values=YES_NO),
        Field("保修状态", "enum", required=True, values=WARRANTY),
        Field("标准收费", "money", help="保外必填：公司收费标准"),
        Field("保修证收费", "money", help="保修证上印的收费"),
        Field("实收金额", "money", required=True, synonyms=("收费金额",)),
        Field("交回时间", "datetime", synonyms=("监督卡交回时间",)),
        Field("上报时间", "datetime", synonyms=("上报中心时间",)),
    ),
    row_checks=(
        RowCheck("E_REQUIRED_IF", "预约时间", _visit_times_missing("预约时间"), "上门、拉修须填写预约时间"),
        RowCheck("E_REQUIRED_IF", "到达时间", _visit_times_missing("到达时间"), "上门、拉修须填写到达时间"),
        RowCheck("E_REQUIRED_IF", "标准收费", _standard_fee_missing, "保外须填写标准收费"),
    ),
)
