"""Jinja → HTML → WeasyPrint PDF, with autoescaping and a URL fetcher that reaches nothing outside
the project's own templates folder (and data: URLs).

WeasyPrint is imported where documents are rendered, not by the run itself: a run hands its jobs to
a Renderer, whose process imports it while the run works out its first figures."""
from __future__ import annotations

import functools
import gc
import io
import logging
import multiprocessing
import multiprocessing.connection
import mimetypes
import os
import re
import sys
import threading
import time
import traceback
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from pipeline import failpoints
from pipeline.fonts import use_core_fonts
from pipeline.processes import die_with_parent, start_forked
from pipeline.outputs import write_atomically
from pipeline.settings import PROJ_ROOT

if TYPE_CHECKING:
    import jinja2

TEMPLATES = PROJ_ROOT / "templates"

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


class ArraysByLength:
    """WeasyPrint's cffi handle, except that an array asked for with its length in the type's text
    and a list of its items (`new('hb_codepoint_t[62403]', items)`) is asked for as
    `new('hb_codepoint_t[]', items)`: the same array (not so for bytes, which would gain a NUL).
    cffi parses each distinct type text once per process, with pycparser, ~10 ms; WeasyPrint writes
    a different length for every font it subsets, in every document, so each document's process
    parsed seven of them (~70 ms of its ~0.5 s)."""

    SIZED = re.compile(r"(\w+)\[(\d+)\]")

    def __init__(self, ffi):
        self.ffi = ffi

    def new(self, cdecl, init=None):
        sized = self.SIZED.fullmatch(cdecl) if isinstance(cdecl, str) else None
        if sized and isinstance(init, (list, tuple)) and len(init) == int(sized[2]):
            return self.ffi.new(sized[1] + "[]", init)
        return self.ffi.new(cdecl, init)

    def __getattr__(self, name):
        return getattr(self.ffi, name)


# The fixed types WeasyPrint's PDF writer asks cffi for: parsed once in the renderer's process.
WRITER_TYPES = ("unsigned int *", "hb_tag_t[100]", "char[4]", "hb_codepoint_t[]")


class FontFiles:
    """WeasyPrint's get_hb_object_data as its PDF writer calls it, except that the file of a font the
    renderer's process kept is handed out again instead of copied anew. For each document the writer
    copies every font's whole file out of HarfBuzz (CJK files of 17-27 MB, ~0.05 s for a bulletin),
    only to subset it from the face after all and look at its first four bytes.

    Files are kept only while `keeping` (the renderer's warm-up, before it forks its workers), and
    only those of the faces the shared FontConfiguration's fonts have (get_pango_font_hb_face, also
    wrapped here), never a subset's: those fonts stay loaded for the life of the process and of its
    workers, so a face at the same address with its data at the same address and length is the same
    font file."""

    def __init__(self, fonts, harfbuzz, ffi):
        self.original, self.original_face = fonts.get_hb_object_data, fonts.get_pango_font_hb_face
        self.harfbuzz, self.ffi = harfbuzz, ffi
        self.faces: set[int] = set()                          # the fonts' faces met while keeping
        self.kept: dict[tuple[int, int, int], bytes] = {}     # (face, data address, length) → file
        self.keeping = False

    def face_of(self, pango_font):
        """get_pango_font_hb_face: the face of a font of the FontConfiguration (noted while keeping)."""
        face = self.original_face(pango_font)
        if self.keeping:
            self.faces.add(self._address(face))
        return face

    def __call__(self, hb_object, ot_color=None, glyph=None):
        face = self._address(hb_object)
        if ot_color is not None or face not in self.faces:
            return self.original(hb_object, ot_color, glyph)
        blob = self.harfbuzz.hb_face_reference_blob(hb_object)
        length = self.ffi.new("unsigned int *")
        key = (face, self._address(self.harfbuzz.hb_blob_get_data(blob, length)), int(length[0]))
        self.harfbuzz.hb_blob_destroy(blob)
        found = self.kept.get(key)
        if found is None:
            found = self.original(hb_object)
            if self.keeping and found is not None:
                self.kept[key] = found
        return found

    def _address(self, pointer) -> int:
        return int(self.ffi.cast("uintptr_t", pointer))


@contextmanager
def _libraries_by_soname():
    """On Linux, while WeasyPrint is imported: ctypes' find_library finds nothing. WeasyPrint opens
    each C library it needs (Pango, HarfBuzz, fontconfig…) by trying several names; cffi hands every
    name the loader cannot open as it is ('libpango-1.0-0') to find_library, which runs ldconfig,
    gcc and ld to look for it: some 200 programs started, ~0.15 s of every process that renders,
    before WeasyPrint reaches the soname the loader opens by itself ('libpango-1.0.so.0'). Where
    that fails after all, the import is made again with find_library as it is."""
    import ctypes.util

    searching = ctypes.util.find_library
    if sys.platform.startswith("linux"):
        ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = searching


