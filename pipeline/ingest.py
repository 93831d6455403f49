"""Inbox folder → store: read each new file once, validate it, store its good rows in one transaction."""
from __future__ import annotations

import datetime as dt
import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.inbox import Unrecognised, recognise
from pipeline.sheets import UnreadableFile, read_sheets
from pipeline.problems import ERROR, Problem
from pipeline.results import FileResult
from pipeline.reuse import inbox_files, known_result, reader_of
from pipeline.rules.programmes import READING_DERIVATIONS
from pipeline.settings import Programme
from pipeline import ahead, failpoints, timing
from pipeline.processes import address_space, die_with_parent, limit_address_space, start_forked
from pipeline.timing import phase
from pipeline.columns import Encoded, encode_records
from pipeline.store import Store
from pipeline.validate import duplicate_key_problems, validate_form
from schemas import all_kinds


# New files are read in reader processes, two at a time, each reading one file after another: a file
# that makes the parser take all memory or crash (a sheet whose two cells lie a million rows and
# 200,000 columns apart) or hang takes down only its reader, and is reported by name.
READERS = 2
RECYCLE_MEMORY = 1 << 30          # a reader that has kept this much more leaves after its file
CHILD_SECONDS = 900


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
    encoded: dict[str, Encoded] = field(default_factory=dict)     # the records' text for the store


def read_file(path: Path, programme: Programme, name: str, sha256: str | None = None) -> FileReading:
    """Read, validate and key one inbox file; a file that cannot be opened is one problem. With the
    file's content hash, for the run's first new file: its sheets as read ahead (pipeline.ahead)
    when they come, instead of reading it again."""
    kinds = all_kinds()
    problems: list[Problem] = []
    if path.is_symlink():
        return FileReading(problems=[Problem(programme.id, name, "E_FILE_LINK")])
    failpoints.reached("read")
    try:
        found = ahead.read_ahead(path, sha256) if sha256 is not None else None
        if found is None:
            with phase("read"):
                sheets = read_sheets(path)
        else:
            sheets = _taken(*found)
    except UnreadableFile as error:
        return FileReading(problems=[Problem(programme.id, name, error.code)])
    with phase("validate"):
        return _validated(sheets, kinds, programme, name, problems)


def _taken(outcome, seconds: float) -> list:
    """The sheets read ahead (raising the UnreadableFile it gave instead), their reading's seconds
    counted as this process's own."""
    timing.add({"read": seconds})
    if isinstance(outcome, UnreadableFile):
        raise outcome
    return outcome


def _validated(sheets, kinds, programme: Programme, name: str, problems: list[Problem]) -> FileReading:
    frames: dict[str, list[pd.DataFrame]] = {}
    layout: dict[str, dict[str, str]] = {}
    for sheet in sheets:
        if sheet.too_large:
            problems.append(Problem(programme.id, name, "E_SHEET_TOO_LARGE", sheet.name))
            continue
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
        frame, duplicates, kept_keys = duplicate_key_problems(frame, kind, programme.id, name, layout)
        problems += sorted(duplicates, key=lambda p: (p.sheet, p.row or 0))
        derive = READING_DERIVATIONS.get(programme.preset, {}).get(kind_name)
        if derive is not None and len(frame):
            frame = pd.concat([frame, derive(frame, programme.rules)], axis=1)
        records[kind_name] = frame
        keys[kind_name] = kept_keys
    return FileReading(records, keys, problems, layout)


def rejected_rows(problems: list[Problem]) -> int:
    """How many rows the problems rejected (a row with several bad cells counts once)."""
    return len({(p.sheet, p.row) for p in problems if p.severity == ERROR and p.row is not None
                and p.code != "E_SHEET_HEADER"})


def _reading_of(path: Path, programme: Programme, name: str, sha256: str | None = None
                ) -> tuple[FileReading, dict]:
    """One file read as a reader process reads it: its records encoded for the store (of the frames,
    only where each row came from is kept), and the seconds per phase."""
    timing.taken()
    reading = read_file(path, programme, name, sha256)
    with phase("store"):
        reading.encoded = {kind: encode_records(frame) for kind, frame in reading.records.items()}
        # The store takes the records as encoded; of the frames it needs only where each row came from.
        reading.records = {kind: frame[["_sheet", "_row"]] for kind, frame in reading.records.items()}
    return reading, timing.taken()


def _reader(jobs, results, parent: int, programme: Programme, inherited: list) -> None:
    """A reader process: reads the files it is sent, one (path, name) after another, and answers each
    with (status, reading or traceback, seconds per phase, staying). It stays for the next file, so
    that the memory it works in is set up once rather than for every file; it leaves when told (None),
    after a file that took all its memory or met a bug, and once its address space has grown by
    RECYCLE_MEMORY (the run starts another when files are left)."""
    try:
        for connection in inherited:          # the run's ends of other readers' pipes
            connection.close()
        die_with_parent(parent)
        start = limit_address_space()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)    # a parser's own dying words are not for clerks
        faulthandler.disable()
        while (job := jobs.recv()) is not None:
            try:
                reading, seconds = _reading_of(job[0], programme, job[1], job[2])
            except MemoryError:
                results.send(("too large", None, {}, False))
                break
            except BaseException:
                results.send(("bug", traceback.format_exc(), {}, False))
                break
            staying = address_space() <= start + RECYCLE_MEMORY
            results.send(("ok", reading, seconds, staying))
            if not staying:
                break
    except (EOFError, OSError):
        pass
    finally:
        os._exit(0)


