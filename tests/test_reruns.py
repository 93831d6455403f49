"""Reruns do only the work whose inputs changed: nothing read, computed or rendered when nothing changed."""
from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys

from pipeline import timing
from pipeline.__main__ import main
from pipeline.settings import PROJ_ROOT
from tests.conftest import ARTICLE_HEADERS, FEEDBACK_HEADERS, ROSTER_HEADERS, article, write_xlsx


def inbox_with_two_programmes(root):
    inbox = root / "inbox"
    write_xlsx(inbox / "correspondents" / "11月.xlsx", {"稿件": [ARTICLE_HEADERS, article("A1"), article("A2")]})
    write_xlsx(inbox / "correspondents" / "名册.xlsx",
               {"名册": [ROSTER_HEADERS, ["JX001", "王", "一大队", "通讯员", None, None, None, "2026-01-01"]]})
    write_xlsx(inbox / "community" / "社情.xlsx",
               {"登记": [FEEDBACK_HEADERS, ["SQ001", "2026-11-03", "社情民意", "路灯", "楼道灯坏了", None, None, None]]})
    write_xlsx(inbox / "community" / "名册.xlsx",
               {"名册": [ROSTER_HEADERS, ["SQ001", "李", "第一网格", "责任人", None, None, None, "2026-01-01"],
                        ["SQ002", "张", "第一网格", "信息员", None, None, None, "2026-01-01"]]})
    return inbox


def run(root, inbox) -> tuple[str, dict]:
    timing.taken()
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        status = main(["monthly", "--period", "2026-11", "--inbox", str(inbox), "--out", str(root / "out"),
                       "--store", str(root / "s.sqlite"), "--settings", str(root / "none.toml")])
    assert status == 0
    return said.getvalue(), timing.taken()


def stamps(root) -> dict:
    return {p.relative_to(root): p.stat().st_mtime_ns for p in (root / "out").rglob("*") if p.is_file()}


def test_a_second_run_with_nothing_changed_reads_no_inbox_file_and_renders_nothing(tmp_path):
    inbox = inbox_with_two_programmes(tmp_path)
    _, first = run(tmp_path, inbox)
    assert {"read", "validate", "compute", "write", "render"} <= set(first)
    before = stamps(tmp_path)
    said, second = run(tmp_path, inbox)
    assert not {"read", "validate", "store", "compute", "write"} & set(second)
    assert second.get("render", 0) < 0.05                               # nothing was rendered
    assert stamps(tmp_path) == before
    assert said.count("沿用上次生成的文件") == 2


def test_a_run_that_finds_nothing_changed_answers_from_the_ledger_without_pandas(tmp_path):
    inbox = inbox_with_two_programmes(tmp_path)
    run(tmp_path, inbox)
    # A process of its own, as a clerk starts it: it must not pay for importing pandas, the readers'
    # libraries or WeasyPrint only to find that the last outputs stand.
    arguments = ["monthly", "--period", "2026-11", "--inbox", str(inbox), "--out", str(tmp_path / "out"),
                 "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "none.toml")]
    before = stamps(tmp_path)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", *arguments], cwd=PROJ_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.count("沿用上次生成的文件") == 2
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pipeline.reuse" in imported
    assert not imported & {"pandas", "numpy", "pandera", "python_calamine", "weasyprint"}
    assert stamps(tmp_path) == before


def test_the_modules_named_in_the_readers_identity_are_those_of_the_reading_derivations():
    from pipeline.reuse import READING_DERIVATION_MODULES
    from pipeline.rules.programmes import READING_DERIVATIONS

    assert READING_DERIVATION_MODULES == {preset: tuple(sorted({derive.__module__ for derive in kinds.values()}))
                                          for preset, kinds in READING_DERIVATIONS.items()}


def test_changing_one_programmes_file_renders_only_that_programme(tmp_path):
    inbox = inbox_with_two_programmes(tmp_path)
    run(tmp_path, inbox)
    before = stamps(tmp_path)
    write_xlsx(inbox / "community" / "社情.xlsx",
               {"登记": [FEEDBACK_HEADERS, ["SQ002", "2026-11-05", "安全隐患", "电线", "电线老化", None, None, None]]})
    said, phases = run(tmp_path, inbox)
    after = stamps(tmp_path)
    changed = {path.parts[1] for path in after if after[path] != before.get(path)}
    assert changed == {"community"}
    assert said.count("沿用上次生成的文件") == 1 and phases["render"] > 0


def test_an_output_removed_or_edited_by_hand_is_written_again(tmp_path):
    inbox = inbox_with_two_programmes(tmp_path)
    run(tmp_path, inbox)
    bulletin = tmp_path / "out" / "correspondents" / "2026-11" / "通报.pdf"
    original = bulletin.read_bytes()
    bulletin.unlink()
    said, _ = run(tmp_path, inbox)
    assert bulletin.read_bytes() == original and said.count("沿用上次生成的文件") == 1
    (tmp_path / "out" / "community" / "2026-11" / "统计表.xlsx").write_bytes(b"edited")
    said, _ = run(tmp_path, inbox)
    assert said.count("沿用上次生成的文件") == 1
    assert (tmp_path / "out" / "community" / "2026-11" / "统计表.xlsx").read_bytes()[:2] == b"PK"


def test_new_settings_mean_new_outputs(tmp_path):
    inbox = inbox_with_two_programmes(tmp_path)
    run(tmp_path, inbox)
    (tmp_path / "none.toml").write_text("[programmes.correspondents.rules]\nmonthly_submissions = 2\n", encoding="utf-8")
    said, _ = run(tmp_path, inbox)
    assert said.count("沿用上次生成的文件") == 1                         # the community's outputs stand
    shutil.rmtree(tmp_path / "out")
    said, _ = run(tmp_path, inbox)
    assert "沿用" not in said