def _import_weasyprint():
    """`import weasyprint`, its C libraries opened by their sonames (_libraries_by_soname), fontconfig
    told of the core fonts (pipeline.fonts) before WeasyPrint starts it."""
    use_core_fonts()
    # GLib's slice allocator keeps per-thread caches behind a lock of its own; plain malloc is safe to
    # fork beside other threads (and is what GLib itself uses from 2.76 on). Read when GLib starts.
    os.environ.setdefault("G_SLICE", "always-malloc")
    try:
        with _libraries_by_soname(), redirect_stdout(io.StringIO()):    # its own advice, should it fail
            import weasyprint
    except OSError:
        for name in [name for name in sys.modules if name.split(".")[0] == "weasyprint"]:
            del sys.modules[name]
        import weasyprint
    return weasyprint


@functools.cache
def _weasyprint():
    """WeasyPrint, imported once, with its font writer's cffi handle wrapped in ArraysByLength and its
    font files read through FontFiles (what it writes is the same: tests compare the bytes)."""
    weasyprint = _import_weasyprint()
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, harfbuzz

    if not isinstance(fonts.ffi, ArraysByLength):
        fonts.ffi = ArraysByLength(fonts.ffi)
    if not isinstance(fonts.get_hb_object_data, FontFiles):
        files = FontFiles(fonts, harfbuzz, ffi)
        fonts.get_hb_object_data, fonts.get_pango_font_hb_face = files, files.face_of
    return weasyprint


@functools.cache
def _font_config():
    """One FontConfiguration for every document of the process (and of the workers it forks): fonts
    found, loaded and shaped once."""
    from weasyprint.text.fonts import FontConfiguration

    _weasyprint()
    return FontConfiguration()


@functools.cache
def _fetcher_class():
    """ProjectOnlyFetcher, made the first time it is asked for (it needs WeasyPrint)."""
    weasyprint = _weasyprint()

    class ProjectOnlyFetcher(weasyprint.URLFetcher):
        """Serves data: URLs and files inside templates/; refuses everything else (file://, http://…)."""

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.is_relative_to(TEMPLATES.resolve()) and path.is_file():
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return weasyprint.urls.URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
            raise ValueError(f"refused: {url}")

    return ProjectOnlyFetcher


def __getattr__(name: str):
    if name == "ProjectOnlyFetcher":
        return _fetcher_class()
    raise AttributeError(name)


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja environment of every document: autoescaping on, undefined names are errors. One per
    process, so that each template is compiled once (the renderer compiles them all before it forks
    its workers: _warm_up). Jinja is imported here: only the renderer's process needs it, and the run
    starts that process before it would have imported Jinja itself (~25 ms it no longer waits for)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def html_of(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def _document(html: str):
    """WeasyPrint's document of an HTML text, with links resolved in templates/ by ProjectOnlyFetcher."""
    return _weasyprint().HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=_fetcher_class()(),
                           media_type="print")


def pdf_bytes(template: str, context: dict) -> bytes:
    """The PDF of a template rendered with the context; the same context gives the same bytes."""
    return _document(html_of(template, context)).write_pdf(font_config=_font_config(),
                                                           pdf_identifier=b"officer-report-pipeline",
                                                           uncompressed_pdf=False)


def write_pdf(path: Path, template: str, context: dict) -> Path:
    """Render and write a PDF atomically; returns its path."""
    return write_atomically(path, pdf_bytes(template, context))


@dataclass(frozen=True)
class PdfJob:
    """A PDF to render: where it goes, the template, and the context (plain data, so it can travel to a
    worker process)."""

    path: Path
    template: str
    context: dict


# Seconds each PDF of the last render_all took, by path (for the benchmark).
RENDER_SECONDS: dict[Path, float] = {}


def _write_job(job) -> tuple[Path | None, float]:
    """Make one job: a PdfJob, or any job with a make() giving its path (None when it could not)."""
    start = time.perf_counter()
    path = write_pdf(job.path, job.template, job.context) if isinstance(job, PdfJob) else job.make()
    return path, time.perf_counter() - start


def harfbuzz_subsetting() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools (seconds a page)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def subsetting_notice(available: bool) -> str | None:
    """The one line a run prints when HarfBuzz subsetting is missing; None when it is there."""
    if available:
        return None
    return ("提示：本机缺少 HarfBuzz 子集化库，生成 PDF 会很慢（每页数秒）。"
            "请运行 make system，或 apt-get install libharfbuzz-subset0。")


