"""make rebuild-store: a new store from the archived inbox files of the ledger, replayed in the order
they first came in, through today's reading and validation. What no file can give again (发文字号,
pseudonym numbers) is copied over. The old store is kept beside the new one as <store>.before-rebuild.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest import read_files, rejected_rows
from pipeline.reuse import reader_of
from pipeline.problems import Problem
from pipeline.settings import Programme, programme_for
from pipeline.store import Store


class CannotRebuild(Exception):
    """The store cannot be rebuilt (said in Chinese); nothing was changed."""


@dataclass
class Rebuilt:
    files: int                # ledger entries replayed
    records: int              # records in the rebuilt store
    differences: int          # records that differ from the old store's (0: the same records)
    backup: Path


def replay(old: Store, new: Store, settings: dict, scratch: Path) -> int:
    """Every ledger entry of `old`, in order, read again from its archived bytes and stored in `new`."""
    entries = old.ledger()
    programmes: dict[str, Programme] = {}
    missing = []
    jobs = []
    for entry in entries:
        programme = programmes.setdefault(entry["programme"], programme_for(entry["programme"], settings))
        content = old.archived(entry["sha256"])
        if content is None:
            if entry["rows_accepted"]:
                missing.append(f"{entry['programme']}/{entry['name']}")
            jobs.append((entry, programme, None))
            continue
        # Each entry in a folder of its own: the same name may come in several versions.
        path = scratch / str(entry["id"]) / entry["name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        jobs.append((entry, programme, path))
    if missing:
        raise CannotRebuild("数据库里没有这些文件的存档（它们是在存档功能加入之前读入的），无法重建：\n  "
                            + "\n  ".join(missing))
    readings = {}
    for programme_id, programme in programmes.items():
        mine = [(path, entry["name"]) for entry, p, path in jobs if p is programme and path is not None]
        readings[programme_id] = read_files(mine, programme)
    for entry, programme, path in jobs:
        now = dt.datetime.fromisoformat(entry["first_seen"])
        if path is None:    # a link or a file with nothing accepted and no copy: its ledger entry as it was
            problems = [Problem(**p) for p in json.loads(entry["problems"])]
            new.add_file(programme.id, entry["name"], entry["sha256"], reader_of(programme), entry["size"], {}, {},
                         problems, entry["rows_rejected"], now, json.loads(entry["layout"]))
            continue
        reading = next(readings[programme.id])
        new.add_file(programme.id, entry["name"], entry["sha256"], reader_of(programme), entry["size"],
                     reading.records, reading.keys, reading.problems, rejected_rows(reading.problems), now,
                     reading.layout, path.read_bytes(), reading.encoded)
    return len(entries)


def remove_store(path: Path) -> None:
    """A store file and its SQLite companions (-wal, -shm), if there."""
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        part.unlink(missing_ok=True)


def rebuild_store(path: Path, settings: dict) -> Rebuilt:
    """Rebuild the store at `path` from its archive; the old one is kept as <path>.before-rebuild."""
    if not path.is_file():
        raise CannotRebuild(f"没有找到数据库 {path}。")
    fresh = path.with_name(path.name + ".rebuilding")
    backup = path.with_name(path.name + ".before-rebuild")
    remove_store(fresh)
    try:
        with Store(path) as old, Store(fresh) as new, tempfile.TemporaryDirectory(prefix="rebuild-") as scratch:
            files = replay(old, new, settings, Path(scratch))
            new.copy_kept_tables(path)
            before, after = old.record_rows(), new.record_rows()
            differences = len(set(before) ^ set(after))
    except BaseException:
        remove_store(fresh)
        raise
    os.replace(path, backup)
    os.replace(fresh, path)
    return Rebuilt(files, len(after), differences, backup)
