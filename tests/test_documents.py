"""The documents leaders read (GB/T 9704): page, margins, red header and rule, document number, page
numbers, closing block, charts, embedded font subsets, no personal data, safe and reproducible rendering."""
from __future__ import annotations

import http.server
import io
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
import pandas as pd
import weasyprint
from python_calamine import CalamineWorkbook

from pipeline.__main__ import main
from pipeline.rules.after_sales import district
from pipeline.fonts import config_file
from pipeline.settings import PROJ_ROOT
from pipeline.documents.render import (ArraysByLength, FontFiles, ProjectOnlyFetcher, harfbuzz_subsetting, pdf_bytes,
                                       render_all, PdfJob, subsetting_notice)
from tests.conftest import ROSTER_HEADERS, SAMPLE_INBOX, run_cli, sheets_with_formulas, write_xlsx
from tests.test_figures_e2e import raw_rows

MM = 72 / 25.4
RED = (0.866667, 0.0, 0.0)
PROGRAMMES = ("after-sales", "class-officers", "community", "correspondents", "teaching")


@pytest.fixture(scope="module")
def documents(sample_run, tmp_path_factory) -> dict[str, Path]:
    """Every kind of PDF the sample gives: the monthly bulletins (from the session's run), the year's and
    the term's assessments, a day's reconciliation and the September certificates."""
    root = tmp_path_factory.mktemp("documents")
    store = root / "store.sqlite"
    shutil.copy(sample_run["store"], store)
    common = ["--inbox", str(sample_run["inbox"]), "--out", str(root / "out"), "--store", str(store),
              "--settings", str(root / "none.toml")]
    assert main(["evaluation", "--year", "2026", *common]) == 1
    assert main(["evaluation", "--term", "2026秋", *common]) == 1
    assert main(["daily", "--date", "2026-11-04", *common]) == 1
    assert main(["certificates", "--period", "2026-09", *common]) == 1
    found = {f"{p}/通报": sample_run["out"] / p / "2026-11" / "通报.pdf" for p in PROGRAMMES}
    for programme in ("class-officers", "community", "correspondents", "teaching"):
        found[f"{programme}/考核评优"] = root / "out" / programme / "2026" / "考核评优.pdf"
    found["teaching/学期考核评优"] = root / "out" / "teaching" / "2026秋" / "考核评优.pdf"
    found["after-sales/对账单"] = root / "out" / "after-sales" / "daily" / "2026-11-04" / "对账单.pdf"
    found["teaching/聘任证书"] = root / "out" / "teaching" / "2026-09" / "聘任证书.pdf"
    return found


OFFICIAL = [f"{p}/通报" for p in PROGRAMMES] + [f"{p}/考核评优" for p in ("class-officers", "community",
                                                                      "correspondents", "teaching")] + \
    ["teaching/学期考核评优", "after-sales/对账单"]


def pages_of(path: Path):
    with pdfplumber.open(path) as pdf:
        return [(page.width, page.height, page.chars, page.rects + page.lines,
                 "".join((page.extract_text() or "").split())) for page in pdf.pages]


def body_chars(chars, height):
    """The characters of the text block (not the page number in the bottom margin)."""
    return [c for c in chars if c["top"] < height - 32 * MM]


@pytest.mark.parametrize("name", OFFICIAL)
def test_an_official_document_has_the_gbt_9704_page(documents, name):
    pages = pages_of(documents[name])
    width, height, chars, shapes, text = pages[0]
    assert (round(width / MM), round(height / MM)) == (210, 297)
    body = body_chars(chars, height)
    assert abs(min(c["x0"] for c in body) / MM - 28) <= 1          # left text edge
    assert abs(min(c["top"] for c in body) / MM - 37) <= 1         # top text edge
    for _, page_height, page_chars, _, _ in pages:                  # nothing leaves the text block
        page_body = body_chars(page_chars, page_height)
        if page_body:
            assert min(c["x0"] for c in page_body) / MM >= 27 and min(c["top"] for c in page_body) / MM >= 36
            assert max(c["x1"] for c in page_body) / MM <= 210 - 26 + 1


