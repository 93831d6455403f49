"""The store: the same file twice changes nothing, newer files win per key, a killed run leaves it whole."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
import zlib

import pandas as pd
from hypothesis import given, settings
from isal import isal_zlib
from hypothesis import strategies as st

from pipeline.ingest import ingest_programme
from pipeline.settings import programme_for
from pipeline.records import typed
from pipeline.columns import RECORD_DIGEST, _columns_of, _json_column, record_digests
from pipeline.store import SCHEMA_VERSION, Store
from schemas import all_kinds
from tests.conftest import ARTICLE_HEADERS, FEEDBACK_HEADERS, PYTHON, article, write_xlsx

NOW = dt.datetime(2026, 12, 1, 9, 0)
CORRESPONDENTS = programme_for("correspondents", {})
ARTICLES = all_kinds()["articles"]


def ingest(store_path, inbox, programme=CORRESPONDENTS):
    with Store(store_path) as store:
        return ingest_programme(store, inbox / programme.id, programme, NOW)


def current(store_path, kind="articles"):
    with Store(store_path) as store:
        return store.current_records("correspondents", kind)


def test_the_same_file_twice_changes_nothing(tmp_path, inbox):
    folder = inbox / "correspondents"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1"), article("G2")]})
    store = tmp_path / "store.sqlite"
    [first] = ingest(store, inbox)
    assert first.status == "新读入" and first.change.added == 2
    (folder / "11月(再次报送).xlsx").write_bytes((folder / "11月.xlsx").read_bytes())
    second = ingest(store, inbox)
    assert [r.status for r in second] == ["已读过", "已读过"]
    assert len(current(store)) == 2
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 2


def test_a_newer_file_supersedes_an_older_one_per_key_and_the_old_row_stays_stored(tmp_path, inbox):
    folder = inbox / "correspondents"
    store = tmp_path / "store.sqlite"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="初稿"), article("G2")]})
    ingest(store, inbox)
    write_xlsx(folder / "11月更正.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="改后的标题"),
                                                 article("G3")]})
    [_, newer] = ingest(store, inbox)
    assert (newer.change.added, newer.change.replaced) == (1, 1)
    records = current(store).set_index("稿件编号")
    assert records.loc["G1", "标题"] == "改后的标题"
    assert records.loc["G1", "_file"] == "11月更正.xlsx"
    assert sorted(records.index) == ["G1", "G2", "G3"]
    with Store(store) as opened:
        [[key]] = opened.db.execute("SELECT key FROM records WHERE superseded_by IS NOT NULL").fetchall()
        versions = opened.record_versions("correspondents", "articles", key)
    assert list(versions["标题"]) == ["初稿", "改后的标题"]
    assert list(versions["_file"]) == ["11月.xlsx", "11月更正.xlsx"]
    assert versions["_superseded_by"].notna().tolist() == [True, False]


def test_a_corrected_file_under_the_same_name_replaces_its_earlier_version_whole(tmp_path, inbox):
    folder = inbox / "correspondents"
    store = tmp_path / "store.sqlite"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1"), article("G2", title="错报")]})
    ingest(store, inbox)
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1")]})
    [result] = ingest(store, inbox)
    assert result.change.withdrawn == 1 and result.change.unchanged == 1
    assert list(current(store)["稿件编号"]) == ["G1"]


def test_bad_rows_are_reported_and_the_good_rows_of_the_file_still_count(tmp_path, inbox):
    folder = inbox / "correspondents"
    write_xlsx(folder / "11月.xlsx", {"一大队": [
        ["标题行"], ARTICLE_HEADERS, article("G1"), article("G2", submitted="2026/13/01"), article("G3", reviewer="")]})
    [result] = ingest(tmp_path / "store.sqlite", inbox)
    assert result.accepted == 1 and result.rejected == 2
    assert [(p.row, p.column, p.code) for p in result.problems] == [(4, "E", "E_DATE"), (5, "F", "E_REQUIRED")]
    assert list(current(tmp_path / "store.sqlite")["稿件编号"]) == ["G1"]


def test_two_different_rows_with_one_key_in_a_file_are_both_rejected(tmp_path, inbox):
    folder = inbox / "correspondents"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="甲"), article("G1", title="乙"),
                                               article("G2"), article("G2")]})
    [result] = ingest(tmp_path / "store.sqlite", inbox)
    assert sorted((p.row, p.code) for p in result.problems) == [(2, "E_DUPLICATE_KEY"), (3, "E_DUPLICATE_KEY")]
    assert list(current(tmp_path / "store.sqlite")["稿件编号"]) == ["G2"]


def test_a_settings_change_that_validation_depends_on_reads_the_file_again(tmp_path, inbox):
    teaching = programme_for("teaching", {})
    write_xlsx(inbox / "teaching" / "11月.xlsx", {"反馈": [
        FEEDBACK_HEADERS, ["2024001", "2026-11-03", "伙食", "食堂", "饭菜偏咸", "", "", None]]})
    store = tmp_path / "store.sqlite"
    [first] = ingest(store, inbox, teaching)
    assert first.accepted == 0 and first.problems[0].code == "E_ENUM"
    widened = programme_for("teaching", {"programmes": {"teaching": {
        "feedback_categories": teaching["feedback_categories"] + ["伙食"]}}})
    [again] = ingest(store, inbox, widened)
    assert again.status == "新读入" and again.accepted == 1 and not again.problems
    [unchanged] = ingest(store, inbox, widened)
    assert unchanged.status == "已读过"


def _big_feedback_inbox(inbox, files: int, rows: int) -> None:
    folder = inbox / "teaching"
    for number in range(files):
        data = [[f"2024{number:02d}{i:04d}", dt.date(2026, 11, 1 + i % 28), "教学态度", "高数", f"意见{number}-{i}",
                 "", "", None] for i in range(rows)]
        write_xlsx(folder / f"反馈{number:02d}.xlsx", {"反馈": [FEEDBACK_HEADERS] + data})


def _store_snapshot(path):
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT programme, kind, key, digest FROM records WHERE superseded_by IS NULL"))


def test_a_run_killed_after_the_first_file_leaves_a_consistent_store(tmp_path, inbox):
    _big_feedback_inbox(inbox, files=12, rows=1500)
    store = tmp_path / "store.sqlite"
    command = [PYTHON, "-m", "pipeline", "monthly", "--period", "2026-11", "--inbox", str(inbox),
               "--out", str(tmp_path / "out"), "--store", str(store), "--settings", str(tmp_path / "none.toml")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
                    stored = db.execute("SELECT count(*) FROM files").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 1:
                break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 1 <= stored < 12, "the run was to be killed part-way through the inbox"

    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for file_id, accepted in db.execute("SELECT id, rows_accepted FROM files"):
            assert db.execute("SELECT count(*) FROM records WHERE file_id = ?", (file_id,)).fetchone()[0] == accepted

    assert subprocess.run(command, capture_output=True).returncode == 0
    clean = tmp_path / "clean.sqlite"
    assert subprocess.run(command[:-4] + ["--store", str(clean)] + command[-2:], capture_output=True).returncode == 0
    assert _store_snapshot(store) == _store_snapshot(clean)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 12


def test_the_store_keeps_only_the_sheet_stretches_some_workbook_uses_now(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        monthly, daily = store.stretch_cache("统计表.xlsx"), store.stretch_cache("对账单.xlsx")
        monthly.keep({"a": (1, 10, b"A"), "b": (2, 20, b"B")})
        daily.keep({"b": (2, 20, b"B"), "c": (3, 30, b"C")})
        assert monthly.found(["a", "b", "c", "x"]) == {"a": (1, 10, b"A"), "b": (2, 20, b"B"), "c": (3, 30, b"C")}
        monthly.keep({"b": (2, 20, b"B"), "d": (4, 40, b"D")})      # the rerun: "a" no longer used
        assert set(monthly.found(["a", "b", "c", "d"])) == {"b", "c", "d"}
        daily.keep({})
        assert set(daily.found(["a", "b", "c", "d"])) == {"b", "d"}


def test_times_read_back_whole_when_the_first_of_a_column_is_at_midnight(tmp_path):
    """A date-time of exactly 00:00 is stored as its date alone; the times after it must not be lost."""
    import pandas as pd

    from pipeline.records import typed
    from schemas import all_kinds

    kind = all_kinds()["service_cards"]
    stored = pd.DataFrame({"工单号": ["GD1", "GD2"], "完工时间": ["2026-11-03", "2026-11-03 10:30:00"]})
    moments = typed(stored, kind)["完工时间"].tolist()
    assert moments == [pd.Timestamp("2026-11-03 00:00"), pd.Timestamp("2026-11-03 10:30")]


def record_digest(data: dict) -> int:
    """The digest of one record given as a dict of JSON values."""
    return int(record_digests({name: [value] for name, value in data.items()})[0])


def _json_columns(frame: pd.DataFrame) -> dict[str, list[object]]:
    """A frame's record columns (not the _origin ones) as JSON takes them."""
    return {c: _json_column(frame[c]) for c in frame.columns if not str(c).startswith("_")}


