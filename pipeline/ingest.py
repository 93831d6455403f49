"""Inbox folder → store: read each new file once, validate it, store its good rows in one transaction."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.inbox import Unrecognised, UnreadableFile, fingerprint, list_files, read_sheets, recognise
from pipeline.problems import ERROR, Problem
from pipeline.settings import Programme
from pipeline.timing import phase
from pipeline.store import Change, Store
from pipeline.validate import duplicate_key_problems, record_key, validate_form
from schemas import all_kinds


# Raise when reading or validation changes what a file yields: every file is then read again once,
# its new rows replacing those of the earlier reading.
READER_VERSION = 2


def reader_of(programme: Programme) -> str:
    """The reader's identity for a programme: the code's version and the settings validation depends on."""
    settings = json.dumps(programme.config, ensure_ascii=False, sort_keys=True)
    return f"{READER_VERSION}-{hashlib.sha256(settings.encode()).hexdigest()[:12]}"


@dataclass
class FileResult:
    """What became of one inbox file in this run."""

    name: str
    status: str                       # 新读入 / 已读过 / 无法读取
    kinds: list[str]
    accepted: int
    rejected: int
    problems: list[Problem]
    change: Change = field(default_factory=Change)
    sha256: str = ""


def _sheet_problems(found: Unrecognised, programme: str, file: str) -> Problem:
    if found.closest is None:
        return Problem(programme, file, "N_SHEET_UNKNOWN", found.sheet)
    detail = f"按“{found.closest.title}”识别，缺少：{'、'.join(found.missing)}"
    if found.unknown:
        detail += f"；无法识别的列：{'、'.join(found.unknown)}"
    return Problem(programme, file, "E_SHEET_HEADER", found.sheet, found.header_row, detail=detail)


@dataclass
class FileReading:
    """One inbox file read: its accepted records and their keys by form kind, its problems, and
    where each column stands in each sheet (sheet → header → Excel column letter)."""

    records: dict[str, pd.DataFrame] = field(default_factory=dict)
    keys: dict[str, pd.Series] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    layout: dict[str, dict[str, str]] = field(default_factory=dict)


def read_file(path: Path, programme: Programme, name: str) -> FileReading:
    """Read, validate and key one inbox file; a file that cannot be opened is one problem."""
    kinds = all_kinds()
    problems: list[Problem] = []
    try:
        with phase("read"):
            sheets = read_sheets(path)
    except UnreadableFile as error:
        return FileReading(problems=[Problem(programme.id, name, error.code)])
    with phase("validate"):
        return _validated(sheets, kinds, programme, name, problems)


def _validated(sheets, kinds, programme: Programme, name: str, problems: list[Problem]) -> FileReading:
    frames: dict[str, list[pd.DataFrame]] = {}
    layout: dict[str, dict[str, str]] = {}
    for sheet in sheets:
        found = recognise(sheet, list(kinds.values()))
        if found is None:
            continue
        if isinstance(found, Unrecognised):
            problems.append(_sheet_problems(found, programme.id, name))
            continue
        accepted, sheet_problems = validate_form(found, programme.config, programme.id, name)
        problems += sheet_problems
        layout[found.sheet] = {header: found.letter(header) for header in found.columns}
        frames.setdefault(found.kind.name, []).append(accepted)
    problems.sort(key=lambda p: (p.sheet, p.row or 0, p.column))
    records, keys = {}, {}
    for kind_name, parts in frames.items():
        kind = kinds[kind_name]
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame, duplicates = duplicate_key_problems(frame, kind, programme.id, name, layout)
        problems += sorted(duplicates, key=lambda p: (p.sheet, p.row or 0))
        records[kind_name] = frame
        keys[kind_name] = record_key(frame, kind)
    return FileReading(records, keys, problems, layout)


def rejected_rows(problems: list[Problem]) -> int:
    """How many rows the problems rejected (a row with several bad cells counts once)."""
    return len({(p.sheet, p.row) for p in problems if p.severity == ERROR and p.row is not None
                and p.code != "E_SHEET_HEADER"})


def ingest_programme(store: Store, folder: Path, programme: Programme, now: dt.datetime,
                     progress: bool = False) -> list[FileResult]:
    """Store every new file of a programme's inbox folder; files already stored are not read again."""
    results = []
    reader = reader_of(programme)
    paths = list_files(folder) if folder.is_dir() else []
    for number, path in enumerate(paths, start=1):
        if progress:
            print(f"\r  [{programme.id}] 读取 {number}/{len(paths)} {path.name[:40]:<40}", end="", file=sys.stderr, flush=True)
        identity = fingerprint(path, folder)
        seen = store.seen(programme.id, identity.sha256, reader)
        if seen is not None:
            results.append(FileResult(identity.name, "已读过", seen["kinds"], seen["rows_accepted"],
                                      seen["rows_rejected"], seen["problems"], sha256=identity.sha256))
            continue
        reading = read_file(path, programme, identity.name)
        problems, records = reading.problems, reading.records
        rejected = rejected_rows(problems)
        with phase("store"):
            change = store.add_file(programme.id, identity.name, identity.sha256, reader, identity.size,
                                    records, reading.keys, problems, rejected, now, reading.layout)
        unreadable = any(p.code.startswith("E_FILE") or p.code == "E_CSV_ENCODING" for p in problems)
        results.append(FileResult(identity.name, "无法读取" if unreadable else "新读入", sorted(records),
                                  sum(len(f) for f in records.values()), rejected, problems, change,
                                  identity.sha256))
    if progress and paths:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return results