@pytest.mark.parametrize("name", OFFICIAL)
def test_an_official_document_has_its_red_header_rule_and_number(documents, name):
    _, height, chars, shapes, text = pages_of(documents[name])[0]
    office = [c for c in chars if c["size"] >= 20 and tuple(c["non_stroking_color"]) == RED]
    assert office and len({round(c["top"]) for c in office}) == 1            # red, on one line
    rules = [s for s in shapes if tuple(s.get("non_stroking_color") or ()) == RED and abs(s["width"] / MM - 156) < 1]
    assert len(rules) == 1, "the red rule the width of the text block"
    number = [c for c in chars if c["text"] == "〔"]
    assert max(c["top"] for c in office) < number[0]["top"] < rules[0]["top"]   # office, number, then the rule
    assert re.search(r"〔20[0-9]{2}〕[0-9]+号", text)


@pytest.mark.parametrize("name", OFFICIAL)
def test_every_page_has_its_number_and_the_last_the_closing_block(documents, name):
    pages = pages_of(documents[name])
    for number, (_, height, chars, _, _) in enumerate(pages, start=1):
        footer = "".join(c["text"] for c in chars if c["top"] > height - 32 * MM).replace(" ", "")
        assert footer == f"—{number}—", (name, number, footer)
    assert "抄送" in pages[-1][4] and "印发" in pages[-1][4]
    assert all("印发" not in text for *_, text in pages[:-1])


@pytest.mark.parametrize("name", OFFICIAL)
def test_the_fonts_are_cjk_subsets_embedded_in_the_pdf(documents, name):
    fonts = {c["fontname"] for _, _, chars, _, _ in pages_of(documents[name]) for c in chars}
    assert fonts and all(re.fullmatch(r"[A-Z]{6}\+(Noto-(Serif|Sans)-CJK-SC(-Core)?(-Bold)?|AR-PL-UKai-CN)", f)
                         for f in fonts), fonts


@pytest.mark.parametrize("name", [*OFFICIAL, "teaching/聘任证书"])
def test_every_common_character_is_set_in_a_core_face(documents, name):
    """The documents' common characters come from the core fonts (pipeline.fonts, built by make), not
    from the whole faces WeasyPrint would subset at length; h3 keeps its 楷体."""
    from pipeline.fonts import core_characters

    assert config_file() is not None, "data/fonts/ is built by make (make fonts)"
    core = {chr(point) for point in core_characters()}
    chars = [c for _, _, page, _, _ in pages_of(documents[name]) for c in page if c["text"].strip()]
    assert chars and all("-Core" in c["fontname"] or "UKai" in c["fontname"] for c in chars if c["text"] in core), \
        {(c["text"], c["fontname"]) for c in chars if c["text"] in core and "-Core" not in c["fontname"]}


@pytest.mark.parametrize("name, captions", [
    ("correspondents/通报", ["各单位报送与采用情况", "近六个月报送与采用趋势"]),
    ("after-sales/通报", ["各网点准时率与满意率", "近六个月准时率与满意率"]),
    ("teaching/通报", ["本月各系部教学信息员反馈条数"]),
    ("class-officers/通报", ["本月各班级教学信息员反馈条数"]),
    ("community/通报", ["本月各网格信息员反馈条数"]),
    ("correspondents/考核评优", ["考核得分分布"]),
    ("teaching/考核评优", ["考核得分分布"]),
])
def test_each_document_has_its_chart_with_labels_in_the_text(documents, name, captions):
    text = "".join(p[4] for p in pages_of(documents[name]))
    for caption in captions:
        assert text.count(caption) >= 2, caption          # the chart's own title and its caption 图N
    if name == "correspondents/通报":
        assert "报送任务4篇" in text and "采用任务1篇" in text     # the quota lines' legend
    if name == "after-sales/通报":
        assert "80%" in text                                   # a tick of the percentage axis


def test_the_certificates_are_a4_landscape_one_page_per_new_officer(documents):
    pages = pages_of(documents["teaching/聘任证书"])
    assert len(pages) == 14                                     # appointed 2026-09-12, one of 15 still 待审
    assert all((round(w / MM), round(h / MM)) == (297, 210) for w, h, *_ in pages)
    assert all("聘书" in text and "特发此证" in text for *_, text in pages)