def test_a_record_digest_worked_out_column_wise_is_the_digest_of_each_record_alone():
    columns = {"数": [1, 1.0, True, None, 2, 0.5], "文": ["1", "甲\"乙", None, "", "1", "é"],
               "日": ["2026-11-01", "2026-11-01 08:00:00", None, None, "2026-11-01", "x"],
               "真": [True, False, None, True, True, False],
               "长": ["甲" * 200, "b" * 8, "", "c" * 16, "b" * 9, "b" * 7]}     # over 256 bytes, and around 8
    digests = record_digests(columns)
    alone = [record_digest({name: values[n] for name, values in columns.items()}) for n in range(6)]
    assert digests.tolist() == alone
    assert len(set(alone)) == 6           # 1, 1.0 and true are different content
    assert record_digests({}).tolist() == []


def _as_made_before_version_6(path) -> None:
    """Turn a store into what version 5 made: each record's content as JSON text in records.data,
    and (as before version 3) no column-wise copy of the first file's records."""
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE records ADD COLUMN data TEXT NOT NULL DEFAULT '{}'")
        for file_id, kind, first, columns in db.execute("SELECT * FROM file_columns").fetchall():
            kept = {name: _json_column(pd.Series(values)) if getattr(values, "dtype", None) is not None
                    and values.dtype.kind == "M" else list(values)
                    for name, values in _columns_of(columns).items() if not name.startswith("_")}
            for n in range(len(next(iter(kept.values())))):
                data = json.dumps({name: kept[name][n] for name in kept}, sort_keys=True, ensure_ascii=False)
                db.execute("UPDATE records SET data = ? WHERE id = ?", (data, first + n))
        db.execute("ALTER TABLE records DROP COLUMN digest")
        db.execute("DELETE FROM file_columns WHERE file_id = (SELECT MIN(id) FROM files)")
        db.execute("PRAGMA user_version = 5")


