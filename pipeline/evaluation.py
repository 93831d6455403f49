"""The term or year assessment: inbox → store → awards, dismissals, credits, points → 评优.xlsx, 考核评优.pdf."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.documents.context import evaluation_context
from pipeline.documents.render import PdfJob, Renderer
from pipeline.ingest import ingest_programme
from pipeline.monthly import ProgrammeRun, confidential_outputs, programme_records, validation_report
from pipeline.records import typed_all
from pipeline.rules.periods import Period, assessment_year, so_far, term
from pipeline.rules.programmes import evaluation_figures
from pipeline.settings import Programme, SettingsError
from pipeline.store import Store
from pipeline.workbooks import write_workbook


def evaluation_period(programme: Programme, year_name: str | None, term_name: str | None) -> Period | None:
    """The period a programme is assessed over: its assessment year, or the named term; None when the
    programme has no terms and a term was asked for. An unknown term is a SettingsError."""
    if year_name is not None:
        try:
            return assessment_year(year_name, programme.rules.get("year_start_month", 1))
        except ValueError:
            raise SettingsError(f"年度“{year_name}”写法不对，应写作 2026。") from None
    if not programme.terms:
        return None
    try:
        return term(term_name, programme.terms)
    except ValueError:
        known = "、".join(programme.terms)
        raise SettingsError(f"项目 {programme.id} 的设置中没有学期“{term_name}”（已设置的学期：{known}）。"
                            "学期在 data/settings.toml 的 [terms] 中设置。") from None


def run_evaluation(store: Store, inbox: Path, out: Path, programme: Programme, period: Period, is_term: bool,
                   now: dt.datetime, progress: bool = False, renderer: Renderer | None = None) -> ProgrammeRun:
    """Ingest one programme's inbox folder and write its assessment for the period (if it has one)."""
    files = ingest_programme(store, inbox / programme.id, programme, now, progress)
    if renderer is not None:
        renderer.start()        # its import now runs beside the figures, not beside the readers
    result = ProgrammeRun(programme, files)
    records, result.other_problems = programme_records(store, programme, files)
    typed = typed_all(records, stored=True)
    # A period not yet over is assessed as it stands today (months to come are not missed yet).
    assessed = so_far(period, now.date())
    figures = evaluation_figures(programme.preset, typed, programme.rules, assessed, programme.terms, is_term)
    if figures is None:
        return result
    folder = out / programme.id / period.name
    figures, restricted = confidential_outputs(store, programme, typed, figures, folder)
    result.written += restricted
    result.written.append(write_workbook(folder / "评优.xlsx", figures.tables,
                                         title=f"{programme.title}{period.label}考核评优"))
    result.written.append(write_workbook(folder / "校验报告.xlsx",
                                         {"校验报告": validation_report(result.problems)},
                                         title=f"{programme.title}{period.label}校验报告"))
    result.pdf_jobs.append(PdfJob(folder / "考核评优.pdf", "evaluation.html",
                                    evaluation_context(programme, period, figures, result.problems, is_term,
                                                       store.document_number(programme.id, "考核评优", period.name,
                                                                             period.end.year), assessed.end)))
    return result