def personal_data(programme: str | None = None) -> set[str]:
    """Names, phones and ids of the community's informants and the after-sales customers in the sample
    (of one of the two programmes, when named)."""
    found = set()
    if programme in (None, "community"):
        for _, row in raw_rows(SAMPLE_INBOX / "community" / "信息员名册.xlsx", 2):
            found |= {str(row["编号"]), str(row["姓名"]), str(row["联系电话"])}
    if programme in (None, "after-sales"):
        for path in (SAMPLE_INBOX / "after-sales").rglob("*服务任务监督卡.xlsx"):
            for _, row in raw_rows(path, 2):
                found |= {str(row[c]) for c in ("用户姓名", "联系电话") if row[c]}
                address = str(row["用户地址"] or "").strip()
                if address and address != district(pd.Series([address]))[0]:    # more than the district shown
                    found.add(address)
    return {value for value in found if len(value) >= 2 and value != "None"}


def test_no_informant_or_customer_personal_data_in_any_pdf(documents):
    secrets = personal_data()
    assert len(secrets) > 100
    for name, path in documents.items():
        text = "".join(p[4] for p in pages_of(path))
        leaked = {s for s in secrets if (re.search(rf"(?<![0-9]){re.escape(s)}(?![0-9])", text) if s.isdigit()
                                          else s in text)}
        assert not leaked, (name, sorted(leaked)[:5])


RESTRICTED = {"名册对照.xlsx", "校验报告.xlsx"}     # the office's key to pseudonyms; clerks' own cells quoted back


def workbook_text(path: Path) -> str:
    book = CalamineWorkbook.from_path(str(path))
    return "\n".join("\n".join("" if cell is None else str(cell) for cell in row)
                     for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python())


def test_no_informant_or_customer_personal_data_in_any_leader_facing_workbook(documents, sample_run):
    secrets = {programme: personal_data(programme) for programme in ("community", "after-sales")}
    folders = [sample_run["out"], documents["teaching/聘任证书"].parents[2]]
    workbooks = [(folder, p) for folder in folders for p in sorted(folder.rglob("*.xlsx"))
                 if p.name not in RESTRICTED and "退回" not in p.parts]
    assert {p.name for _, p in workbooks} >= {"统计表.xlsx", "评优.xlsx", "对账单.xlsx"}
    checked = 0
    for folder, path in workbooks:
        programme = path.relative_to(folder).parts[0]
        if programme not in secrets:
            continue
        checked += 1
        text = workbook_text(path)
        leaked = {s for s in secrets[programme] if (re.search(rf"(?<![0-9]){re.escape(s)}(?![0-9])", text)
                                                      if s.isdigit() else s in text)}
        assert not leaked, (str(path), sorted(leaked)[:5])
    assert checked >= 4
    assert "信息员07" in workbook_text(sample_run["out"] / "community" / "2026-11" / "统计表.xlsx")


HOSTILE = ['<img src="file:///etc/passwd">', "<script>alert(1)</script>", '<link rel="stylesheet" href="http://example.com/x.css">',
           '<a rel="attachment" href="file:///etc/passwd">附件</a>']


def test_a_hostile_cell_prints_as_text_and_fetches_nothing(tmp_path):
    roster = [["S1", "张三", HOSTILE[0], "组员", None, None, None, "2026-09-12"] + [None] * 4,
              ["S2", "李四", HOSTILE[1], "组员", None, None, None, "2026-09-12"] + [None] * 4,
              ["S3", "王五", HOSTILE[3], "组员", None, None, None, "2026-09-12"] + [None] * 4]
    write_xlsx(tmp_path / "inbox" / "teaching" / "名册.xlsx", {"名册": [ROSTER_HEADERS, *roster]})
    result = run_cli("monthly", "--period", "2026-11", "--inbox", str(tmp_path / "inbox"), "--out",
                     str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--settings", str(tmp_path / "x"))
    assert result.returncode == 0, result.stderr
    text = "".join(p[4] for p in pages_of(tmp_path / "out" / "teaching" / "2026-11" / "通报.pdf"))
    assert "<script>alert(1)</script>" in text and 'file:///etc/passwd' in text
    assert "root:" not in text
    assert b"/EmbeddedFile" not in (tmp_path / "out" / "teaching" / "2026-11" / "通报.pdf").read_bytes()


def test_the_url_fetcher_serves_only_the_projects_own_files():
    fetcher = ProjectOnlyFetcher()
    for url in ("file:///etc/passwd", "http://example.com/x.css", "https://example.com/"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    html = weasyprint.HTML(string='<p>正文</p><img src="file:///etc/passwd"><link rel="stylesheet" href="file:///etc/passwd">',
                           url_fetcher=fetcher)
    with pdfplumber.open(io.BytesIO(html.write_pdf())) as pdf:
        assert not pdf.pages[0].images and "root" not in pdf.pages[0].extract_text()


class CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):
        CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"secret-from-the-network")

    def log_message(self, *args):
        pass