def test_a_store_made_before_record_digests_is_brought_up_to_date_with_nothing_lost(tmp_path, inbox):
    folder = inbox / "correspondents"
    store = tmp_path / "store.sqlite"
    write_xlsx(folder / "11月.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="初稿"), article("G2")]})
    ingest(store, inbox)
    write_xlsx(folder / "11月更正.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="改后的标题")]})
    ingest(store, inbox)
    before, digests = current(store), _store_snapshot(store)
    _as_made_before_version_6(store)

    after = current(store)
    # A copy made before keeps no record digests: the first file's record (G2) has none (long lists of
    # such records are hashed cell by cell: xlsx.KnownRows); the second file's keeps its own.
    assert after[RECORD_DIGEST].isna().tolist() == [True, False]
    assert after[RECORD_DIGEST][1] == before[RECORD_DIGEST][1]
    before, after = before.drop(columns=[RECORD_DIGEST]), after.drop(columns=[RECORD_DIGEST])
    # The first file's dates now come from its records' JSON, as text: typed, the records are the same.
    assert typed(after, ARTICLES).equals(typed(before, ARTICLES))
    assert typed(after, ARTICLES, stored=True).equals(typed(before, ARTICLES))
    assert _store_snapshot(store) == digests
    with Store(store) as opened:
        [[key]] = opened.db.execute("SELECT key FROM records WHERE superseded_by IS NOT NULL").fetchall()
        assert list(opened.record_versions("correspondents", "articles", key)["标题"]) == ["初稿", "改后的标题"]
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "data" not in {row[1] for row in db.execute("PRAGMA table_info(records)")}
    # The same file again is recognised as unchanged.
    write_xlsx(folder / "11月更正.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", title="改后的标题"),
                                                 article("G3")]})
    [_, again] = ingest(store, inbox)
    assert (again.change.unchanged, again.change.added, again.change.replaced) == (1, 1, 0)