class Renderer:
    """Makes jobs (PDFs, annotated copies) while the run goes on, in worker processes forked from one
    small process started by start() or the first job (it imports WeasyPrint meanwhile, and forks cheaply): a job
    submitted early (a programme's documents, as soon as its figures are known) is made beside the
    next programme's reading and figures. At most `workers` jobs run at a time; finish() waits for all
    and gives their paths in the order they were submitted. Jobs travel pickled: plain data. The bytes
    of a job do not depend on where or when it is made. On one core, jobs are made in finish(), here."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.jobs: list = []
        self.done: dict[int, tuple[Path | None, float]] = {}
        self.process = None

    def start(self) -> None:
        """Start the renderer's process (it imports WeasyPrint, then waits for jobs), if not yet done.
        A run starts it first thing, before it imports pandas: the process is small to fork then, and
        prepares at low priority (_prepared_meanwhile), so that it takes no core from busy readers."""
        if self.process is not None or self.workers < 2:
            return
        jobs_out, jobs_in = multiprocessing.Pipe(duplex=False)
        results_out, results_in = multiprocessing.Pipe(duplex=False)
        self.process = start_forked(_spawner, (jobs_out, results_in, os.getpid(), self.workers))
        jobs_out.close()
        results_in.close()
        self.sending, self.receiving = jobs_in, results_out

    def submit(self, job) -> int:
        """Hand a job over; returns its ticket. It starts at once when a worker is free."""
        self.start()
        self.jobs.append(job)
        ticket = len(self.jobs) - 1
        if self.process is not None:
            self.sending.send((ticket, job))
            self._collect(block=False)
        return ticket

    def finish(self) -> list[Path | None]:
        """Wait for every job; their paths (None where a job could not be made), in submission order."""
        if self.process is None:
            if any(isinstance(job, PdfJob) for job in self.jobs):
                _notice_once()
            for ticket, job in enumerate(self.jobs):
                self.done[ticket] = _write_job(job)
                failpoints.reached("render")
        else:
            try:
                while len(self.done) < len(self.jobs):
                    self._collect(block=True)
            finally:                       # also when a job failed: no process is left behind
                self.close()
        RENDER_SECONDS.clear()
        RENDER_SECONDS.update((path, seconds) for path, seconds in self.done.values() if path is not None)
        made = [self.done[ticket][0] for ticket in range(len(self.jobs))]
        self.jobs, self.done = [], {}
        return made

    def close(self) -> None:
        """Stop the renderer's process (it may still be importing WeasyPrint when nothing was asked)."""
        if self.process is not None:
            self.sending.close()
            self.receiving.close()
            self.process.kill()
            self.process.join()
            self.process = None

    def _collect(self, block: bool) -> None:
        while self.receiving.poll(None if block else 0):
            try:
                ticket, (status, found) = self.receiving.recv()
            except (EOFError, OSError):
                raise RuntimeError("生成文档的进程意外退出") from None
            if status == "bug":
                raise RuntimeError(f"生成 {self.jobs[ticket].path} 时程序出错：\n{found}")
            self.done[ticket] = found
            failpoints.reached("render")     # one job done, others maybe still being made
            block = False


def _notice_once() -> None:
    notice = subsetting_notice(harfbuzz_subsetting())
    if notice:
        print(notice, file=sys.stderr)


def _spawner(jobs, results, parent: int, workers: int) -> None:
    """The renderer's process: import WeasyPrint, then fork a worker for each job as it comes (at most
    `workers` at a time) and pass each worker's answer on to the run."""
    try:
        die_with_parent(parent)
        _prepared_meanwhile()                      # now, while the run reads and works out its figures

        waiting: list[tuple[int, object]] = []
        running: dict = {}                         # receiving end → (ticket, process)
        noticed, open_ = False, True
        while open_ or waiting or running:
            while waiting and len(running) < workers:
                ticket, job = waiting.pop(0)
                receiving, sending = multiprocessing.Pipe(duplex=False)
                running[receiving] = (ticket, start_forked(_worker, (sending, os.getpid(), job)))
                sending.close()
            ready = multiprocessing.connection.wait(([jobs] if open_ else []) + list(running))
            if jobs in ready:
                try:
                    ticket, job = jobs.recv()
                    if isinstance(job, PdfJob) and not noticed:
                        noticed = True
                        _notice_once()
                    waiting.append((ticket, job))
                except (EOFError, OSError):        # the run has all it asked for, or is gone
                    open_ = False
            for receiving in [r for r in ready if r in running]:
                ticket, process = running.pop(receiving)
                try:
                    answer = receiving.recv()
                except (EOFError, OSError):
                    answer = ("bug", "进程意外退出")
                receiving.close()
                process.join()
                results.send((ticket, answer))
    finally:
        os._exit(0)