@dataclass
class _Reader:
    """The run's side of a reader process: its pipes, and the job it is reading (None when idle)."""

    process: multiprocessing.Process
    jobs: multiprocessing.connection.Connection
    results: multiprocessing.connection.Connection
    job: int | None = None
    started: float = 0.0

    @classmethod
    def start(cls, programme: Programme, others: list["_Reader"]) -> "_Reader":
        jobs_out, jobs_in = multiprocessing.Pipe(duplex=False)
        results_out, results_in = multiprocessing.Pipe(duplex=False)
        inherited = [c for other in others for c in (other.jobs, other.results)]
        process = start_forked(_reader, (jobs_out, results_in, os.getpid(), programme, inherited))
        jobs_out.close()
        results_in.close()
        return cls(process, jobs_in, results_out)

    def give(self, job: int, path: Path, name: str, sha256: str | None = None) -> None:
        """Have it read the file; with its content hash when it is to take the sheets read ahead."""
        self.job, self.started = job, time.monotonic()
        self.jobs.send((path, name, sha256))

    def stop(self) -> None:
        """Let the process go: told to leave when idle, killed when still reading (the run failed)."""
        if self.job is None and self.process.is_alive():
            try:
                self.jobs.send(None)
            except OSError:
                pass
        else:
            self.process.kill()
        self.jobs.close()
        self.results.close()
        self.process.join()


def _warm_up() -> None:
    """Import, once in the parent, what validation imports on first use (pandera's backends), so that
    each forked reader finds it loaded instead of importing it again."""
    import pandera.pandas as pa

    pa.DataFrameSchema({"x": pa.Column(int)}).validate(pd.DataFrame({"x": [1]}))


def read_files(jobs: list[tuple[Path, str]], programme: Programme, meanwhile=None,
               first_sha256: str | None = None):
    """FileReading of each (path, name), in order, read by READERS reader processes, each reading one
    file after another. A file whose reader dies or overruns CHILD_SECONDS gives E_FILE_TOO_LARGE, and
    another reader takes over the files left. `meanwhile()`, if given, is called once the first files
    are being read, instead of waiting idle. `first_sha256`: the first file's content hash, for its
    reader to take its sheets when they were read ahead (pipeline.ahead)."""
    if not jobs:
        return
    _warm_up()
    ahead_sha256 = first_sha256 if first_sha256 is not None and ahead.offered() else None
    readers: list[_Reader] = []
    done: dict[int, FileReading] = {}
    waiting = list(range(len(jobs)))[::-1]
    following = 0
    try:
        while following < len(jobs):
            while waiting:
                reader = next((r for r in readers if r.job is None), None)
                if reader is None:
                    if len(readers) >= READERS:
                        break
                    reader = _Reader.start(programme, readers)
                    readers.append(reader)
                index = waiting.pop()
                reader.give(index, *jobs[index], ahead_sha256 if index == 0 else None)
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            if following in done:
                yield done.pop(following)
                following += 1
                continue
            busy = [r for r in readers if r.job is not None]
            ready = multiprocessing.connection.wait([r.results for r in busy], timeout=1)
            for reader in busy:
                outcome = None
                if reader.results in ready:
                    try:
                        outcome = reader.results.recv()
                    except (EOFError, OSError):
                        outcome = ("too large", None, {}, False)        # the reader died without a word
                elif time.monotonic() - reader.started > CHILD_SECONDS:
                    reader.process.kill()
                    outcome = ("too large", None, {}, False)
                if outcome is None:
                    continue
                status, reading, seconds, staying = outcome
                index, reader.job = reader.job, None
                if not staying:
                    readers.remove(reader)
                    reader.stop()
                if status == "bug":
                    raise RuntimeError(f"读取 {jobs[index][1]} 时程序出错：\n{reading}")
                if status == "too large":
                    reading = FileReading(problems=[Problem(programme.id, jobs[index][1], "E_FILE_TOO_LARGE")])
                timing.add(seconds)
                done[index] = reading
    finally:
        for reader in readers:
            reader.stop()


def ingest_programme(store: Store, folder: Path, programme: Programme, now: dt.datetime,
                     progress: bool = False) -> list[FileResult]:
    """Store every new file of a programme's inbox folder; files already stored are not read again.
    New files are read in child processes, two at a time, and stored one by one in their order."""
    reader = reader_of(programme)
    found = inbox_files(store, folder, programme, reader)
    paths = [path for path, _, _ in found]
    identities = [identity for _, identity, _ in found]
    seen = [known for _, _, known in found]
    # While the new files are read, the records of those stored before are loaded for the figures.
    new = [(path, identity) for path, identity, known in zip(paths, identities, seen) if known is None]
    readings = read_files([(path, identity.name) for path, identity in new], programme,
                          lambda: store.prefetch(programme.id), new[0][1].sha256 if new else None)
    results = []
    for number, (path, identity, known) in enumerate(zip(paths, identities, seen), start=1):
        if progress:
            print(f"\r  [{programme.id}] 读取 {number}/{len(paths)} {path.name[:40]:<40}", end="", file=sys.stderr, flush=True)
        if known is not None:
            results.append(known_result(identity, known))
            continue
        reading = next(readings)
        problems, records = reading.problems, reading.records
        rejected = rejected_rows(problems)
        with phase("store"):
            change = store.add_file(programme.id, identity.name, identity.sha256, reader, identity.size,
                                    records, reading.keys, problems, rejected, now, reading.layout,
                                    None if path.is_symlink() else identity.content, reading.encoded,
                                    keep_loaded=True)     # loaded here, while the next files are read
        identities[number - 1] = None     # its bytes are archived: let them go
        unreadable = any(p.code.startswith("E_FILE") or p.code == "E_CSV_ENCODING" for p in problems)
        results.append(FileResult(identity.name, "无法读取" if unreadable else "新读入", sorted(records),
                                  sum(len(f) for f in records.values()), rejected, problems, change,
                                  identity.sha256))
    if progress and paths:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return results