def test_a_file_is_encoded_once_per_distinct_value_with_the_digests_of_its_json_values():
    from pipeline.columns import encode_records

    rows = 40
    frame = pd.DataFrame({
        "时间": pd.Series([pd.Timestamp("2026-11-03"), pd.Timestamp("2026-11-03 09:30"), pd.NaT,
                         pd.Timestamp("2026-11-03 09:30:20")] * 10),
        "次数": pd.array([1, None, 3, 1] * 10, dtype="Int64"),
        "金额": [0.0, -0.0, float("nan"), 12.5] * 10,
        "是否": [True, False, True, True] * 10,
        "混合": [1, 1.0, True, "1"] * 10,
        "文字": ["甲", None, "乙", "甲"] * 10,
        "编号": [f"G{n}" for n in range(rows)],
        "_sheet": "表", "_row": range(2, rows + 2)})
    encoded = encode_records(frame)
    columns = _json_columns(frame)
    assert encoded.digests.tolist() == record_digests(columns).tolist()
    kept = _columns_of(encoded.columns)
    assert kept["时间"].dtype.kind == "M"                    # dates are kept as dates, not as text
    for name, values in columns.items():
        back = _json_column(pd.Series(kept[name])) if name == "时间" else list(kept[name])
        assert back == values, name
        assert [type(v) for v in back] == [type(v) for v in values], name


def test_a_packed_column_copy_gives_back_every_text_blank_and_number_as_it_was():
    from pipeline.columns import BLANK, TEXT_SEPARATOR, deflated_columns

    kept = {"文字": ["甲", None, "", "乙\n丙", "甲"] * 3,
            "含标记": ["a" + TEXT_SEPARATOR + "b", None, "c" + BLANK],       # cannot be joined: kept as JSON
            "只有空": [None, None],
            "重复": {"values": ["网点01", None], "codes": [0, 1, 0, 0]},
            "数": [1, 2.5, None, True], "行": [2, 3, 4], "空列": [],
            "金额": [0.0, -0.0, None, 12.5, float("inf"), None], "实收": [80.0, -1e300, 5e-324],
            "大数": [2 ** 70, 1], "负数": [-(2 ** 63), 2 ** 63 - 1], "真假": [True, False, 1]}
    packed = deflated_columns(kept)
    back = _columns_of(packed)
    for name, column in kept.items():
        expected = column if isinstance(column, list) else [column["values"][c] for c in column["codes"]]
        assert list(back[name]) == expected, name
        assert [type(v) for v in back[name]] == [type(v) for v in expected], name
    assert str(back["金额"][1]) == "-0.0"
    # Loaded for the rules (as arrays), each column is the one pandas makes of the values as a list.
    arrays = _columns_of(packed, as_arrays=True)
    for name in kept:
        pd.testing.assert_series_equal(pd.Series(arrays[name]), pd.Series(back[name]))
    assert str(arrays["金额"][1]) == "-0.0" and arrays["行"].dtype == "int64"
    # Numbers are kept as numbers, not in the JSON header; NaN among them comes back as NaN.
    header = isal_zlib.decompress(packed).split(b"\n")[1]
    assert b"12.5" not in header and b"-1e+300" not in header and b"9223372036854775807" not in header
    assert b"1180591620717411303424" in header                           # 2 ** 70 stays JSON
    [nan] = _columns_of(deflated_columns({"x": [float("nan")]}))["x"]
    assert nan != nan
    # A copy kept before packing (deflated JSON) still loads.
    old = zlib.compress(json.dumps({"文字": ["甲", None], "重复": {"values": ["x"], "codes": [0, 0]}}).encode())
    assert {name: list(values) for name, values in _columns_of(old).items()} == {"文字": ["甲", None], "重复": ["x", "x"]}


