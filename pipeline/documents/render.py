"""Jinja → HTML → WeasyPrint PDF, with autoescaping and a URL fetcher that reaches nothing outside
the project's own templates folder (and data: URLs)."""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import mimetypes
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2
import weasyprint

from pipeline import failpoints
from pipeline.processes import die_with_parent, start_forked
from pipeline.outputs import write_atomically
from pipeline.settings import PROJ_ROOT

TEMPLATES = PROJ_ROOT / "templates"

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


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


def environment() -> jinja2.Environment:
    """The Jinja environment of every document: autoescaping on, undefined names are errors."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def html_of(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def pdf_bytes(template: str, context: dict) -> bytes:
    """The PDF of a template rendered with the context; the same context gives the same bytes."""
    html = weasyprint.HTML(string=html_of(template, context), base_url=TEMPLATES.as_uri() + "/",
                           url_fetcher=ProjectOnlyFetcher(), media_type="print")
    return html.write_pdf(pdf_identifier=b"officer-report-pipeline", uncompressed_pdf=False)


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
    """Makes jobs (PDFs, annotated copies) in forked worker processes while the run goes on: a job
    submitted early (a programme's documents, as soon as its figures are known) is rendered beside the
    next programme's reading and figures, on a core that would otherwise wait. At most `workers`
    run at a time; finish() waits for all and gives their paths in the order they were submitted.
    The bytes of a job do not depend on where or when it is made."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.jobs: list = []
        self.waiting: list[int] = []
        self.running: dict[int, tuple] = {}           # ticket → (process, receiving end)
        self.done: dict[int, tuple[Path | None, float]] = {}
        self.noticed = False

    def submit(self, job) -> int:
        """Queue a job; returns its ticket. Starts it at once when a worker is free."""
        if isinstance(job, PdfJob) and not self.noticed:
            self.noticed = True
            notice = subsetting_notice(harfbuzz_subsetting())
            if notice:
                print(notice, file=sys.stderr)
        self.jobs.append(job)
        self.waiting.append(len(self.jobs) - 1)
        self._collect(block=False)
        self._start()
        return len(self.jobs) - 1

    def finish(self) -> list[Path | None]:
        """Wait for every job; their paths (None where a job could not be made), in submission order."""
        while self.waiting or self.running:
            self._start()
            self._collect(block=True)
        RENDER_SECONDS.clear()
        RENDER_SECONDS.update((path, seconds) for path, seconds in self.done.values() if path is not None)
        made = [self.done[ticket][0] for ticket in range(len(self.jobs))]
        self.jobs, self.done = [], {}
        return made

    def _start(self) -> None:
        if self.workers < 2:               # one core: make the jobs here, in order, when asked to finish
            return
        while self.waiting and len(self.running) < self.workers:
            ticket = self.waiting.pop(0)
            receiving, sending = multiprocessing.Pipe(duplex=False)
            process = start_forked(_worker, (sending, os.getpid(), self.jobs[ticket]))
            sending.close()
            self.running[ticket] = (process, receiving)

    def _collect(self, block: bool) -> None:
        if self.workers < 2:
            if block:
                while self.waiting:
                    ticket = self.waiting.pop(0)
                    self.done[ticket] = _write_job(self.jobs[ticket])
                    failpoints.reached("render")
            return
        if not self.running:
            return
        ready = multiprocessing.connection.wait([r for _, r in self.running.values()], timeout=None if block else 0)
        for ticket, (process, receiving) in list(self.running.items()):
            if receiving not in ready:
                continue
            try:
                status, found = receiving.recv()
            except (EOFError, OSError):
                status, found = "bug", "进程意外退出"
            receiving.close()
            process.join()
            del self.running[ticket]
            if status == "bug":
                raise RuntimeError(f"生成 {self.jobs[ticket].path} 时程序出错：\n{found}")
            self.done[ticket] = found
            failpoints.reached("render")     # one job done, others maybe still being made


def _worker(connection, parent: int, job) -> None:
    """In a forked worker: make one job, send back ("ok", (path, seconds)) or ("bug", traceback)."""
    try:
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
