"""The after-sales daily reconciliation (对账): one day's cards per outlet and engineer → 对账单.xlsx, 对账单.pdf."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.documents.context import daily_context
from pipeline.documents.render import PdfJob
from pipeline.ingest import ingest_programme
from pipeline.monthly import ProgrammeRun, changed_cards, programme_records
from pipeline.records import typed_all
from pipeline.rules.after_sales import daily_figures
from pipeline.rules.periods import Period
from pipeline.settings import Programme
from pipeline.store import Store
from pipeline.workbooks import write_workbook


def day_period(day: dt.date) -> Period:
    """One calendar day as a period."""
    return Period(day.isoformat(), day, day, f"{day.year}年{day.month}月{day.day}日")


def run_daily(store: Store, inbox: Path, out: Path, programme: Programme, day: dt.date, now: dt.datetime,
              progress: bool = False) -> ProgrammeRun:
    """Ingest one after-sales inbox folder and write that day's 对账单 under daily/<date>/."""
    files = ingest_programme(store, inbox / programme.id, programme, now, progress)
    result = ProgrammeRun(programme, files)
    records, result.other_problems = programme_records(store, programme, files)
    period = day_period(day)
    figures = daily_figures(typed_all(records, stored=True), programme.rules, period, changed_cards(store, programme))
    folder = out / programme.id / "daily" / period.name
    result.written.append(write_workbook(folder / "对账单.xlsx", figures.tables,
                                         title=f"{programme.title}{period.label}对账单"))
    result.pdf_jobs.append(PdfJob(folder / "对账单.pdf", "daily.html",
                                    daily_context(programme, period, figures, result.problems)))
    return result