# How much less of a core the renderer's preparation asks for than the run's own processes.
PREPARATION_NICENESS = 10


def _prepared_meanwhile() -> None:
    """Import WeasyPrint and warm up (_warm_up) at lower priority than the run's readers and its own
    process: started with the run, before it imports pandas, the renderer takes what those leave of
    the two cores (the gaps while the run imports, loads the stored records and waits for a reader)
    instead of a core they need."""
    _at_lower_priority(lambda: (_weasyprint(), _warm_up()))


def _at_lower_priority(work):
    """work() in a thread of its own, PREPARATION_NICENESS lower in priority; its result, or its
    exception raised here. On Linux a nice value belongs to the thread: this thread keeps its own,
    and so do the processes it forks afterwards (the renderer's workers make documents at normal
    priority). Elsewhere, where niceness is the process's, work() just runs here.

    It returns only once that thread is gone from the system, not merely done in Python: a thread
    leaving runs GLib's per-thread clean-up (its memory slices go back under GLib's lock) after
    Python's join() has returned, and a worker forked meanwhile inherited that lock taken and hung
    in its first Pango call (seen once in the tests)."""
    if not sys.platform.startswith("linux"):
        return work()
    outcome: list = []

    def lowered() -> None:
        try:
            thread = threading.get_native_id()
            outcome.append(thread)
            os.setpriority(os.PRIO_PROCESS, thread,
                           min(19, os.getpriority(os.PRIO_PROCESS, thread) + PREPARATION_NICENESS))
            outcome.append((True, work()))
        except BaseException as error:
            outcome.append((False, error))

    helper = threading.Thread(target=lowered, name="at-lower-priority")
    helper.start()
    helper.join()
    _gone(outcome[0])
    done, value = outcome[-1]
    if not done:
        raise value
    return value


def _gone(thread: int, seconds: float = 10.0) -> None:
    """Wait until the thread of this native id has left the process (Linux: /proc/self/task)."""
    deadline = time.monotonic() + seconds
    while os.path.exists(f"/proc/self/task/{thread}") and time.monotonic() < deadline:
        time.sleep(0.0005)


# A few lines in each of the document's faces (黑体 title and h2, 宋体 body, 楷体 h3, table cells).
WARM_UP = ('<!DOCTYPE html><html lang="zh-CN"><head><link rel="stylesheet" href="css/official.css"></head><body>'
           '<h1>关于通报</h1><p>通报 2026</p><h2>一、情况</h2><h3>（一）说明</h3><table><tr><th>表</th><td>1.0%</td></tr></table>'
           '</body></html>')


def _warm_up() -> None:
    """Write a PDF of a few lines once in the renderer's own process, before it forks any worker: each
    worker then finds the fonts of the shared FontConfiguration looked up, loaded and shaped, their
    files kept (FontFiles), the writer's fixed cffi types parsed and the templates compiled, instead
    of doing all that for its document. (0.25 s here; each bulletin then takes ~0.06 s less.)"""
    from weasyprint.pdf import fonts

    fonts.get_hb_object_data.keeping = True
    try:
        _document(WARM_UP).write_pdf(font_config=_font_config())
    finally:
        fonts.get_hb_object_data.keeping = False
    for cdecl in WRITER_TYPES:
        fonts.ffi.typeof(cdecl)
    for name in environment().list_templates(extensions=["html"]):
        environment().get_template(name)


def _worker(connection, parent: int, job) -> None:
    """In a forked worker: make one job, send back ("ok", (path, seconds)) or ("bug", traceback).
    Without the cyclic garbage collector: laying out a document makes some 100,000 objects, and
    every few thousand the collector went through them all again, ~10% of the after-sales bulletin's
    time; the worker lives for one job and hands its memory back whole (its peak RSS is the same)."""
    try:
        gc.disable()
        die_with_parent(parent)
        connection.send(("ok", _write_job(job)))
    except BaseException:
        connection.send(("bug", traceback.format_exc()))
    finally:
        connection.close()
        os._exit(0)


def render_all(jobs: list) -> list[Path | None]:
    """Render every PDF of a run (and make its other jobs, such as annotated copies), in parallel on the
    cores there are (the bytes do not depend on it)."""
    renderer = Renderer()
    for job in jobs:
        renderer.submit(job)
    return renderer.finish()
