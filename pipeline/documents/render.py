"""Jinja → HTML → WeasyPrint PDF, with autoescaping and a URL fetcher that reaches nothing outside
the project's own templates folder (and data: URLs)."""
from __future__ import annotations

import logging
import mimetypes
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import unquote, urlparse

import jinja2
import weasyprint

from pipeline import failpoints
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


def render_all(jobs: list) -> list[Path | None]:
    """Render every PDF of a run (and make its other jobs, such as annotated copies), in parallel on the
    cores there are (the bytes do not depend on it)."""
    notice = subsetting_notice(harfbuzz_subsetting())
    if notice and any(isinstance(job, PdfJob) for job in jobs):
        print(notice, file=sys.stderr)
    workers = min(len(jobs), os.cpu_count() or 1)
    done = []
    if workers < 2:
        for job in jobs:
            done.append(_write_job(job))
            failpoints.reached("render")
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            for finished in pool.map(_write_job, jobs):
                done.append(finished)
                failpoints.reached("render")     # one PDF done, the others still being rendered
    RENDER_SECONDS.clear()
    RENDER_SECONDS.update((path, seconds) for path, seconds in done if path is not None)
    return [path for path, _ in done]
