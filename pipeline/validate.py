"""Raw cells of a recognised form → typed, validated rows and the problems of the rest.

Conversion comes first (keeping the raw text for the message), then pandera validates the typed
frame lazily, so one run reports every failure of a file. A failure is reported once per cell.
"""
from __future__ import annotations

from json.encoder import encode_basestring
import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.convert import BATCH_CONVERTERS, CONVERTERS, BadValue, display
from pipeline.inbox import Column, FormSheet
from pipeline.problems import Problem
from schemas import Field, FormKind, all_kinds, allowed_values, dtype_of, schema_for

ORIGIN = ("_sheet", "_row")


def _convert_column(f: Field, column: Column) -> tuple[pd.Series, dict[int, str]]:
    """The column converted to its field's type (each distinct cell converted once), and the
    positions that failed, with their problem codes."""
    batch = BATCH_CONVERTERS.get(f.type)
    if batch is not None and len(column.values):
        blank = column.blank_values()
        cells = np.empty(len(column.values), dtype=object)
        cells[:] = column.values
        made = batch(cells[~blank].tolist())
        if made is not None and (f.blank_means is None or not isinstance(made, np.ndarray)):
            if isinstance(made, np.ndarray):       # moments: a blank is NaT
                converted = np.full(len(cells), np.datetime64("NaT"), dtype=made.dtype)
            else:
                converted = np.full(len(cells), f.blank_means, dtype=object)
            converted[~blank] = made
            return pd.Series(converted, dtype=dtype_of(f)).take(column.codes).reset_index(drop=True), {}
    convert = CONVERTERS[f.type]
    converted: list[object] = []
    codes: list[str | None] = []
    for value, blank in zip(column.values, column.blank_values().tolist()):
        if blank:
            converted.append(f.blank_means)
            codes.append(None)
            continue
        try:
            converted.append(convert(value))
            codes.append(None)
        except BadValue as error:
            converted.append(None)
            codes.append(error.code)
    typed = pd.Series(converted, dtype=dtype_of(f)).take(column.codes).reset_index(drop=True)
    if f.lenient or not any(codes):
        return typed, {}
    failing = np.array([code is not None for code in codes], dtype=bool)[column.codes]
    return typed, {int(position): codes[column.codes[position]] for position in np.flatnonzero(failing)}


