"""The monthly run: every programme's inbox → store → figures → 通报.pdf, 统计表.xlsx, 校验报告.xlsx."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import partial
from pathlib import Path

import pandas as pd

from pipeline.copies import CopyJob, returned_name
from pipeline.documents.context import monthly_context
from pipeline.documents.render import PdfJob, Renderer
from pipeline.ingest import ingest_programme
from pipeline.problems import ERROR, Problem
from pipeline.records import typed_all
from pipeline.results import FileResult, ProgrammeRun
from pipeline.reuse import attach_problems, code_fingerprint, file_sha256, reuse_outputs
from pipeline.rules.community import pseudonym, pseudonym_numbers
from pipeline.rules.counts import record_counts
from pipeline.rules.figures import Figures, officers_of
from pipeline.rules.periods import Period
from pipeline.rules.programmes import monthly_figures, with_pseudonyms
from pipeline.settings import Programme
from pipeline.store import Store
from pipeline.timing import phase
from pipeline.validate import check_against_roster
from pipeline.workbooks import write_workbook
from pipeline.xlsx import KnownRows
from schemas import all_kinds

REPORT_COLUMNS = ["项目", "文件", "工作表", "行", "列", "列名", "内容", "代码", "级别", "问题", "修改提示"]


def validation_report(problems: list[Problem]) -> pd.DataFrame:
    """校验报告: one row per problem."""
    return pd.DataFrame([p.as_row() for p in problems], columns=REPORT_COLUMNS)


def file_table(files: list[FileResult]) -> pd.DataFrame:
    """One row per inbox file: whether it could be read, what it holds, how many rows were sent back.
    What this run in particular read or changed is said on the console, so that a rerun over the same
    inbox writes the same workbook."""
    titles = {name: kind.title for name, kind in all_kinds().items()}
    return pd.DataFrame([{"文件": f.name, "状态": "无法读取" if f.status == "无法读取" else "已接收",
                          "表格种类": "、".join(titles[k] for k in f.kinds), "有效记录": f.accepted,
                          "退回行数": f.rejected}
                         for f in sorted(files, key=lambda f: f.name)],
                        columns=["文件", "状态", "表格种类", "有效记录", "退回行数"])


def current_records(store: Store, programme: Programme) -> dict[str, pd.DataFrame]:
    """Every current record of the programme, by form kind."""
    return {name: store.current_records(programme.id, name) for name in all_kinds()}


def returned_copies(inbox_folder: Path, folder: Path, files: list[FileResult], store: Store | None = None
                    ) -> tuple[list[Path], list[CopyJob]]:
    """For each file with cell or sheet problems, its annotated copy in 退回/: those already written
    from the same file and the same problems (kept as they are), and the jobs for the others."""
    kept, jobs = [], []
    for result in files:
        located = [p for p in result.problems if p.severity == ERROR and p.sheet]
        if not located:
            continue
        target = folder / returned_name(result.name)
        inputs = hashlib.sha256(json.dumps([code_fingerprint(), result.sha256, [p.to_json() for p in located]],
                                           ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        if store is not None and target.is_file() and store.returned_inputs(str(target)) == inputs:
            kept.append(target)
        else:
            jobs.append(CopyJob(inbox_folder / result.name, target, tuple(located), inputs))
    return kept, jobs


def remove_stale_copies(folder: Path, current: list[Path]) -> None:
    """Copies in 退回/ of files that no longer have problems (or are gone)."""
    if folder.is_dir():
        for old in folder.rglob("*"):
            if old.is_file() and old not in current:
                old.unlink()


def pseudonyms_for(store: Store, programme: Programme, records: dict[str, pd.DataFrame]) -> dict[str, str]:
    """工号 → stable pseudonym for a confidential programme (numbers kept in the store for ever); {} otherwise."""
    if not programme.config.get("confidential"):
        return {}
    officers = officers_of(records, programme.rules)
    numbers = pseudonym_numbers(officers, store.pseudonym_numbers(programme.id))
    store.keep_pseudonyms(programme.id, numbers)
    return {officer: pseudonym(number, programme["pseudonym_prefix"]) for officer, number in numbers.items()}


def name_key(records: dict[str, pd.DataFrame], names: dict[str, str], programme: Programme) -> pd.DataFrame:
    """名册对照: pseudonym → the real officer, for the office only."""
    officers = officers_of(records, programme.rules)
    rows = [{"化名": names[o], "工号": o, "姓名": officers.at[o, "姓名"], "单位": officers.at[o, "单位"],
             "职务": officers.at[o, "职务"], "联系电话": officers.at[o, "联系电话"],
             "聘任日期": officers.at[o, "聘任日期"], "离任日期": officers.at[o, "离任于"]}
            for o in sorted(officers.index, key=lambda o: names[o])]
    return pd.DataFrame(rows, columns=["化名", "工号", "姓名", "单位", "职务", "联系电话", "聘任日期", "离任日期"])


def changed_cards(store: Store, programme: Programme) -> frozenset[str]:
    """工单号 of the service cards whose current version replaced one with different content."""
    keys = store.changed_keys(programme.id, "service_cards")
    # Each key is a JSON list: all of them read in one go (an outlet's workbook replaced brings thousands).
    return frozenset(key[0] for key in json.loads("[" + ",".join(keys) + "]"))


def programme_records(store: Store, programme: Programme, files: list[FileResult]
                      ) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The programme's current records that pass the roster check; and the problems of those that do not
    belonging to no file now in the inbox (the others are added to their files' results)."""
    records, roster_problems = roster_checked(store, programme)
    return records, attach_problems(roster_problems, files)