def test_rendering_touches_no_local_file_and_no_network_not_even_for_attachments():
    server = http.server.HTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    local = f"http://127.0.0.1:{server.server_port}"
    try:
        html = weasyprint.HTML(string=f"""<p>正文</p>
            <img src="{local}/x.png"><img src="file:///etc/passwd">
            <link rel="stylesheet" href="{local}/x.css"><link rel="stylesheet" href="file:///etc/passwd">
            <a rel="attachment" href="{local}/secret.txt">附件一</a>
            <a rel="attachment" href="file:///etc/passwd">附件二</a>
            <div style="background: url({local}/bg.png)">背景</div>""", url_fetcher=ProjectOnlyFetcher())
        data = html.write_pdf()
    finally:
        server.shutdown()
    assert CountingHandler.requests == []
    assert b"/EmbeddedFile" not in data and b"secret-from-the-network" not in data
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = pdf.pages[0].extract_text()
        assert not pdf.pages[0].images and "root:" not in text and "附件一" in text


def context_for(path: Path) -> dict:
    from pipeline.documents.context import document_header
    from pipeline.rules.periods import month
    from pipeline.settings import programme_for

    programme = programme_for("correspondents", {})
    doc = document_header(programme, "测试", "交宣〔2026〕1号", "测试", month("2026-11").end)
    return {"doc": doc, "facts": ["正文" * 30], "sections": [], "problem_summary": "全部数据通过校验。",
            "period": {"label": "2026年11月"}, "workbook": "评优.xlsx"}


def test_two_renders_are_byte_identical_also_in_parallel(tmp_path):
    context = context_for(tmp_path)
    first = pdf_bytes("evaluation.html", context)
    assert pdf_bytes("evaluation.html", context) == first
    paths = render_all([PdfJob(tmp_path / f"{i}.pdf", "evaluation.html", context) for i in range(3)])
    assert all(path.read_bytes() == first for path in paths)


def test_arrays_asked_for_by_length_are_the_same_arrays():
    from weasyprint.text.ffi import ffi

    wrapped = ArraysByLength(ffi)
    for cdecl, items in [("hb_codepoint_t[3]", [7, 8, 9]), ("unsigned int[1]", (5,)), ("char[4]", b"abcd"),
                         ("hb_codepoint_t[0]", [])]:
        assert list(wrapped.new(cdecl, items)) == list(ffi.new(cdecl, items)), cdecl
    assert wrapped.new("unsigned int *", 100)[0] == 100
    assert len(wrapped.new("hb_tag_t[100]")) == 100
    assert wrapped.NULL == ffi.NULL


def test_the_font_writers_cffi_handle_changes_no_byte_of_the_pdf(tmp_path):
    from weasyprint.pdf import fonts

    context = context_for(tmp_path)
    context["facts"].append("堃犇鑫 ABC abc 0123 ，。；：（）【】")
    wrapped = pdf_bytes("evaluation.html", context)
    assert isinstance(fonts.ffi, ArraysByLength)
    try:
        fonts.ffi = fonts.ffi.ffi
        assert pdf_bytes("evaluation.html", context) == wrapped
    finally:
        fonts.ffi = ArraysByLength(fonts.ffi)


def test_font_files_kept_in_the_warm_up_are_handed_out_instead_of_copied_and_change_no_byte(tmp_path):
    from weasyprint.pdf import fonts

    from pipeline.documents.render import _warm_up

    context = context_for(tmp_path)
    context["facts"].append("堃犇鑫 ABC abc 0123 ，。；：（）【】")
    files = fonts.get_hb_object_data
    assert isinstance(files, FontFiles)
    kept, faces = dict(files.kept), set(files.faces)
    try:
        files.kept.clear()
        files.faces.clear()
        copied = pdf_bytes("evaluation.html", context)
        _warm_up()
        assert files.kept and not files.keeping
        assert all(len(data) > 1_000_000 for data in files.kept.values())      # whole font files, no subset
        copies = []
        original = files.original
        files.original = lambda *args: copies.append(args) or original(*args)
        try:
            assert pdf_bytes("evaluation.html", context) == copied
        finally:
            files.original = original
        assert not any(files._address(args[0]) in files.faces for args in copies)    # no kept face copied again
    finally:
        files.kept, files.faces = kept, faces