def validate_form(form: FormSheet, config: dict, programme: str, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """The accepted rows of one form (typed, with _sheet and _row) and a problem for every bad cell."""
    kind = form.kind
    rows = form.rows
    problems: list[Problem] = []
    bad_rows: set[int] = set()

    def problem(code: str, row: int, header: str, raw: object, detail: str = "") -> Problem:
        letter = form.letter(header) if header in form.columns else ""
        return Problem(programme, file, code, form.sheet, row, letter, header, display(raw), detail)

    raw = {f.header: form.column(f.header) for f in kind.fields}
    typed = {}
    for f in kind.fields:
        typed[f.header], failures = _convert_column(f, raw[f.header])
        for position, code in failures.items():
            problems.append(problem(code, rows[position], f.header, raw[f.header][position]))
            bad_rows.add(rows[position])

    index = pd.Index(rows, name="_row", dtype="int64")
    frame = pd.DataFrame({header: values.set_axis(index) for header, values in typed.items()}, index=index)
    checked = frame.drop(index=sorted(bad_rows))
    problems += _pandera_problems(checked, kind, config, raw, rows, problem)
    bad_rows |= {p.row for p in problems}
    accepted = frame.drop(index=sorted(bad_rows))
    for name, derive in kind.derived:
        accepted = accepted.assign(**{name: derive(accepted) if len(accepted) else pd.Series(dtype=object)})
    accepted = accepted.assign(_sheet=form.sheet, _row=accepted.index.astype(int))
    return accepted.reset_index(drop=True), problems


def _pandera_problems(frame, kind, config, raw, rows, problem) -> list[Problem]:
    if frame.empty:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema_for(kind, config).validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    found: dict[tuple[int, str], Problem] = {}
    position = {row: i for i, row in enumerate(rows)}
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            continue
        row = int(case.index)
        check = str(case.check)
        if "@" in check:
            code, header = check.split("@", 1)
            expected = next(c.expected for c in kind.row_checks if (c.code, c.column) == (code, header))
        elif check == "not_nullable":
            code, header, expected = "E_REQUIRED", str(case.column), kind.field(str(case.column)).help
        else:
            code, header = check, str(case.column)
            f = kind.field(header)
            expected = ("可选值：" + "、".join(allowed_values(f, config))) if code == "E_ENUM" else ""
        if (row, header) not in found:
            found[(row, header)] = problem(code, row, header, raw[header][position[row]], expected)
    return list(found.values())


def record_key(frame: pd.DataFrame, kind: FormKind) -> pd.Series:
    """The key of each record (FORMS.md) as one text, for supersede and duplicate checks: the JSON
    list of its key columns' texts (put together here as json.dumps would write it)."""
    parts = [[encode_basestring(text) for text in _key_texts(frame[name])] for name in kind.key]
    return pd.Series(["[" + ", ".join(values) + "]" for values in zip(*parts)], index=frame.index, dtype=object)


def _key_texts(column: pd.Series) -> list[str]:
    values = column.tolist()
    if set(map(type, values)) <= {str}:
        return values
    return [_key_text(value) for value in values]


def _key_text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if value != value.normalize() else value.date().isoformat()
    return str(value)


def duplicate_key_problems(frame: pd.DataFrame, kind: FormKind, programme: str, file: str,
                           layout: dict[str, dict[str, str]]) -> tuple[pd.DataFrame, list[Problem], pd.Series]:
    """Rows of one file sharing a key: identical ones kept once, differing ones all rejected.
    Returns the rows kept, a problem for each rejected one, and the keys of those kept."""
    keys = record_key(frame, kind)
    if frame.empty:
        return frame, [], keys
    repeated = keys.duplicated(keep=False)
    if not repeated.any():
        return frame, [], keys
    # Whole rows are compared only where a key repeats (rarely, and never a whole 10,000-row sheet).
    values = frame.loc[repeated, kind.headers].map(_key_text).agg("\x1f".join, axis=1)
    distinct = values.groupby(keys[repeated]).nunique()
    conflicting = set(distinct[distinct > 1].index)
    clash = keys.isin(conflicting)
    problems = []
    for index in frame.index[clash]:
        sheet, row = frame.at[index, "_sheet"], int(frame.at[index, "_row"])
        first = kind.key[0] if kind.key[0] in kind.headers else kind.headers[0]
        header = first
        problems.append(Problem(programme, file, "E_DUPLICATE_KEY", sheet, row,
                                layout.get(sheet, {}).get(header, ""), header,
                                _key_text(frame.at[index, header]),
                                "关键列：" + "、".join(kind.key)))
    kept = ~clash & ~keys.where(~clash).duplicated()
    return frame[kept].reset_index(drop=True), problems, keys[kept].reset_index(drop=True)


_NOT_IN_ROSTER = {"officer": "名册中没有这个工号", "unit": "名册中没有这个单位",
                  "officer or unit": "名册中既没有这个工号，也没有这个单位"}


def roster_reference_failures(records: pd.DataFrame, column: str, allowed: set[str]) -> pd.Series:
    """True for the records whose `column` names nothing in `allowed` (ids or units of the roster)."""
    if records.empty or column not in records:
        return pd.Series(False, index=records.index)
    return ~records[column].astype("string").isin(allowed).fillna(False).astype(bool)


def check_against_roster(records: dict[str, pd.DataFrame], programme: str
                         ) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The records that name officers and units of the roster, and a problem for each that does not.

    Records are never deleted for this: once the roster names them, they count again. Without any
    roster the check cannot be made; one notice says so and every record is kept.
    """
    roster = records.get("roster", pd.DataFrame())
    kinds = all_kinds()
    referring = {kind: frame for kind, frame in records.items()
                 if kind in kinds and kinds[kind].roster_references and len(frame)}
    if roster.empty:
        notice = [Problem(programme, "", "N_NO_ROSTER")] if referring else []
        return records, notice
    allowed = {"officer": set(roster["工号"].astype(str)), "unit": set(roster["单位"].astype(str))}
    allowed["officer or unit"] = allowed["officer"] | allowed["unit"]
    kept, problems = dict(records), []
    for kind, frame in referring.items():
        bad = pd.Series(False, index=frame.index)
        for column, what in kinds[kind].roster_references:
            failures = roster_reference_failures(frame, column, allowed[what])
            for index in frame.index[failures & ~bad]:
                record = frame.loc[index]
                problems.append(Problem(programme, record["_file"], "E_NOT_IN_ROSTER", record["_sheet"],
                                        int(record["_row"]), record["_column"].get(column, ""), column,
                                        _key_text(record[column]), _NOT_IN_ROSTER[what]))
            bad |= failures
        kept[kind] = frame[~bad]
    return kept, problems
