"""The store keeps a copy of every file it read, so it can be rebuilt, and a file deleted from the
inbox keeps its history."""
from __future__ import annotations

import shutil
import sqlite3

from tests.conftest import SAMPLE_INBOX, run_cli


def monthly(root, out: str):
    return run_cli("monthly", "--period", "2026-11", "--inbox", str(root / "inbox"), "--out", str(root / out),
                   "--store", str(root / "store.sqlite"), "--settings", str(root / "none.toml"))


def test_rebuilding_the_store_from_its_archive_gives_the_same_records_and_documents(tmp_path):
    shutil.copytree(SAMPLE_INBOX, tmp_path / "inbox")
    assert monthly(tmp_path, "out0").returncode in (0, 1)
    # A clerk deletes a file from the inbox: its records stay in the store, its bytes in the archive.
    deleted = sorted((tmp_path / "inbox" / "correspondents").glob("*.xlsx"))[-1]
    deleted.unlink()
    assert monthly(tmp_path, "out1").returncode in (0, 1)
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        before = db.execute("SELECT programme, kind, key, digest, superseded_by IS NULL FROM records"
                            " ORDER BY programme, kind, key, id").fetchall()
        archived = {row[0] for row in db.execute("SELECT sha256 FROM archive")}
        ledger = {row[0] for row in db.execute("SELECT sha256 FROM files WHERE rows_accepted > 0")}
        numbers = db.execute("SELECT * FROM documents ORDER BY 1, 2, 3").fetchall()
    assert ledger <= archived
    result = run_cli("rebuild-store", "--store", str(tmp_path / "store.sqlite"),
                     "--settings", str(tmp_path / "none.toml"))
    assert result.returncode == 0, result.stderr
    assert "完全一致" in result.stdout
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        after = db.execute("SELECT programme, kind, key, digest, superseded_by IS NULL FROM records"
                           " ORDER BY programme, kind, key, id").fetchall()
        assert db.execute("SELECT * FROM documents ORDER BY 1, 2, 3").fetchall() == numbers
    assert after == before
    assert (tmp_path / "store.sqlite.before-rebuild").is_file()
    # The month computed from the rebuilt store is the month computed before.
    assert monthly(tmp_path, "out2").returncode in (0, 1)
    written = sorted(p.relative_to(tmp_path / "out2") for p in (tmp_path / "out2").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "out1") for p in (tmp_path / "out1").rglob("*") if p.is_file())
    for path in written:
        assert (tmp_path / "out2" / path).read_bytes() == (tmp_path / "out1" / path).read_bytes(), path


def test_a_store_without_a_copy_of_a_file_is_not_rebuilt_and_stays_as_it_was(tmp_path):
    shutil.copytree(SAMPLE_INBOX / "correspondents", tmp_path / "inbox" / "correspondents")
    assert monthly(tmp_path, "out").returncode in (0, 1)
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        db.execute("DELETE FROM archive WHERE rowid = (SELECT MIN(rowid) FROM archive)")
    content = state(tmp_path / "store.sqlite")
    result = run_cli("rebuild-store", "--store", str(tmp_path / "store.sqlite"))
    assert result.returncode == 2 and "无法重建" in result.stderr and "Traceback" not in result.stderr
    assert state(tmp_path / "store.sqlite") == content
    assert not list(tmp_path.glob("store.sqlite.*rebuild*"))


def state(path):
    with sqlite3.connect(path) as db:
        return [db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in ("files", "records", "archive")]


def test_a_file_still_in_the_inbox_is_archived_again_when_its_copy_is_missing(tmp_path):
    shutil.copytree(SAMPLE_INBOX / "correspondents", tmp_path / "inbox" / "correspondents")
    assert monthly(tmp_path, "out").returncode in (0, 1)
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        db.execute("DELETE FROM archive")
    assert monthly(tmp_path, "out").returncode in (0, 1)       # nothing new: every file already read
    result = run_cli("rebuild-store", "--store", str(tmp_path / "store.sqlite"))
    assert result.returncode == 0 and "完全一致" in result.stdout, result.stderr