@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
                          st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)).map(lambda d: dt.datetime(d.year, d.month, d.day))),
                min_size=1, max_size=30),
       st.sampled_from(["ns", "us"]))
@settings(max_examples=300, deadline=None)
def test_moments_are_digested_from_their_numbers_as_from_their_json_texts(moments, unit):
    from pipeline.columns import _column_parts, _distinct_digests, _moment_digests

    column = pd.Series(pd.to_datetime(moments)).astype(f"datetime64[{unit}]")
    codes, distinct = _column_parts(column)
    assert _moment_digests("完工时间", column.to_numpy()).tolist() == _distinct_digests("完工时间", distinct)[codes].tolist()


def test_moments_out_of_the_years_written_plainly_are_digested_from_their_texts():
    from pipeline.columns import _moment_digests

    column = pd.Series(pd.to_datetime(["1850-01-01 09:30", "2026-11-03 00:00"])).to_numpy()
    assert _moment_digests("完工时间", column) is None


def test_the_store_gives_texts_as_objects_with_none_for_blanks_as_typed_would_make_them(tmp_path, inbox):
    folder = inbox / "correspondents"
    store = tmp_path / "store.sqlite"
    write_xlsx(folder / "一.xlsx", {"一大队": [ARTICLE_HEADERS, article("G1", outlet=None), article("G2", level="省级")]})
    write_xlsx(folder / "二.xlsx", {"二大队": [ARTICLE_HEADERS, article("G3"), article("G4", reviewer=None)]})
    ingest(store, inbox)
    found = current(store)
    texts = [f.header for f in ARTICLES.fields if f.type not in ("date", "datetime", "money", "int")]
    for column in texts:
        assert found[column].dtype == object, column
        assert all(value is None or isinstance(value, str) for value in found[column]), column
    assert found[texts].isna().to_numpy().any()                # there are blanks, and they are None
    assert typed(found, ARTICLES, stored=True).equals(typed(found, ARTICLES))


def test_a_text_column_some_files_lack_or_hold_as_another_type_has_none_for_its_blanks_after_all():
    from pipeline.store import _blanks_as_none

    parts = [pd.DataFrame({"标题": pd.Series(["甲", None], dtype=object), "单位": pd.Series(["一", "二"], dtype=object)}),
             pd.DataFrame({"标题": pd.Series(["乙", None], dtype="str")}),          # a copy of an older version
             pd.DataFrame({"标题": pd.Series(["丙"], dtype=object)})]                # no 单位 at all
    frame = pd.concat(parts, ignore_index=True)
    _blanks_as_none(frame, parts)
    assert frame["标题"].tolist() == ["甲", None, "乙", None, "丙"]
    assert frame["单位"].tolist() == ["一", "二", None, None, None]


def test_opening_a_store_that_is_up_to_date_writes_nothing_to_it(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path):
        pass
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    with Store(path) as store:
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_money_column_no_record_filled_types_as_missing_numbers_like_any_other():
    cards = all_kinds()["service_cards"]
    frame = pd.DataFrame({"保修证收费": pd.Series([None] * 3, dtype=object),
                          "标准收费": pd.Series([None, 12.5, None], dtype=object),
                          "实收金额": pd.Series([30.0, None, 0.0], dtype=object)})
    found = typed(frame, cards, stored=True)
    for column in frame:
        assert found[column].equals(pd.to_numeric(frame[column], errors="coerce").astype("Float64")), column
    assert found["保修证收费"].isna().all() and str(found["保修证收费"].dtype) == "Float64"