@dataclass(frozen=True)
class BrokenJob:
    """A job whose making fails, as a bug would."""

    path: Path

    def make(self):
        raise ValueError("坏了")


def test_a_job_that_fails_is_reported_and_no_worker_is_left_behind(tmp_path):
    import multiprocessing

    context = context_for(tmp_path)
    with pytest.raises(RuntimeError, match="坏了"):
        render_all([PdfJob(tmp_path / "1.pdf", "evaluation.html", context), BrokenJob(tmp_path / "2.pdf")])
    assert multiprocessing.active_children() == []


@dataclass(frozen=True)
class PriorityJob:
    """A job that writes the nice value of the worker making it."""

    path: Path

    def make(self):
        import os

        self.path.write_text(str(os.getpriority(os.PRIO_PROCESS, 0)))
        return self.path


def thread_niceness() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_renderer_prepares_at_lower_priority_and_makes_documents_at_the_runs():
    from pipeline.documents.render import PREPARATION_NICENESS, _at_lower_priority

    import os

    own = thread_niceness()
    assert _at_lower_priority(thread_niceness) == min(19, own + PREPARATION_NICENESS)
    assert thread_niceness() == own                       # the calling thread keeps its own
    # Back only once the helper thread has left the process: a fork now inherits none of its clean-up.
    helper = _at_lower_priority(threading.get_native_id)
    assert helper != threading.get_native_id() and not os.path.exists(f"/proc/self/task/{helper}")
    with pytest.raises(ValueError, match="坏了"):
        _at_lower_priority(lambda: BrokenJob(Path("x")).make())


def test_the_renderers_workers_make_documents_at_the_runs_priority(tmp_path):
    import os

    from pipeline.documents.render import Renderer

    renderer = Renderer(workers=2)
    renderer.start()
    renderer.submit(PriorityJob(tmp_path / "nice.txt"))
    assert renderer.finish() == [tmp_path / "nice.txt"]
    assert int((tmp_path / "nice.txt").read_text()) == os.getpriority(os.PRIO_PROCESS, 0)


def test_harfbuzz_subsetting_is_in_use_here_and_its_absence_would_be_named():
    assert harfbuzz_subsetting()
    assert subsetting_notice(True) is None
    assert "libharfbuzz-subset0" in subsetting_notice(False)


def test_the_same_sample_gives_the_same_bulletins(sample_run, tmp_path):
    assert main(["monthly", "--period", "2026-11", "--inbox", str(sample_run["inbox"]), "--out", str(tmp_path / "out"),
                 "--store", str(tmp_path / "again.sqlite"), "--settings", str(tmp_path / "none.toml")]) == 1
    for programme in PROGRAMMES:
        assert (tmp_path / "out" / programme / "2026-11" / "通报.pdf").read_bytes() == \
            (sample_run["out"] / programme / "2026-11" / "通报.pdf").read_bytes(), programme


def test_a_table_longer_than_a_page_repeats_its_header_and_keeps_each_row_whole(documents):
    pages = pages_of(documents["teaching/考核评优"])
    assert sum("工号单位得分排名称号" in text for *_, text in pages) >= 2
    with pdfplumber.open(documents["teaching/考核评优"]) as pdf:
        for page in pdf.pages:
            for found in page.extract_tables():
                for row in found:
                    if row and row[0] and re.fullmatch(r"2024[0-9]{5}", row[0]):
                        assert row[1] and row[2], row              # id, unit and score on the same page


@pytest.mark.parametrize("title, words, lines", [
    ("关于2026年学生教学信息员考核评优情况的通报", ("学生教学信息员",), ["关于2026年学生教学信息员", "考核评优情况的通报"]),
    ("关于2026年11月份宣传信息工作情况的通报", (), ["关于2026年11月份宣传信息工作情况的通报"]),
])
def test_a_long_title_breaks_between_words_into_balanced_lines(title, words, lines):
    from pipeline.documents.context import title_lines

    assert title_lines(title, words) == lines


def test_a_long_office_name_is_set_smaller_to_stay_on_one_line():
    from pipeline.documents.context import office_size

    assert office_size("××市公安局交通警察支队") == 30
    assert 26 < office_size("××职业技术学院评建督导办公室") < 30