def roster_checked(store: Store, programme: Programme) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The current records that pass the roster check, and a problem for each that does not."""
    return check_against_roster(current_records(store, programme), programme.id)


def remember_outputs(store: Store, runs: list[ProgrammeRun], command: str, period: Period) -> None:
    """Record, for every run that wrote its outputs, what it wrote from which inputs."""
    for run in runs:
        if run.reused or not run.inputs:
            continue
        manifest = {"files": [[str(path), run.digests.get(path) or file_sha256(path)] for path in run.written],
                    "problems": [p.to_json() for p in run.derived_problems]}
        store.keep_outputs(run.programme.id, command, period.name, run.inputs, manifest)


def confidential_outputs(store: Store, programme: Programme, records: dict[str, pd.DataFrame], figures: Figures,
                         folder: Path) -> tuple[Figures, list[Path]]:
    """The figures leaders may see, and for a confidential programme the restricted 名册对照.xlsx."""
    names = pseudonyms_for(store, programme, records)
    if not names:
        return figures, []
    key = write_workbook(folder / "名册对照.xlsx", {"名册对照": name_key(records, names, programme)},
                         title=f"{programme.title}名册对照（内部保密）")
    return with_pseudonyms(figures, names), [key]


def submit_documents(run: ProgrammeRun, renderer: Renderer) -> None:
    """Hand the run's pending copies and PDFs to the renderer (copies first: a big workbook's copy
    takes longer than any PDF)."""
    for job in [*run.copy_jobs, *run.pdf_jobs]:
        run.submitted.append((job, renderer.submit(job)))
    run.pdf_jobs, run.copy_jobs = [], []


def render_documents(runs: list[ProgrammeRun], store: Store | None = None, renderer: Renderer | None = None) -> None:
    """Make the documents every run left pending: hand its PDFs and annotated copies to the renderer
    (those not yet submitted), write its workbooks meanwhile, then wait for the renderer; each path
    joins its run's written files; stale copies in 退回/ go.
    The workbooks come after every programme's figures: the PDFs are then all being made while they
    are written (a big workbook's long lists in two processes of their own), where writing each
    programme's workbooks before the next programme's figures left a core idle whenever that
    programme's PDF was done first, and the last PDF alone at the end."""
    renderer = renderer or Renderer()
    for run in runs:
        submit_documents(run, renderer)
    for run in [run for run in runs if run.workbooks]:
        with phase("write"):
            for path, sheets, title, cache, known in run.workbooks:
                written = write_workbook(path, sheets, title=title, cache=cache, known=known)
                run.written.append(written)
                run.digests[written] = file_sha256(written)     # now, not after the last PDF (16 MB: ~0.02 s)
        run.workbooks = []
    if store is not None:
        store.checkpoint()          # while the documents are still being made
    with phase("render"):
        made = renderer.finish()
    for run in runs:
        for job, ticket in run.submitted:
            path = made[ticket]
            if path is None:
                continue
            run.written.append(path)
            if isinstance(job, CopyJob) and store is not None:
                store.keep_returned(str(path), job.inputs)
        run.submitted = []
        if run.returned_folder is not None:
            remove_stale_copies(run.returned_folder, run.written)


def run_programme(store: Store, inbox: Path, out: Path, programme: Programme, period: Period,
                  now: dt.datetime, progress: bool = False, renderer: Renderer | None = None) -> ProgrammeRun:
    """Ingest one programme's inbox folder and write its monthly documents (with a renderer, its
    annotated copies and PDF start being made at once, beside what follows)."""
    files = ingest_programme(store, inbox / programme.id, programme, now, progress)
    result = ProgrammeRun(programme, files)
    if reuse_outputs(result, store, out, period, "monthly"):
        return result
    if renderer is not None:
        renderer.start()        # a run starts it first thing (run_all); a caller of this alone, here
    kinds = all_kinds()
    with phase("compute"):
        records, result.derived_problems = roster_checked(store, programme)
        result.other_problems = attach_problems(result.derived_problems, files)
        folder = out / programme.id / period.name
        # Every problem of the files is known now: their annotated copies can be made meanwhile.
        kept, result.copy_jobs = returned_copies(inbox / programme.id, folder / "退回", files, store)
        result.written += kept
        result.returned_folder = folder / "退回"
        if renderer is not None:
            submit_documents(result, renderer)
        counts = record_counts(records, {k: v.title for k, v in kinds.items()},
                               {k: v.date_field for k, v in kinds.items()}, period)
        typed = typed_all(records, stored=True)
        # Which cards changed is asked of the store only for the list of them (a workbook sheet), after
        # the bulletin has gone to be rendered.
        figures = monthly_figures(programme.preset, typed, programme.rules, period, programme.terms,
                                  partial(changed_cards, store, programme))
    with phase("write"):
        figures, restricted = confidential_outputs(store, programme, typed, figures, folder)
        result.written += restricted
    with phase("compute"):
        # The bulletin first: it is rendered while the workbooks below are written.
        result.pdf_jobs.append(PdfJob(folder / "通报.pdf", "monthly.html", monthly_context(
            programme, period, counts, files, result.problems, figures,
            store.document_number(programme.id, "通报", period.name, period.year))))
    if renderer is not None:
        submit_documents(result, renderer)
    sheets = {**figures.tables, "记录数": counts, "文件": file_table(files)}
    result.workbooks = [
        (folder / "统计表.xlsx", sheets, f"{programme.title}{period.label}统计表",
         store.stretch_cache(str(folder / "统计表.xlsx")), known_rows(figures, programme)),
        (folder / "校验报告.xlsx", {"校验报告": validation_report(result.problems)},
         f"{programme.title}{period.label}校验报告", None, None)]
    return result


def known_rows(figures: Figures, programme: Programme) -> dict[str, KnownRows]:
    """The long lists of the figures made row by row from records, each row known by its record's digest
    (xlsx.KnownRows) and, for all rows alike, by the code and the settings that make its cells."""
    digests = getattr(figures.tables, "record_digests", {})
    if not digests:
        return {}
    salt = hashlib.sha256(f"{code_fingerprint()}\x1e{json.dumps(programme.config, ensure_ascii=False, sort_keys=True)}"
                          .encode()).hexdigest()
    return {sheet: KnownRows(rows, salt) for sheet, rows in digests.items()}
