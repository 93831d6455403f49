"""Reading ahead: the run's first new file is read while the run imports pandas, and its reader takes
those sheets instead of reading it again; whatever goes wrong there, the reader reads it itself."""
from __future__ import annotations

import hashlib
import multiprocessing

import pandas as pd

from pipeline import ahead
from pipeline.ingest import read_files
from pipeline.settings import load_settings, programme_for
from tests import hostile
from tests.conftest import ARTICLE_HEADERS, article, write_xlsx

CORRESPONDENTS = programme_for("correspondents", load_settings(None))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inbox(tmp_path, count: int = 3):
    folder = tmp_path / "correspondents"
    for number in range(count):
        write_xlsx(folder / f"b{number}.xlsx", {"一大队": [ARTICLE_HEADERS, article(f"G{number}"), article(f"H{number}")]})
    return folder


def readings(folder, first_sha256=None) -> list:
    jobs = [(path, path.name) for path in sorted(folder.glob("*.xlsx"))]
    return list(read_files(jobs, CORRESPONDENTS, first_sha256=first_sha256))


def same(found, expected) -> None:
    assert len(found) == len(expected)
    for one, other in zip(found, expected):
        assert one.problems == other.problems and one.layout == other.layout
        assert one.records.keys() == other.records.keys()
        for kind in one.records:
            pd.testing.assert_frame_equal(one.records[kind], other.records[kind])
            assert one.encoded[kind].columns == other.encoded[kind].columns
            assert list(one.encoded[kind].digests) == list(other.encoded[kind].digests)


def read_ahead_done() -> None:
    assert ahead._RECEIVING[0].poll(60), "the process reading ahead sent nothing"


def test_the_first_new_file_is_read_ahead_and_its_reader_takes_those_sheets(tmp_path):
    folder = inbox(tmp_path)
    first = folder / "b0.xlsx"
    expected = readings(folder)
    original = sha256(first)
    with ahead.reading_ahead([(folder, frozenset())]):
        read_ahead_done()
        # The file is gone from the disk: its reader can only have the sheets read ahead.
        first.rename(tmp_path / "elsewhere.xlsx")
        found = readings_with_first_gone(folder, first, original)
    same(found, expected)
    assert multiprocessing.active_children() == []


def readings_with_first_gone(folder, first, original) -> list:
    jobs = [(first, first.name)] + [(path, path.name) for path in sorted(folder.glob("*.xlsx"))]
    return list(read_files(jobs, CORRESPONDENTS, first_sha256=original))


def test_a_file_changed_after_it_was_read_ahead_is_read_again_by_its_reader(tmp_path):
    folder = inbox(tmp_path)
    first = folder / "b0.xlsx"
    with ahead.reading_ahead([(folder, frozenset())]):
        read_ahead_done()
        write_xlsx(first, {"一大队": [ARTICLE_HEADERS, article("NEW1"), article("NEW2"), article("NEW3")]})
        found = readings(folder, sha256(first))
    assert len(found[0].records["articles"]) == 3
    same(found, readings(folder))


def test_reading_ahead_passes_over_the_files_the_store_has_read_and_folders_with_none_new(tmp_path):
    folder = inbox(tmp_path)
    other = tmp_path / "empty"
    other.mkdir()
    read = frozenset({sha256(folder / "b0.xlsx")})
    assert ahead.first_new_file([(other, frozenset()), (folder, read)]).name == "b1.xlsx"
    everything = frozenset(sha256(path) for path in folder.glob("*.xlsx"))
    assert ahead.first_new_file([(folder, everything), (tmp_path / "missing", frozenset())]) is None


def test_a_link_that_comes_first_is_not_read_ahead(tmp_path):
    folder = inbox(tmp_path)
    (folder / "a-link.xlsx").symlink_to(folder / "b1.xlsx")
    assert ahead.first_new_file([(folder, frozenset())]) is None


def test_only_the_first_file_given_to_a_reader_is_offered_what_was_read_ahead(tmp_path):
    assert not ahead.offered()                     # no process reading ahead
    with ahead.reading_ahead([(inbox(tmp_path), frozenset())]):
        assert ahead.offered()
        assert not ahead.offered()
    assert not ahead.offered()


def test_a_file_that_kills_the_process_reading_ahead_is_reported_by_its_reader_as_before(tmp_path):
    folder = inbox(tmp_path)
    killer = folder / "a.xlsx"
    killer.write_bytes(hostile.far_apart_cells())
    with ahead.reading_ahead([(folder, frozenset())]):
        found = readings(folder, sha256(killer))
    assert [p.code for p in found[0].problems] == ["E_FILE_TOO_LARGE"]
    assert all(len(r.records["articles"]) == 2 and not r.problems for r in found[1:])
    assert multiprocessing.active_children() == []


def test_an_unreadable_file_read_ahead_is_the_same_problem(tmp_path):
    folder = inbox(tmp_path)
    broken = folder / "a.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    expected = readings(folder)
    with ahead.reading_ahead([(folder, frozenset())]):
        read_ahead_done()
        found = readings(folder, sha256(broken))
    assert [p.code for p in found[0].problems] == ["E_FILE_UNREADABLE"]
    same(found, expected)
