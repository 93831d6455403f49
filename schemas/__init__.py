"""The seven forms clerks fill (FORMS.md), one module each: headers, synonyms, types, checks.

The same definitions drive header recognition, conversion, validation and the blank templates,
so that what a template asks for and what validation accepts can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandera.pandas as pa

# The officer id may be headed like this in every form (FORMS.md), unless a form claims the word.
OFFICER_ID_SYNONYMS = ("学号", "警号", "编号", "信息员编号")

TYPES = ("text", "id", "date", "datetime", "int", "money", "enum", "loose")


@dataclass(frozen=True)
class Field:
    """One column of a form."""

    header: str
    type: str
    required: bool = False
    synonyms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    # Name of the programme preset list that holds the allowed values instead (e.g. 类别).
    values_from: str | None = None
    blank_means: str | None = None
    max_length: int | None = None
    # The column must exist, but a blank or unreadable value is kept (not a form error).
    lenient: bool = False
    # A regular expression the whole text must match, and the problem code when it does not.
    pattern: str | None = None
    pattern_code: str = "E_FORMAT"
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown field type {self.type!r} for {self.header}")


@dataclass(frozen=True)
class RowCheck:
    """A check across columns of one row: `fails(frame, presets)` marks the rows that break it."""

    code: str
    column: str
    fails: object  # Callable[[pd.DataFrame], pd.Series[bool]]
    expected: str


@dataclass(frozen=True)
class FormKind:
    """A kind of form: its columns, its record key and the date that places a record in a period."""

    name: str
    title: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    date_field: str | None
    row_checks: tuple[RowCheck, ...] = field(default=())
    officer_id_field: str | None = "工号"
    # Columns computed from others before the key is taken: (name, function of the typed frame).
    derived: tuple[tuple[str, object], ...] = field(default=())
    # Cross-form checks: (column, what it must name in the roster: "officer", "unit", "officer or unit").
    roster_references: tuple[tuple[str, str], ...] = field(default=())

    @property
    def headers(self) -> list[str]:
        return [f.header for f in self.fields]

    @property
    def required_headers(self) -> list[str]:
        return [f.header for f in self.fields if f.required or f.lenient]

    def field(self, header: str) -> Field:
        return next(f for f in self.fields if f.header == header)

    def synonyms_of(self, f: Field) -> tuple[str, ...]:
        """Every header text that names field `f` in this form, the canonical one first."""
        names = (f.header,) + f.synonyms
        if f.header == self.officer_id_field:
            claimed = {s for other in self.fields if other is not f for s in (other.header,) + other.synonyms}
            names += tuple(s for s in OFFICER_ID_SYNONYMS if s not in claimed and s not in names)
        return names


def allowed_values(f: Field, config: dict) -> tuple[str, ...]:
    """The enum values of a field, from the schema or from the programme's preset."""
    if f.values_from:
        return tuple(config.get(f.values_from, ()))
    return f.values


def dtype_of(f: Field) -> str:
    """The pandas dtype a field's converted values are held in."""
    return {"date": "datetime64[ns]", "datetime": "datetime64[ns]", "int": "Int64",
            "money": "Float64"}.get(f.type, "object")


def schema_for(kind: FormKind, config: dict) -> pa.DataFrameSchema:
    """The pandera schema of a form kind for one programme (its enum lists may differ).

    Every check is named by its problem code (a row check by code@column), so that a failure maps
    straight to the catalogue.
    """
    columns = {}
    for f in kind.fields:
        checks = []
        if f.type == "enum":
            allowed = list(allowed_values(f, config))
            checks.append(pa.Check(lambda s, allowed=allowed: s.isin(allowed), name="E_ENUM", ignore_na=True))
        if f.max_length:
            checks.append(pa.Check(lambda s, n=f.max_length: s.astype(str).str.len() <= n,
                                   name="E_TOO_LONG", ignore_na=True))
        if f.pattern:
            checks.append(pa.Check(lambda s, p=f.pattern: s.astype(str).str.fullmatch(p),
                                   name=f.pattern_code, ignore_na=True))
        if f.type in ("int", "money"):
            checks.append(pa.Check(lambda s: s >= 0, name="E_MONEY" if f.type == "money" else "E_INT",
                                   ignore_na=True))
        columns[f.header] = pa.Column(nullable=not f.required, checks=checks, required=True)
    # ignore_na=False: a row check decides itself what a blank means (and pandera would otherwise look
    # for rows blank in every column, once per check, over the whole sheet).
    wide = [pa.Check(lambda frame, check=check: ~check.fails(frame).fillna(False).astype(bool),
                     name=f"{check.code}@{check.column}", ignore_na=False)
            for check in kind.row_checks]
    return pa.DataFrameSchema(columns, checks=wide, strict=False, coerce=False)


def all_kinds() -> dict[str, FormKind]:
    """Every form kind by name, in the order of FORMS.md."""
    from schemas import articles, attendance, feedback, incidents, materials, roster, service_cards

    kinds = [roster.KIND, feedback.KIND, attendance.KIND, articles.KIND, service_cards.KIND,
             incidents.KIND, materials.KIND]
    return {k.name: k for k in kinds}