def test_the_pdf_metadata_names_the_document_office_and_language(documents):
    from pypdf import PdfReader

    reader = PdfReader(documents["correspondents/通报"])
    assert reader.metadata.title == "关于2026年11月份宣传信息工作情况的通报"
    assert reader.metadata.author == "××市公安局交通警察支队"
    assert reader.metadata.subject == "信息通讯员2026年11月月度通报"
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert str(reader.metadata["/CreationDate"]).startswith("D:20261130")


def test_headings_of_the_first_level_are_hei_and_of_the_second_kai(documents):
    with pdfplumber.open(documents["correspondents/通报"]) as pdf:
        chars = [c for page in pdf.pages for c in page.chars]
    text = "".join(c["text"] for c in chars)
    first, second = text.index("一、稿件报送"), text.index("（一）通报表扬")
    assert "Noto-Sans-CJK-SC" in chars[first]["fontname"]
    assert "AR-PL-UKai-CN" in chars[second + 3]["fontname"]


def test_docs_holds_a_current_picture_of_each_sample_document():
    from pipeline.sample_documents import PICTURES

    readme = (PROJ_ROOT / "README.md").read_text(encoding="utf-8")
    for picture in PICTURES:
        assert (PROJ_ROOT / "docs" / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"docs/{picture}" in readme


@pytest.mark.parametrize("name, caption", [
    ("correspondents/通报", "各单位稿件报送与采用情况"), ("teaching/通报", "各系部教学信息员反馈情况"),
    ("class-officers/通报", "各班级教学信息员本月反馈情况"), ("community/通报", "各信息员本月工作情况（化名）"),
    ("after-sales/通报", "各网点服务质量")])
def test_every_monthly_bulletin_has_its_statistics_table(documents, name, caption):
    text = "".join(p[4] for p in pages_of(documents[name]))
    assert re.search(rf"表[0-9]+{re.escape(caption)}", text)


def test_no_workbook_of_the_sample_run_holds_a_formula_or_a_link(documents, sample_run, tmp_path):
    import zipfile

    assert main(["templates", "--out", str(tmp_path), "--inbox", str(sample_run["inbox"])]) == 0
    folders = [sample_run["out"], documents["teaching/聘任证书"].parents[2], tmp_path]
    workbooks = [p for folder in folders for p in sorted(folder.rglob("*.xlsx"))]
    assert {"统计表.xlsx", "校验报告.xlsx", "名册对照.xlsx", "评优.xlsx", "对账单.xlsx"} <= {p.name for p in workbooks}
    assert any("退回" in p.parts for p in workbooks) and any("templates" in p.parts for p in workbooks)
    for path in workbooks:
        assert sheets_with_formulas(path) == [], path
        with zipfile.ZipFile(path) as archive:
            assert not any(b"<hyperlink" in archive.read(name) for name in archive.namelist()
                           if name.startswith("xl/worksheets/")), path
            assert not any("externalLink" in name for name in archive.namelist()), path


def test_a_chart_of_more_units_than_bars_can_show_becomes_how_many_units_gave_how_many_items():
    from pipeline.documents.charts import MAX_BARS
    from pipeline.documents.sections import per_unit_feedback_chart

    officers = pd.DataFrame({"单位": [f"班{n:03d}" for n in range(300)], "反馈数": [n % 4 for n in range(300)]})
    [shown] = per_unit_feedback_chart(officers, "教学信息员", "班级")
    assert shown["caption"] == "本月各班级教学信息员反馈条数分布"
    assert str(shown["svg"]).count("<rect") <= 8 + 1 and ">0条<" in shown["svg"] and ">班级数<" in shown["svg"]
    [few] = per_unit_feedback_chart(officers.head(MAX_BARS), "教学信息员", "班级")
    assert few["caption"] == "本月各班级教学信息员反馈条数" and f">班{MAX_BARS - 1:03d}<" in few["svg"]


def test_bar_labels_wider_than_their_slot_stand_upright_whole_and_values_leave_thin_bars():
    from pipeline.documents.charts import bar_chart

    roomy = str(bar_chart("t", ["甲", "乙"], {"数": [1.0, 2.0]}))
    assert "rotate(-90" not in roomy and ">2<" in roomy
    units = [f"{n}大队" for n in range(40)]
    crowded = str(bar_chart("t", units, {"报送数": [3.5] * 40, "采用数": [1.5] * 40}))
    assert crowded.count("rotate(-90") == 40 and ">39大队<" in crowded and "…" not in crowded
    assert ">3.5<" not in crowded and ">1.5<" not in crowded     # no value over a 4 pt bar
    long = str(bar_chart("t", [f"第{n}个很长很长的单位名称" for n in range(30)], {"数": [1.0] * 30}))
    assert long.count("…<") == 30


IMPORT_COUNTING_PROGRAMS = """
import ctypes.util, subprocess, sys
started = []
original = subprocess.Popen._execute_child
subprocess.Popen._execute_child = lambda self, args, *rest: started.append(args) or original(self, args, *rest)
searching = ctypes.util.find_library
from pipeline.documents.render import _weasyprint
weasyprint = _weasyprint()
assert ctypes.util.find_library is searching, "find_library left replaced"
assert weasyprint.HTML(string="<p>通报</p>").write_pdf().startswith(b"%PDF")
print(len(started))
"""


def test_importing_weasyprint_for_the_renderer_starts_no_program_to_look_for_its_libraries():
    # cffi hands each library name the loader cannot open to ctypes' find_library, which runs
    # ldconfig, gcc and ld: ~200 programs (0.15 s) before WeasyPrint reaches the sonames it opens.
    done = subprocess.run([sys.executable, "-c", IMPORT_COUNTING_PROGRAMS], cwd=PROJ_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"], done.stdout


IMPORT_FAILING_BY_SONAME = """
import contextlib, sys
from pipeline.documents import render

@contextlib.contextmanager
def sonames_not_found():
    # As if a library were found only by ctypes' search: the first import fails half-way.
    import weasyprint.css                     # some of WeasyPrint is imported, then it fails
    raise OSError("cannot load library 'libpango-1.0.so.0'")
    yield

render._libraries_by_soname = sonames_not_found
weasyprint = render._weasyprint()
assert weasyprint.HTML(string="<p>通报</p>").write_pdf().startswith(b"%PDF")
print("ok")
"""


def test_weasyprint_is_imported_again_with_ctypes_search_when_a_library_is_not_found_by_its_soname():
    done = subprocess.run([sys.executable, "-c", IMPORT_FAILING_BY_SONAME], cwd=PROJ_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"], done.stdout


def test_the_renderer_compiles_each_template_once_before_it_forks_its_workers():
    from pipeline.documents.render import _warm_up, environment

    _warm_up()
    compiled = environment().get_template("monthly.html")
    assert environment() is environment()
    assert environment().get_template("monthly.html") is compiled
    assert {"monthly.html", "evaluation.html", "daily.html", "certificate.html"} <= {
        name for _, name in environment().cache.keys()}


def test_the_run_itself_imports_no_jinja_only_the_renderers_process_does():
    # The renderer's process is started before the run imports its modules, and renders every HTML.
    done = subprocess.run([sys.executable, "-c", "import sys; import pipeline.__main__, pipeline.monthly, "
                           "pipeline.evaluation, pipeline.daily, pipeline.certificates; print('jinja2' in sys.modules)"],
                          cwd=PROJ_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def test_column_widths_share_the_table_out_as_the_automatic_layout_would():
    from pipeline.documents.sections import CELL_EM, TABLE_EM, column_widths, table

    def shares(widths):
        return [float(w.rstrip("%")) for w in widths]

    # All fit: each column as wide as its widest cell, the room left shared in proportion.
    narrow = shares(column_widths(["网点", "工单数"], [["网点01", "10000"]], [True, False]))
    assert abs(sum(narrow) - 100) < 0.05
    assert abs(narrow[0] / narrow[1] - (2 + 2 * 0.55 + CELL_EM) / (3 + CELL_EM)) < 0.01
    # Too wide to fit: ids and numbers keep their whole width, the long text takes the rest.
    text = "本月反馈的问题较多，" * 8
    wide = shares(column_widths(["工号", "反馈内容", "次数"], [["2024000123", text, "12"]], [True, False, False]))
    assert abs(sum(wide) - 100) < 0.05 and wide[1] > 60
    assert wide[0] / 100 * TABLE_EM >= 10 * 0.55 + CELL_EM - 0.01            # 2024000123 on one line
    # What table() hands the template: one width per column.
    made = table("表", pd.DataFrame({"网点": ["网点01"], "准时率": [0.369]}))
    assert len(made["widths"]) == 2 and made["rows"] == [["网点01", "36.9%"]]
