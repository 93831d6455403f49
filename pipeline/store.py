"""The only module that speaks SQL: a ledger of inbox files and every accepted record with its origin.

Each file is stored in one transaction, so a run killed half-way leaves the store as it was before
that file. The newest file wins per key; older records stay, marked superseded by the file that
replaced them. A file whose content was stored before is not read again.
"""
from __future__ import annotations

import datetime as dt
from itertools import repeat
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import failpoints
from pipeline.problems import Problem

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.columns import Encoded

# pandas, NumPy and the column copies (pipeline.columns) are imported where records are stored or
# loaded: a run that finds nothing changed only reads the ledger, and starts in a tenth of the time.

SCHEMA_VERSION = 6
# Columns added to files after version 1, with their definitions, for stores made by earlier versions.
ADDED_FILE_COLUMNS = {"reader": "TEXT NOT NULL DEFAULT ''", "layout": "TEXT NOT NULL DEFAULT '{}'"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id            INTEGER PRIMARY KEY,   -- the order files entered the store: higher is newer
    programme     TEXT NOT NULL,
    name          TEXT NOT NULL,         -- path inside the programme's inbox folder
    sha256        TEXT NOT NULL,
    reader        TEXT NOT NULL,         -- version of reading and validation that produced the rows
    size          INTEGER NOT NULL,
    first_seen    TEXT NOT NULL,
    kinds         TEXT NOT NULL,         -- JSON list of the form kinds found
    rows_accepted INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    problems      TEXT NOT NULL,         -- JSON list of the file's problems
    layout        TEXT NOT NULL DEFAULT '{}',  -- JSON: sheet → header → Excel column letter
    UNIQUE (programme, sha256, reader)
);
CREATE TABLE IF NOT EXISTS records (
    id            INTEGER PRIMARY KEY,
    file_id       INTEGER NOT NULL REFERENCES files(id),
    programme     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    sheet         TEXT NOT NULL,
    row           INTEGER NOT NULL,
    digest        INTEGER NOT NULL,      -- of the record's content (record_digests); the content itself
                                         -- is in the file's column-wise copy (file_columns)
    superseded_by INTEGER REFERENCES files(id)
);
CREATE TABLE IF NOT EXISTS archive (  -- every ingested file's bytes, by content: the store can be rebuilt
    sha256        TEXT PRIMARY KEY,      -- from them, and a file deleted from the inbox keeps its history
    size          INTEGER NOT NULL,
    data          BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS file_columns (  -- a file's records of one kind column by column, loaded in one go
    file_id       INTEGER NOT NULL REFERENCES files(id),
    kind          TEXT NOT NULL,
    first_id      INTEGER NOT NULL,      -- the records' ids run from here, in the columns' order
    columns       BLOB NOT NULL,         -- {"_sheet": …, "_row": …, header: …} packed and deflated
                                         -- (deflated_columns); before version 6, JSON text
    PRIMARY KEY (file_id, kind)
);
CREATE INDEX IF NOT EXISTS records_current ON records (programme, kind, key) WHERE superseded_by IS NULL;
CREATE INDEX IF NOT EXISTS records_file ON records (file_id);
CREATE INDEX IF NOT EXISTS records_superseded ON records (programme, kind) WHERE superseded_by IS NOT NULL;
CREATE TABLE IF NOT EXISTS documents (  -- 发文字号: numbered per programme and year, once per document
    programme     TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- 通报, 考核评优
    period        TEXT NOT NULL,         -- 2026-11, 2026, 2026秋
    year          INTEGER NOT NULL,
    number        INTEGER NOT NULL,
    PRIMARY KEY (programme, kind, period),
    UNIQUE (programme, year, number)
);
CREATE TABLE IF NOT EXISTS outputs (  -- what a run wrote from which inputs, so an unchanged rerun reuses it
    programme     TEXT NOT NULL,
    command       TEXT NOT NULL,
    period        TEXT NOT NULL,
    inputs        TEXT NOT NULL,         -- fingerprint of everything the outputs depend on
    manifest      TEXT NOT NULL,         -- JSON: {"files": [[path, sha256]], "problems": [...]}
    PRIMARY KEY (programme, command, period)
);
CREATE TABLE IF NOT EXISTS returned (  -- annotated copies in 退回/: written from which file and problems
    path          TEXT PRIMARY KEY,
    inputs        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stretches (  -- deflated stretches of big workbooks' sheets, by the digest of
    digest        TEXT PRIMARY KEY,      -- what they hold: a rerun that changed one outlet's cards makes
    crc           INTEGER NOT NULL,      -- only the stretches holding them again (pipeline.xlsx)
    size          INTEGER NOT NULL,
    packed        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS stretch_uses (  -- which workbook last used which stretch: the others are let go
    workbook      TEXT NOT NULL,
    digest        TEXT NOT NULL,
    PRIMARY KEY (workbook, digest)
);
CREATE TABLE IF NOT EXISTS pseudonyms (  -- confidential programmes: officer id → its number for ever
    programme     TEXT NOT NULL,
    officer       TEXT NOT NULL,
    number        INTEGER NOT NULL,
    PRIMARY KEY (programme, officer),
    UNIQUE (programme, number)
);
"""


@dataclass(frozen=True)
class Change:
    """What storing one file did to the current records."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    replaced_keys: tuple[tuple[str, str], ...] = ()   # (kind, key) of the records whose content changed


LOOKUP_CHUNK = 500
# How far the write-ahead log may grow (pages of 4 KiB) before a commit copies it into the database.
# SQLite's 1,000 made the commit of one replaced outlet workbook (~1,000 pages) copy it at once, in
# the middle of a rerun (~0.03 s); the run copies it while it waits for its documents (checkpoint).
WAL_PAGES = 4096
# A file f no newer file of the same name replaced (storing a newer version supersedes all its records).
_NEWEST_VERSION = "NOT EXISTS (SELECT 1 FROM files g WHERE g.programme = f.programme AND g.name = f.name AND g.id > f.id)"


def _rows_with(db: sqlite3.Connection, query: str, fixed: tuple, values) -> list[tuple]:
    """The rows of `query` (its IN ({}) filled with marks) for each distinct value, a few hundred a time."""
    unique = list(dict.fromkeys(values))
    rows: list[tuple] = []
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        rows += db.execute(query.format(",".join("?" * len(chunk))), (*fixed, *chunk)).fetchall()
    return rows


def _blanks_as_none(frame, parts: list) -> None:
    """A column of texts that some files' records lack, or hold in another type (a copy of an older
    version), comes out of concat with NaN for their blanks: made None again, as in every other text
    column the store gives (records.typed relies on it)."""
    held = [part.dtypes.to_dict() for part in parts]          # looked up once, not per column and part
    for column in frame.columns[(frame.dtypes == object).to_numpy()]:
        if any(types.get(column) != object for types in held):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)


class Store:
    """An open store file. Use as a context manager."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        self.db.execute("PRAGMA foreign_keys=ON")
        present = {row[1] for row in self.db.execute("PRAGMA table_info(records)")}
        if "data" in present:
            _records_to_digests(self.db)
        self.db.executescript(SCHEMA)
        present = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        for column, definition in ADDED_FILE_COLUMNS.items():
            if column not in present:
                self.db.execute(f"ALTER TABLE files ADD COLUMN {column} {definition}")
        # Written only when it changes: setting it writes the header page, which closing the store then
        # copies from the write-ahead log and syncs (0.03 s of every run, a third of a run with nothing new).
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.prefetched: dict[tuple[int, str], pd.DataFrame] = {}    # (file id, kind) → its records

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database now: a run does it while it waits for
        its documents, where closing the store would do it at the very end."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def ledger(self) -> list[dict]:
        """Every file entry in the order the files entered the store."""
        rows = self.db.execute(
            "SELECT id, programme, name, sha256, reader, size, first_seen, kinds, rows_accepted, rows_rejected,"
            " problems, layout FROM files ORDER BY id").fetchall()
        names = ["id", "programme", "name", "sha256", "reader", "size", "first_seen", "kinds", "rows_accepted",
                 "rows_rejected", "problems", "layout"]
        return [dict(zip(names, row)) for row in rows]

    def archived(self, sha256: str) -> bytes | None:
        """The bytes of an ingested file, by content hash; None when the store has no copy."""
        row = self.db.execute("SELECT data FROM archive WHERE sha256 = ?", (sha256,)).fetchone()
        return bytes(row[0]) if row else None

    def keep_archived(self, sha256: str, content: bytes) -> None:
        """Archive a file's bytes unless the store has a copy already (checked first, so that a file
        seen again costs no write)."""
        if self.db.execute("SELECT 1 FROM archive WHERE sha256 = ?", (sha256,)).fetchone() is None:
            self.db.execute("INSERT OR IGNORE INTO archive (sha256, size, data) VALUES (?, ?, ?)",
                            (sha256, len(content), content))

    def record_rows(self) -> list[tuple]:
        """Every record as (programme, kind, key, digest, file name, sheet, row, name of the file that
        superseded it or None), in a stable order: what a rebuilt store must give again."""
        return self.db.execute(
            "SELECT r.programme, r.kind, r.key, r.digest, f.name, r.sheet, r.row, s.name FROM records r"
            " JOIN files f ON f.id = r.file_id LEFT JOIN files s ON s.id = r.superseded_by"
            " ORDER BY r.programme, r.kind, r.key, f.id, r.sheet, r.row").fetchall()

    def copy_kept_tables(self, source: Path) -> None:
        """Copy from another store what no inbox file can give again: 发文字号, pseudonym numbers, and
        archived files (so that a rebuilt store can be rebuilt again)."""
        self.db.execute("ATTACH DATABASE ? AS old", (str(source),))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for table in ("documents", "pseudonyms", "archive"):
                self.db.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM old.{table}")
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE old")

    def seen(self, programme: str, sha256: str, reader: str) -> dict | None:
        """The ledger entry of a file with this content read by this reader, or None."""
        row = self.db.execute(
            "SELECT id, name, kinds, rows_accepted, rows_rejected, problems FROM files"
            " WHERE programme = ? AND sha256 = ? AND reader = ?", (programme, sha256, reader)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "name": row[1], "kinds": json.loads(row[2]), "rows_accepted": row[3],
                "rows_rejected": row[4], "problems": [Problem(**p) for p in json.loads(row[5])]}

    def add_file(self, programme: str, name: str, sha256: str, reader: str, size: int,
                 records: dict[str, pd.DataFrame], keys: dict[str, pd.Series],
                 problems: list[Problem], rows_rejected: int, now: dt.datetime,
                 layout: dict[str, dict[str, str]] | None = None, content: bytes | None = None,
                 encoded: dict[str, Encoded] | None = None, keep_loaded: bool = False) -> Change:
        """Store one file (its bytes in the archive) and its records in one transaction; returns what changed.
        `encoded` is the records' text when already made (encode_records). With `keep_loaded`, the
        records are also kept loaded for current_records, as prefetch would load them."""
        from pipeline.columns import loaded_frame, encode_records

        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if content is not None:
                self.keep_archived(sha256, content)
            accepted = sum(len(frame) for frame in records.values())
            cursor = db.execute(
                "INSERT INTO files (programme, name, sha256, reader, size, first_seen, kinds, rows_accepted,"
                " rows_rejected, problems, layout) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (programme, name, sha256, reader, size, now.isoformat(timespec="seconds"),
                 json.dumps(sorted(records), ensure_ascii=False), accepted, rows_rejected,
                 json.dumps([p.to_json() for p in problems], ensure_ascii=False),
                 json.dumps(layout or {}, ensure_ascii=False)))
            file_id = cursor.lastrowid
            # Earlier versions of the same file: their records are replaced as a whole.
            earlier = [r[0] for r in db.execute(
                "SELECT id FROM files WHERE programme = ? AND name = ? AND id <> ?", (programme, name, file_id))]
            old_current = {}
            if earlier:
                marks = ",".join("?" * len(earlier))
                for kind, key, digest in db.execute(
                        f"SELECT kind, key, digest FROM records WHERE superseded_by IS NULL AND file_id IN ({marks})",
                        earlier):
                    old_current[(kind, key)] = digest
                db.execute(f"UPDATE records SET superseded_by = ? WHERE superseded_by IS NULL AND file_id IN ({marks})",
                           [file_id, *earlier])
            added = replaced = unchanged = 0
            replaced_keys = []
            loaded = {}
            for kind, frame in records.items():
                kind_keys = list(map(str, keys[kind]))
                text = encoded[kind] if encoded and kind in encoded else encode_records(frame)
                digests = text.digests.tolist()
                current = self._current_digests(programme, kind, [k for k in kind_keys if (kind, k) not in old_current]
                                                if old_current else kind_keys)
                if not old_current and not current:         # a file of new records only (a first reading)
                    added += len(kind_keys)
                for key, digest in zip(kind_keys, digests) if old_current or current else ():
                    previous = old_current.pop((kind, key), None)
                    if previous is None:
                        previous = current.get(key)
                    if previous is None:
                        added += 1
                    elif previous == digest:
                        unchanged += 1
                    else:
                        replaced += 1
                        replaced_keys.append((kind, key))
                # Only keys held by another file can have a record to supersede.
                db.executemany(
                    "UPDATE records SET superseded_by = ? WHERE programme = ? AND kind = ? AND key = ?"
                    " AND superseded_by IS NULL AND file_id <> ?",
                    [(file_id, programme, kind, key, file_id) for key in current])
                first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM records").fetchone()[0]
                db.executemany(
                    "INSERT INTO records (id, file_id, programme, kind, key, sheet, row, digest)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    zip(range(first, first + len(kind_keys)), repeat(file_id), repeat(programme), repeat(kind),
                        kind_keys, frame["_sheet"].tolist(), frame["_row"].astype("int64").tolist(), digests))
                db.execute("INSERT INTO file_columns (file_id, kind, first_id, columns) VALUES (?, ?, ?, ?)",
                           (file_id, kind, first, text.columns))
                if keep_loaded:
                    loaded[kind] = (first, text.columns)
            failpoints.reached("store")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for kind, (first, columns) in loaded.items():
            self.prefetched[(file_id, kind)] = loaded_frame(first, columns)
        return Change(added, replaced, unchanged, withdrawn=len(old_current), replaced_keys=tuple(replaced_keys))

    def _current_digests(self, programme: str, kind: str, keys: list[str]) -> dict[str, int]:
        """The digests of the current records with these keys (looked up a few hundred at a time)."""
        return dict(_rows_with(self.db, "SELECT key, digest FROM records WHERE programme = ? AND kind = ?"
                                        " AND superseded_by IS NULL AND key IN ({})", (programme, kind), keys))

    def current_records(self, programme: str, kind: str) -> pd.DataFrame:
        """The records of a kind that no newer file replaced, in the order they were stored, with their
        origin: _file, _sheet, _row, and _column (header → Excel column letter in that sheet).
        Each file's records are loaded column by column in one go, then those no longer current dropped.
        A file of which a newer version (same name) was stored has no current record and is not loaded."""
        import numpy as np
        import pandas as pd

        from pipeline.columns import DERIVED

        # Which files brought the kind: file_columns answers by its key, where records would be read
        # through, file by file, for a kind the files never held (a programme's other forms).
        files = self.db.execute(
            f"SELECT f.id, f.name, f.layout FROM files f WHERE f.programme = ? AND {_NEWEST_VERSION}"
            " AND EXISTS (SELECT 1 FROM file_columns c WHERE c.file_id = f.id AND c.kind = ?) ORDER BY f.id",
            (programme, kind)).fetchall()
        # Records a newer file superseded while their own file is still the newest version of its name
        # (the same key in another file): by file, so that only the files with some are filtered.
        superseded: dict[int, list[int]] = {}
        for file_id, record_id in _rows_with(
                self.db, "SELECT file_id, id FROM records INDEXED BY records_superseded WHERE programme = ?"
                " AND kind = ? AND superseded_by IS NOT NULL AND file_id IN ({})", (programme, kind),
                [row[0] for row in files]):
            superseded.setdefault(file_id, []).append(record_id)
        parts = []
        for file_id, name, layout in files:
            part = self._file_records(file_id, kind)
            if file_id in superseded:
                part = part[~part["_id"].isin(superseded[file_id])]
            if part.empty:
                continue
            sheets = json.loads(layout)
            part.insert(len(part.columns), "_file", name)
            codes, names = pd.factorize(part["_sheet"])
            columns = np.empty(len(names), dtype=object)
            columns[:] = [sheets.get(sheet, {}) for sheet in names]
            part["_column"] = columns[codes]
            parts.append(part)
        if not parts:
            return pd.DataFrame()
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        _blanks_as_none(frame, parts)
        if not frame["_id"].is_monotonic_increasing:
            frame = frame.sort_values("_id", kind="stable").reset_index(drop=True)
        data = sorted(c for c in frame.columns if not str(c).startswith("_"))
        worked_out = [c for c in frame.columns if str(c).startswith(DERIVED)]
        return frame[[*data, *worked_out, "_file", "_sheet", "_row", "_column"]]

    def record_versions(self, programme: str, kind: str, key: str) -> pd.DataFrame:
        """Every version the store holds of one record (`key` as kept: the JSON list of its key columns'
        texts), oldest first, with the file it came from (_file) and the id of the file that superseded
        it (_superseded_by, None for the current one)."""
        import pandas as pd

        rows = self.db.execute(
            "SELECT r.id, r.file_id, f.name, r.superseded_by FROM records r JOIN files f ON f.id = r.file_id"
            " WHERE r.programme = ? AND r.kind = ? AND r.key = ? ORDER BY r.id", (programme, kind, key)).fetchall()
        versions = []
        for record_id, file_id, name, superseded_by in rows:
            found = self._stored_columns(file_id, kind)
            version = found[found["_id"] == record_id].drop(columns="_id")
            versions.append(version.assign(_file=name, _superseded_by=superseded_by))
        return pd.concat(versions, ignore_index=True) if versions else pd.DataFrame()

    def prefetch(self, programme: str) -> None:
        """Load, ahead of current_records, the column-wise records of the programme's files stored so
        far (those no newer version replaced): done while new files are being read elsewhere."""
        for file_id, kind in self.db.execute(
                "SELECT c.file_id, c.kind FROM file_columns c JOIN files f ON f.id = c.file_id"
                f" WHERE f.programme = ? AND {_NEWEST_VERSION}", (programme,)).fetchall():
            self.prefetched[(file_id, kind)] = self._file_records(file_id, kind)

    def _file_records(self, file_id: int, kind: str) -> pd.DataFrame:
        """All records of a kind a file brought, from its column-wise copy (or as prefetched: records
        of a stored file never change, only whether they are current)."""
        if (file_id, kind) in self.prefetched:
            return self.prefetched.pop((file_id, kind))
        return self._stored_columns(file_id, kind)

    def _stored_columns(self, file_id: int, kind: str) -> pd.DataFrame:
        """A file's records of a kind from its column-wise copy, each with its record id (_id)."""
        from pipeline.columns import loaded_frame

        row = self.db.execute("SELECT first_id, columns FROM file_columns WHERE file_id = ? AND kind = ?",
                              (file_id, kind)).fetchone()
        return loaded_frame(row[0], row[1])

    def changed_keys(self, programme: str, kind: str) -> set[str]:
        """Keys of current records that replaced an earlier version with different content."""
        rows = self.db.execute(
            "SELECT DISTINCT old.key FROM records old JOIN records cur ON cur.programme = old.programme"
            " AND cur.kind = old.kind AND cur.key = old.key AND cur.superseded_by IS NULL"
            " WHERE old.programme = ? AND old.kind = ? AND old.superseded_by IS NOT NULL AND old.digest <> cur.digest",
            (programme, kind))
        return {row[0] for row in rows}

    def read_hashes(self, programme: str, reader: str) -> frozenset[str]:
        """The content hashes of the programme's files this reader has read (seen() knows each)."""
        return frozenset(row[0] for row in self.db.execute(
            "SELECT sha256 FROM files WHERE programme = ? AND reader = ?", (programme, reader)))

    def files_state(self, programme: str) -> tuple[int, int]:
        """The newest file id and the number of files stored for the programme (any new file changes it)."""
        row = self.db.execute("SELECT COALESCE(MAX(id), 0), COUNT(*) FROM files WHERE programme = ?",
                              (programme,)).fetchone()
        return int(row[0]), int(row[1])

    def outputs_of(self, programme: str, command: str, period: str) -> tuple[str, dict] | None:
        """The inputs fingerprint and manifest of the last outputs written for this programme and period."""
        row = self.db.execute("SELECT inputs, manifest FROM outputs WHERE programme = ? AND command = ? AND period = ?",
                              (programme, command, period)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def keep_outputs(self, programme: str, command: str, period: str, inputs: str, manifest: dict) -> None:
        """Remember what was written from which inputs."""
        self.db.execute("INSERT OR REPLACE INTO outputs (programme, command, period, inputs, manifest)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (programme, command, period, inputs, json.dumps(manifest, ensure_ascii=False)))

    def returned_inputs(self, path: str) -> str | None:
        """The fingerprint an annotated copy at `path` was written from, if any."""
        row = self.db.execute("SELECT inputs FROM returned WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def keep_returned(self, path: str, inputs: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO returned (path, inputs) VALUES (?, ?)", (path, inputs))

    def document_number(self, programme: str, kind: str, period: str, year: int) -> int:
        """The 发文字号 number of a document: the one it was given before, else the next of its programme
        and year (so a document rendered again keeps its number)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT number FROM documents WHERE programme = ? AND kind = ? AND period = ?",
                                  (programme, kind, period)).fetchone()
            if row is None:
                number = self.db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM documents"
                                         " WHERE programme = ? AND year = ?", (programme, year)).fetchone()[0]
                self.db.execute("INSERT INTO documents (programme, kind, period, year, number) VALUES (?, ?, ?, ?, ?)",
                                (programme, kind, period, year, number))
            else:
                number = row[0]
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return number

    def stretch_cache(self, workbook: str) -> "StoredStretches":
        """The stretches of sheets kept for big workbooks, as the cache pipeline.xlsx asks for; what
        `workbook` (an output's path) keeps replaces what it kept before."""
        return StoredStretches(self, workbook)

    def pseudonym_numbers(self, programme: str) -> dict[str, int]:
        """The pseudonym number of every officer that ever had one in the programme."""
        return dict(self.db.execute("SELECT officer, number FROM pseudonyms WHERE programme = ?", (programme,)))

    def keep_pseudonyms(self, programme: str, numbers: dict[str, int]) -> None:
        """Record new pseudonym numbers; numbers already given are never changed."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR IGNORE INTO pseudonyms (programme, officer, number) VALUES (?, ?, ?)",
                                [(programme, officer, number) for officer, number in sorted(numbers.items())])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise


def _records_to_digests(db: sqlite3.Connection) -> None:
    """Bring a store made before version 6 up to date, in one transaction: its records kept each a JSON
    copy of their content (records.data); now a digest stands there, and the content is in the files'
    column-wise copies, made here for the files stored before those were kept."""
    from pipeline.columns import deflated_columns, kept_values, record_digests

    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS file_columns (file_id INTEGER NOT NULL REFERENCES files(id),"
                   " kind TEXT NOT NULL, first_id INTEGER NOT NULL, columns TEXT NOT NULL,"
                   " PRIMARY KEY (file_id, kind))")
        db.execute("ALTER TABLE records ADD COLUMN digest INTEGER NOT NULL DEFAULT 0")
        missing = db.execute("SELECT DISTINCT file_id, kind FROM records r WHERE NOT EXISTS (SELECT 1 FROM"
                             " file_columns c WHERE c.file_id = r.file_id AND c.kind = r.kind)").fetchall()
        for file_id, kind in missing:
            rows = db.execute("SELECT id, sheet, row, data FROM records WHERE file_id = ? AND kind = ? ORDER BY id",
                              (file_id, kind)).fetchall()
            first = rows[0][0]
            if [row[0] for row in rows] != list(range(first, first + len(rows))):
                # The copy's records are numbered on from `first`: records numbered otherwise take new numbers.
                first = db.execute("SELECT MAX(id) + 1 FROM records").fetchone()[0]
                db.executemany("UPDATE records SET id = ? WHERE id = ?",
                               [(first + n, row[0]) for n, row in enumerate(rows)])
            datas = [json.loads(row[3]) for row in rows]
            names = sorted({name for data in datas for name in data})
            kept = {"_sheet": [row[1] for row in rows], "_row": [row[2] for row in rows],
                    **{name: [data.get(name) for data in datas] for name in names}}
            db.execute("INSERT INTO file_columns (file_id, kind, first_id, columns) VALUES (?, ?, ?, ?)",
                       (file_id, kind, first, deflated_columns({n: kept_values(v) for n, v in kept.items()})))
        for file_id, kind in db.execute("SELECT DISTINCT file_id, kind FROM records").fetchall():
            rows = db.execute("SELECT id, data FROM records WHERE file_id = ? AND kind = ?", (file_id, kind)).fetchall()
            datas = [json.loads(row[1]) for row in rows]
            names = sorted({name for data in datas for name in data})
            digests = record_digests({name: [data.get(name) for data in datas] for name in names})
            db.executemany("UPDATE records SET digest = ? WHERE id = ?",
                           zip(digests.tolist(), (row[0] for row in rows)))
        db.execute("ALTER TABLE records DROP COLUMN data")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class StoredStretches:
    """A workbook's view of the stretches table (pipeline.xlsx.StretchCache)."""

    def __init__(self, store: Store, workbook: str):
        self.db, self.workbook = store.db, workbook

    def found(self, digests: list[str]) -> dict[str, tuple[int, int, bytes]]:
        return {digest: (crc, size, bytes(packed)) for digest, crc, size, packed in _rows_with(
            self.db, "SELECT digest, crc, size, packed FROM stretches WHERE digest IN ({})", (), digests)}

    def keep(self, stretches: dict[str, tuple[int, int, bytes]]) -> None:
        """Keep these as the workbook's stretches, and let go of every stretch no workbook uses now."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR IGNORE INTO stretches (digest, crc, size, packed) VALUES (?, ?, ?, ?)",
                                [(digest, crc, size, packed) for digest, (crc, size, packed) in stretches.items()])
            self.db.execute("DELETE FROM stretch_uses WHERE workbook = ?", (self.workbook,))
            self.db.executemany("INSERT OR IGNORE INTO stretch_uses (workbook, digest) VALUES (?, ?)",
                                [(self.workbook, digest) for digest in stretches])
            self.db.execute("DELETE FROM stretches WHERE digest NOT IN (SELECT digest FROM stretch_uses)")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
