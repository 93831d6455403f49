"""What a run can tell without reading a file: the identities of the inbox files and of the reader,
the fingerprint of everything a programme's outputs depend on, and whether the outputs of the last
run can stand. Only Python's own library and the store's ledger: a monthly run that finds nothing
changed in any programme answers from here, without importing pandas (a tenth of the time).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from pipeline.fonts import config_file
from pipeline.inbox_files import InboxFile, fingerprint, list_files
from pipeline.problems import Problem
from pipeline.results import FileResult, ProgrammeRun
from pipeline.rules.periods import Period
from pipeline.settings import PROJ_ROOT, Programme
from pipeline.store import Store

# Raise when reading or validation changes what a file yields: every file is then read again once,
# its new rows replacing those of the earlier reading.
READER_VERSION = 3
# The modules whose code works out what is kept with each record when a preset's file is read
# (pipeline.rules.programmes.READING_DERIVATIONS; a test holds the two together): named here, not
# imported, for their code goes into the reader's identity.
READING_DERIVATION_MODULES = {"after-sales": ("pipeline.rules.after_sales",)}


def derivations_code(preset: str) -> str:
    """A hash of the code of a preset's reading derivations (their modules' source), '' when it has
    none: new code, files read again."""
    modules = READING_DERIVATION_MODULES.get(preset, ())
    if not modules:
        return ""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(importlib.util.find_spec(name).origin).read_bytes())
    return digest.hexdigest()[:12]


def reader_of(programme: Programme) -> str:
    """The reader's identity for a programme: the code's version, the settings validation depends on,
    and the code of what the preset's rules work out when a file is read."""
    settings = json.dumps(programme.config, ensure_ascii=False, sort_keys=True)
    code = derivations_code(programme.preset)
    return f"{READER_VERSION}-{hashlib.sha256(settings.encode()).hexdigest()[:12]}" + (f"-{code}" if code else "")


def inbox_files(store: Store, folder: Path, programme: Programme, reader: str
                ) -> list[tuple[Path, InboxFile, dict | None]]:
    """Each file of a programme's inbox folder, its identity, and its ledger entry when the store has
    read this content with this reader (None: a new file). Files read before are archived if the
    store has no copy yet, and keep no bytes here: only new files' bytes are kept, to be stored."""
    found = []
    for path in list_files(folder) if folder.is_dir() else []:
        identity = fingerprint(path, folder)
        known = store.seen(programme.id, identity.sha256, reader)
        if known is not None:
            if not path.is_symlink():
                store.keep_archived(identity.sha256, identity.content)
            identity = InboxFile(identity.path, identity.name, identity.sha256, identity.size)
        found.append((path, identity, known))
    return found


def known_result(identity: InboxFile, known: dict) -> FileResult:
    """The result of a file read in an earlier run: what its reading gave then."""
    return FileResult(identity.name, "已读过", known["kinds"], known["rows_accepted"], known["rows_rejected"],
                      known["problems"], sha256=identity.sha256)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the program itself (code, presets, schemas, templates, and the core fonts the documents
    are made with when they are built: pipeline.fonts): new code means new outputs."""
    digest = hashlib.sha256()
    for folder in ("pipeline", "schemas", "templates"):
        for path in sorted((PROJ_ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".toml", ".html", ".css"}:
                digest.update(path.relative_to(PROJ_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    fonts = config_file()
    digest.update(b"fonts\0" + (fonts.read_bytes() if fonts is not None else b""))
    return digest.hexdigest()


def inputs_fingerprint(store: Store, programme: Programme, period: Period, files: list[FileResult], out: Path) -> str:
    """Everything a programme's outputs for the period depend on: the code, the settings, the period,
    the inbox files as they are now, and what the store holds."""
    facts = {"code": code_fingerprint(), "config": programme.config, "period": period.name, "out": str(out),
             "files": sorted((f.name, f.sha256, f.status == "无法读取") for f in files),
             "store": store.files_state(programme.id)}
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reusable_outputs(store: Store, programme: Programme, command: str, period: Period, inputs: str
                     ) -> tuple[list[Path], list[Problem]] | None:
    """The outputs of the last run, when it had the same inputs and every file is still there unchanged."""
    found = store.outputs_of(programme.id, command, period.name)
    if found is None or found[0] != inputs:
        return None
    paths = [(Path(path), sha) for path, sha in found[1]["files"]]
    if not all(path.is_file() and file_sha256(path) == sha for path, sha in paths):
        return None
    return [path for path, _ in paths], [Problem(**p) for p in found[1]["problems"]]


def reuse_outputs(result: ProgrammeRun, store: Store, out: Path, period: Period, command: str) -> bool:
    """Work out the run's inputs fingerprint; when the last run's outputs had the same and still stand,
    take them as this run's (with their problems) and say so."""
    result.inputs = inputs_fingerprint(store, result.programme, period, result.files, out)
    reused = reusable_outputs(store, result.programme, command, period, result.inputs)
    if reused is None:
        return False
    result.written, result.derived_problems = reused
    result.other_problems = attach_problems(result.derived_problems, result.files)
    result.reused = True
    return True


def attach_problems(problems: list[Problem], files: list[FileResult]) -> list[Problem]:
    """Add each problem to the result of its file (counting its row as sent back); returns the rest."""
    by_name = {f.name: f for f in files}
    rest = []
    for problem in problems:
        owner = by_name.get(problem.file)
        if owner is None:
            rest.append(problem)
            continue
        owner.problems = owner.problems + [problem]
        owner.rejected += 1
    return rest


def unchanged_run(store: Store, inbox: Path, out: Path, programme: Programme, period: Period,
                  command: str = "monthly") -> ProgrammeRun | None:
    """The programme's run when every inbox file was read before and the last run's outputs stand
    (what run_programme would find, without importing what reading and computing need); else None."""
    found = inbox_files(store, inbox / programme.id, programme, reader_of(programme))
    if any(known is None for _, _, known in found):
        return None
    result = ProgrammeRun(programme, [known_result(identity, known) for _, identity, known in found])
    return result if reuse_outputs(result, store, out, period, command) else None
