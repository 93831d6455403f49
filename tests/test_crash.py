"""Crash safety: a run killed (SIGKILL, the run and its workers at once) while reading, storing,
rendering or writing leaves no half-written output and no half-stored file; the next run finishes and
writes exactly what an uninterrupted run writes."""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess

import pytest

from tests.conftest import PYTHON, SAMPLE_INBOX
from pipeline.settings import PROJ_ROOT

# Where to kill, and how many times the point is reached at least in the sample run (the n-th time
# is drawn from a fixed seed, so that the test is the same every time but not always the first).
POINTS = {"read": 5, "store": 5, "render": 4, "output": 6}


def run(root, out: str, store: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_CRASH_AT"}
    if crash_at:
        env["PIPELINE_CRASH_AT"] = crash_at
    return subprocess.run([PYTHON, "-m", "pipeline", "monthly", "--period", "2026-11", "--inbox", str(root / "inbox"),
                           "--out", str(root / out), "--store", str(root / store),
                           "--settings", str(root / "none.toml")],
                          capture_output=True, text=True, cwd=PROJ_ROOT, env=env, start_new_session=True)


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    shutil.copytree(SAMPLE_INBOX, root / "inbox")
    assert run(root, "reference", "reference.sqlite").returncode in (0, 1)
    return root


@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_run_killed_then_run_again_writes_what_an_uninterrupted_run_writes(reference, point):
    root = reference
    times = random.Random(f"crash-{point}").randint(1, POINTS[point])
    killed = run(root, f"out-{point}", f"{point}.sqlite", f"{point}:{times}")
    assert killed.returncode == -9, f"the run was not killed at {point}:{times}: {killed.stderr}"
    again = run(root, f"out-{point}", f"{point}.sqlite")
    assert again.returncode in (0, 1), again.stderr
    with sqlite3.connect(root / f"{point}.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    expected, found = files_of(root / "reference"), files_of(root / f"out-{point}")
    assert sorted(found) == sorted(expected)                  # no leftover temporary file, none missing
    for name in expected:
        assert found[name] == expected[name], name


def test_a_second_run_waits_for_the_first_saying_so_and_the_store_stays_whole(tmp_path):
    import fcntl
    import select

    shutil.copytree(SAMPLE_INBOX / "correspondents", tmp_path / "inbox" / "correspondents")
    store = tmp_path / "store.sqlite"
    with open(tmp_path / "store.sqlite.lock", "w") as lock:      # a first run holds the lock
        fcntl.lockf(lock, fcntl.LOCK_EX)
        second = subprocess.Popen([PYTHON, "-m", "pipeline", "monthly", "--period", "2026-11", "--inbox",
                                   str(tmp_path / "inbox"), "--out", str(tmp_path / "out"), "--store", str(store)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJ_ROOT)
        ready, _, _ = select.select([second.stderr], [], [], 60)
        assert ready and "另一次运行正在进行" in second.stderr.readline()
        assert second.poll() is None and not (tmp_path / "out").exists()     # waiting, nothing written
        fcntl.lockf(lock, fcntl.LOCK_UN)
    out, err = second.communicate(timeout=300)
    assert second.returncode in (0, 1), err
    assert (tmp_path / "out" / "correspondents" / "2026-11" / "通报.pdf").is_file()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
