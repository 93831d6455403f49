"""聘任证书: one A4-landscape certificate page per officer appointed in the period."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from pipeline.documents.context import date_text
from pipeline.documents.render import PdfJob
from pipeline.ingest import ingest_programme
from pipeline.monthly import ProgrammeRun, programme_records
from pipeline.records import typed_all
from pipeline.rules.figures import officers_of
from pipeline.rules.officers import records_in
from pipeline.rules.periods import Period
from pipeline.settings import Programme
from pipeline.store import Store


def issues_certificates(programme: Programme) -> bool:
    """Programmes with appointments give certificates; a confidential one never prints names."""
    return bool(programme.config.get("uses_appointments")) and not programme.config.get("confidential")


def newly_appointed(officers: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The officers whose 聘任日期 falls in the period, in order of appointment then id."""
    appointed = records_in(officers.reset_index(), "聘任日期", period)
    return appointed.sort_values(["聘任日期", "工号"], kind="stable")


def certificate_context(programme: Programme, period: Period, officers: pd.DataFrame) -> dict:
    """What each certificate page prints."""
    pages = []
    for _, officer in officers.iterrows():
        start, end = officer["聘任日期"], officer["任期届满"]
        pages.append({
            "number": f"{programme['doc_prefix']}聘〔{start.year}〕{officer['工号']}号",
            "text": programme["certificate_text"].format(
                name=officer["姓名"], unit=officer["单位"], officer_word=programme["officer_word"],
                role=officer["职务"], start=date_text(start), end=date_text(end)),
            "date_text": date_text(start)})
    title = f"{programme.title}聘任证书"
    return {"doc": {"office": programme["issuing_office"], "title": title, "subject": f"{title}（{period.label}）",
                    "created": period.end.isoformat() + "T00:00:00+00:00"},
            "office": programme["issuing_office"], "pages": pages}


def run_certificates(store: Store, inbox: Path, out: Path, programme: Programme, period: Period,
                     now: dt.datetime, progress: bool = False) -> ProgrammeRun:
    """Ingest one programme's inbox folder and write 聘任证书.pdf for the officers appointed in the period."""
    files = ingest_programme(store, inbox / programme.id, programme, now, progress)
    result = ProgrammeRun(programme, files)
    records, result.other_problems = programme_records(store, programme, files)
    appointed = newly_appointed(officers_of(typed_all(records, stored=True), programme.rules), period)
    if len(appointed):
        result.pdf_jobs.append(PdfJob(out / programme.id / period.name / "聘任证书.pdf", "certificate.html",
                                        certificate_context(programme, period, appointed)))
    return result
