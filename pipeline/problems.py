"""The catalogue of problems a clerk can be told about: code → Chinese message and fix hint.

Messages are data. Every problem names the file, sheet, Excel row and column as the clerk sees them;
no Python exception text ever reaches a clerk.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

ERROR, NOTICE = "错误", "提示"

# code: (what is wrong, placed after the quoted value or alone; how to fix it; severity)
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "E_FILE_UNREADABLE": ("文件无法打开（已损坏，或不是 Excel/CSV 文件）",
                          "请用 Excel 打开确认后“另存为”.xlsx 格式再放入收件箱。", ERROR),
    "E_FILE_ENCRYPTED": ("文件设置了打开密码，无法读取",
                         "请在 Excel 中取消密码（文件→信息→保护工作簿）后重新放入。", ERROR),
    "E_FILE_UNSAFE": ("文件结构异常（压缩炸弹、内嵌实体定义或条目过多），为安全起见未读取",
                      "请用 Excel 打开后“另存为”新的 .xlsx 文件再放入收件箱；如不是您报送的文件，请删除。", ERROR),
    "E_FILE_TOO_LARGE": ("文件超出可读取的规模（读取时内存或时间超限），未读取",
                         "请检查是否有远离数据区的单元格（如第 100 万行或第 XFD 列）被误填，删除后另存再放入。", ERROR),
    "E_FILE_LINK": ("是快捷方式或链接，不是文件本身，未读取",
                    "请把文件本身（不是快捷方式）复制到收件箱。", ERROR),
    "E_SHEET_TOO_LARGE": ("工作表超出 Excel 的最大范围（1,048,576 行、16,384 列），未读取",
                          "请删除远离数据区的单元格后另存，再放入收件箱。", ERROR),
    "E_FILE_EMPTY": ("文件是空的（0 字节）", "请重新导出或重新保存该文件。", ERROR),
    "E_CSV_ENCODING": ("CSV 文件的编码无法识别", "请用 Excel 另存为 .xlsx，或保存为 UTF-8 编码的 CSV。", ERROR),
    "E_SHEET_HEADER": ("表头缺少必填列", "请使用空白模板的表头（make templates 生成），不要删改列名。", ERROR),
    "N_SHEET_UNKNOWN": ("未识别出表格种类，已跳过该工作表",
                        "如该表需要统计，请使用空白模板的表头；说明、汇总类工作表可忽略此提示。", NOTICE),
    "E_REQUIRED": ("必填项为空", "请补填该单元格。", ERROR),
    "E_REQUIRED_IF": ("此项在本行情况下必填", "请补填该单元格。", ERROR),
    "E_DATE": ("不是有效日期", "请按 2026-11-03 的格式填写。", ERROR),
    "E_DATETIME": ("不是有效的日期时间（须精确到分钟）", "请按 2026-11-03 09:30 的格式填写。", ERROR),
    "E_DATE_ORDER": ("日期先后顺序不对", "请核对两个日期。", ERROR),
    "E_ID": ("不是有效编号", "编号只能是文字或整数，请核对。", ERROR),
    "E_ID_SCIENTIFIC": ("编号被 Excel 变成了科学计数法，原编号已丢失",
                        "请把该列设置为“文本”格式后重新录入完整编号。", ERROR),
    "E_INT": ("不是非负整数", "请填写 0、1、2 这样的整数。", ERROR),
    "E_MONEY": ("不是有效金额", "请填写不小于 0 的金额，如 120 或 85.50。", ERROR),
    "E_PHONE": ("不是有效电话号码", "请填写11位手机号（如 13812345678）或带区号的座机（如 0454-8888888）。", ERROR),
    "E_ENUM": ("不是可选值", "请从下拉列表中选择。", ERROR),
    "E_TOO_LONG": ("内容过长", "请精简内容。", ERROR),
    "E_TERM_FORMAT": ("学期格式不对", "学期写作四位年份加“春”或“秋”，如 2026秋。", ERROR),
    "E_NOT_IN_ROSTER": ("不在信息员名册中，未计入", "请核对编号或单位名称；如是新聘信息员，请先报送名册。", ERROR),
    "N_NO_ROSTER": ("尚未收到信息员名册，无法核对工号和单位",
                    "请把信息员名册（推荐表）放入本项目的收件箱。", NOTICE),
    "E_DUPLICATE_KEY": ("与本文件另一行重复（同一条记录填了两次且内容不同），两行均未计入",
                        "请核对后删除错误的一行。", ERROR),
}


@dataclass(frozen=True)
class Problem:
    """One thing a clerk must fix (or may note), located as the clerk sees it."""

    programme: str
    file: str
    code: str
    sheet: str = ""
    row: int | None = None
    column: str = ""       # Excel column letter
    header: str = ""
    value: str = ""
    detail: str = ""       # what was expected, when the catalogue text alone does not say

    @property
    def severity(self) -> str:
        return CATALOGUE[self.code][2]

    @property
    def message(self) -> str:
        """The whole sentence for the clerk: where, what was found, what is wrong, how to fix it."""
        what = CATALOGUE[self.code][0]
        located = ""
        if self.sheet:
            located += f"工作表「{self.sheet}」"
        if self.row is not None:
            located += f"第{self.row}行"
        if self.column or self.header:
            located += (" " if located else "") + (f"{self.column}列「{self.header}」" if self.column
                                                   else f"「{self.header}」")
        said = f"“{self.value}”{what}" if self.value else what
        text = f"{located}：{said}" if located else said
        if self.detail:
            text += f"（{self.detail}）"
        return f"{text}，{self.hint}"


    @property
    def hint(self) -> str:
        return CATALOGUE[self.code][1]

    def as_row(self) -> dict[str, object]:
        """The problem as a row of 校验报告.xlsx."""
        return {"项目": self.programme, "文件": self.file, "工作表": self.sheet, "行": self.row,
                "列": self.column, "列名": self.header, "内容": self.value, "代码": self.code,
                "级别": self.severity, "问题": self.message, "修改提示": self.hint}

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def column_letter(index: int) -> str:
    """Excel's column letter for a 0-based column index: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """The 0-based column index of Excel's column letters (column_letter's inverse): A → 0, AB → 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1
