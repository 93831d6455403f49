"""The same inbox gives the same documents: two runs into two empty output folders, one on a machine
set to UTC and the C locale, one set to Asia/Shanghai and zh_CN, with the inbox files' modification
times changed, write byte-identical PDFs and workbooks. No command changes an inbox file."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from pipeline.settings import PROJ_ROOT
from tests.conftest import PYTHON, SAMPLE_INBOX

COMMANDS = [["monthly", "--period", "2026-11"], ["evaluation", "--year", "2026"], ["evaluation", "--term", "2026秋"],
            ["daily", "--date", "2026-11-03"], ["certificates", "--period", "2026-09"]]
MACHINES = {"utc": {"TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
            "shanghai": {"TZ": "Asia/Shanghai", "LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8"}}


def inbox_state(folder):
    return {p.relative_to(folder): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory):
    root = tmp_path_factory.mktemp("reproducible")
    runs = {}
    for n, (machine, env) in enumerate(MACHINES.items()):
        inbox = root / machine / "inbox"
        shutil.copytree(SAMPLE_INBOX, inbox)
        for k, path in enumerate(sorted(p for p in inbox.rglob("*") if p.is_file())):
            moment = 1_000_000_000 + 86_400 * (k * 37 % 101) + n * 3_600      # other days, other order
            os.utime(path, (moment, moment))
        before = inbox_state(inbox)
        statuses = []
        for command in COMMANDS:
            result = subprocess.run([PYTHON, "-m", "pipeline", *command, "--inbox", str(inbox),
                                     "--out", str(root / machine / "out"), "--store", str(root / machine / "store.sqlite"),
                                     "--settings", str(root / "none.toml")],
                                    capture_output=True, text=True, cwd=PROJ_ROOT, env={**os.environ, **env})
            statuses.append((command[0], result.returncode, result.stderr))
        runs[machine] = {"out": root / machine / "out", "statuses": statuses, "before": before,
                         "after": inbox_state(inbox)}
    return runs


def test_every_command_ran_on_both_machines(two_machines):
    for run in two_machines.values():
        for command, status, err in run["statuses"]:
            assert status in (0, 1), f"{command}: {err}"


def test_two_machines_write_byte_identical_documents_and_workbooks(two_machines):
    utc, shanghai = (two_machines[m]["out"] for m in MACHINES)
    written = sorted(p.relative_to(utc) for p in utc.rglob("*") if p.is_file() and p.suffix in {".pdf", ".xlsx"})
    assert written == sorted(p.relative_to(shanghai) for p in shanghai.rglob("*")
                             if p.is_file() and p.suffix in {".pdf", ".xlsx"})
    assert any(p.name == "考核评优.pdf" for p in written) and any(p.name == "对账单.pdf" for p in written)
    different = [str(p) for p in written if (utc / p).read_bytes() != (shanghai / p).read_bytes()]
    assert different == []


def test_no_command_changes_an_inbox_file_or_its_time(two_machines):
    for run in two_machines.values():
        assert run["after"] == run["before"]
