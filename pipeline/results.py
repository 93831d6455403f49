"""What a run did: for each inbox file (FileResult) and each programme (ProgrammeRun). Plain records,
with no library beyond Python's own, so that a run that finds nothing changed can report it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.problems import ERROR, Problem
from pipeline.settings import Programme
from pipeline.store import Change

if TYPE_CHECKING:
    from pipeline.documents.render import PdfJob
    from pipeline.copies import CopyJob


@dataclass
class FileResult:
    """What became of one inbox file in this run."""

    name: str
    status: str                       # 新读入 / 已读过 / 无法读取
    kinds: list[str]
    accepted: int
    rejected: int
    problems: list[Problem]
    change: Change = field(default_factory=Change)
    sha256: str = ""



@dataclass
class ProgrammeRun:
    """What a run did for one programme."""

    programme: Programme
    files: list[FileResult]
    written: list[Path] = field(default_factory=list)
    # PDFs still to render, and annotated copies still to make: handed to the run's Renderer, which
    # makes them in worker processes while the run goes on (render_documents waits for them).
    pdf_jobs: list[PdfJob] = field(default_factory=list)
    copy_jobs: list["CopyJob"] = field(default_factory=list)
    submitted: list[tuple[object, int]] = field(default_factory=list)    # (job, the Renderer's ticket)
    # Workbooks still to write, as write_workbook's arguments: written by render_documents once every
    # programme's PDFs are being made, so that the big workbooks' two processes overlap with them.
    workbooks: list[tuple[Path, dict, str, object, dict | None]] = field(default_factory=list)
    # The content hashes of outputs hashed as soon as written (its workbooks, while the PDFs are still
    # being made), for the record of what the run wrote (remember_outputs hashes the others at the end).
    digests: dict[Path, str] = field(default_factory=dict)
    returned_folder: Path | None = None    # its 退回/ folder, cleared of stale copies once they are made
    # Problems of no file now in the inbox: programme notices, records kept from files since removed.
    other_problems: list[Problem] = field(default_factory=list)
    # Problems found over the stored records (roster references), for a rerun that reuses the outputs.
    derived_problems: list[Problem] = field(default_factory=list)
    inputs: str = ""          # fingerprint of what the outputs depend on
    reused: bool = False      # nothing changed: the outputs of the last run stand

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems] + self.other_problems

    @property
    def has_errors(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)
