"""The files of a programme's inbox folder and their identities, without reading what is in them:
enough for a run to find that nothing changed (pipeline.reuse), so no library beyond Python's own."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".csv"}
SKIPPED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


@dataclass(frozen=True)
class InboxFile:
    """A file found in a programme's inbox folder."""

    path: Path
    name: str          # path relative to the programme folder, as the clerk knows it
    sha256: str
    size: int
    content: bytes = field(default=b"", repr=False, compare=False)   # the bytes hashed, to archive


def is_skipped(path: Path) -> bool:
    """Excel's ~$ lock files, hidden and system files are passed over silently."""
    name = path.name
    return name.startswith("~$") or name.startswith(".") or name.lower() in SKIPPED_NAMES


def list_files(folder: Path) -> list[Path]:
    """The workbooks and CSV files under a programme folder, in a stable order; sub-folders included.
    Links (to files or folders) are listed, never followed: the caller reports them."""
    found = []
    for path in sorted(_walk(folder)):
        if is_skipped(path):
            continue
        if path.is_symlink() or (path.suffix.lower() in EXTENSIONS and path.is_file()):
            found.append(path)
    return found


def _walk(folder: Path):
    """Every entry under `folder`, not descending into hidden folders or links to folders (a link
    to a folder is itself yielded, so that it is reported)."""
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            yield entry
        elif entry.is_dir():
            if not entry.name.startswith((".", "~$")):
                yield from _walk(entry)
        else:
            yield entry


def fingerprint(path: Path, folder: Path) -> InboxFile:
    """The file's identity for the ledger: its content hash and size (of a link: of where it points,
    never of what it points to)."""
    data = str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
    return InboxFile(path=path, name=path.relative_to(folder).as_posix(),
                     sha256=hashlib.sha256(data).hexdigest(), size=len(data), content=data)
