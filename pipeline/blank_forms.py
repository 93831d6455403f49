"""`make templates`: one blank workbook per form kind and programme, from the same schemas that validate."""
from __future__ import annotations

from pathlib import Path

from pipeline.outputs import write_atomically
from pipeline.settings import Programme
from pipeline.workbooks import blank_form_bytes
from schemas import all_kinds, allowed_values


def template_name(kind) -> str:
    return kind.title.replace("/", "、") + ".xlsx"


def write_templates(out: Path, programmes: list[Programme]) -> list[Path]:
    """data/out/templates/<programme>/<form>.xlsx for every programme and form kind; returns the paths."""
    written = []
    for programme in programmes:
        for kind in all_kinds().values():
            data = blank_form_bytes(kind, lambda field: allowed_values(field, programme.config))
            written.append(write_atomically(out / "templates" / programme.id / template_name(kind), data))
    return written
