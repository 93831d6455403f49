"""articles — 稿件报送登记表: one row per article and outlet. Key: the article + 采用媒体.

An article is its 稿件编号 when given, else 报送单位 + 标题 + 报送日期.
"""
import pandas as pd

from schemas import Field, FormKind, RowCheck

LEVELS = ("未采用", "内部", "市级", "省级", "国家级")
CITY_OR_HIGHER = ("市级", "省级", "国家级")


def _run_date_missing(frame: pd.DataFrame) -> pd.Series:
    return frame["媒体级别"].isin(CITY_OR_HIGHER) & frame["刊发日期"].isna()


def _run_before_submission(frame: pd.DataFrame) -> pd.Series:
    return frame["刊发日期"].notna() & frame["报送日期"].notna() & (frame["刊发日期"] < frame["报送日期"])


def article_identity(frame: pd.DataFrame) -> pd.Series:
    """The article each row belongs to: its 稿件编号, else 报送单位｜标题｜报送日期."""
    submitted = frame["报送日期"].dt.strftime("%Y-%m-%d")
    by_fields = frame["报送单位"].astype("string") + "｜" + frame["标题"].astype("string") + "｜" + submitted
    number = frame["稿件编号"].astype("string")
    return ("编号:" + number).where(number.notna() & (number != ""), by_fields)


KIND = FormKind(
    name="articles",
    title="稿件报送登记表",
    key=("稿件", "采用媒体"),
    date_field="报送日期",
    officer_id_field="作者工号",
    roster_references=(("作者工号", "officer"), ("报送单位", "unit")),
    fields=(
        Field("稿件编号", "id", synonyms=("编号",)),
        Field("报送单位", "text", required=True, synonyms=("单位",)),
        Field("作者工号", "id", required=True, synonyms=("通讯员工号", "工号")),
        Field("标题", "text", required=True, synonyms=("稿件标题",)),
        Field("报送日期", "date", required=True),
        Field("审核人", "text", required=True, synonyms=("审稿人",), help="本单位审核人；未经审核的稿件不计数"),
        Field("采用媒体", "text", synonyms=("刊发媒体",), help="如 佳木斯日报"),
        Field("媒体级别", "enum", synonyms=("采用级别",), values=LEVELS, blank_means="未采用"),
        Field("刊发日期", "date", synonyms=("采用日期",), help="市级以上采用时必填，不得早于报送日期"),
    ),
    row_checks=(
        RowCheck("E_REQUIRED_IF", "刊发日期", _run_date_missing, "媒体级别为市级及以上时须填写刊发日期"),
        RowCheck("E_DATE_ORDER", "刊发日期", _run_before_submission, "刊发日期不得早于报送日期"),
    ),
    derived=(("稿件", article_identity),),
)

