"""Annotated copies (退回/): the clerk's own file with each bad cell marked, made as jobs in the
renderer's worker processes beside the PDFs.

Python's own library and light modules only (no pandas): the renderer's process starts before the run
imports pandas, and takes a CopyJob in by unpickling it. Defined beside the run's figures, a job made
that process import pandas and pandera first (~0.35 s), and the bulletin handed over after it waited
as long. The openpyxl fallback is imported only when a copy needs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.annotate import annotated_package, problem_notes
from pipeline.outputs import write_atomically
from pipeline.problems import Problem
from pipeline.sheets import UnreadableFile, check_package


def returned_name(name: str) -> str:
    """The annotated copy's name: the clerk's own, as .xlsx unless it is an .xlsm."""
    path = Path(name)
    return path.as_posix() if path.suffix.lower() in {".xlsx", ".xlsm"} else path.with_suffix(".xlsx").as_posix()


def annotated_copy(path: Path, problems: list) -> bytes:
    """The annotated copy of an inbox file: an .xlsx/.xlsm by editing its XML where it can be
    (pipeline.annotate), else through openpyxl; raises UnreadableFile when it cannot be read."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        data = path.read_bytes()
        if data.startswith(b"PK"):
            check_package(data)
            made = annotated_package(data, problem_notes(problems))     # it passes over unknown sheets
            if made is not None:
                return made
    from pipeline.inbox import editable_copy
    from pipeline.workbooks import annotated_bytes

    return annotated_bytes(editable_copy(path), problems)


@dataclass(frozen=True)
class CopyJob:
    """An annotated copy to make (in a worker process, beside the PDFs): the clerk's file, where the
    copy goes, the problems to mark, and the fingerprint it is made from."""

    source: Path
    path: Path
    problems: tuple[Problem, ...]
    inputs: str

    def make(self) -> Path | None:
        try:
            made = annotated_copy(self.source, list(self.problems))
        except (UnreadableFile, OSError):
            return None
        return write_atomically(self.path, made)
