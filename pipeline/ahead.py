"""Reading ahead: when a run finds that something changed, the first new inbox file is read
(python-calamine only, pipeline.sheets) in a process of its own, started before the run imports
pandas and pandera. Those imports take the run's first ~0.4 s on one core; reading a 10,000-card
workbook takes about as long, and would otherwise wait for them in the reader. The reader given that
file later (pipeline.ingest) takes its sheets from here instead of reading the file again; should
they not come (the process died, or the file changed since), it reads the file itself, as always.

Python's own library only (and python-calamine): this module is imported before pandas is.
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.inbox_files import fingerprint, list_files
from pipeline.processes import die_with_parent, limit_address_space, start_forked
from pipeline.sheets import UnreadableFile, sheets_of

# The receiving end of the process reading ahead, while a run has one; readers forked later inherit
# it (pipeline.ingest: the reader given the run's first new file asks `read_ahead`).
_RECEIVING: list = []
_OFFERED: list[bool] = []


@contextmanager
def reading_ahead(folders: list[tuple[Path, frozenset[str]]]):
    """While the block runs, a process reads the first new file of the first of `folders` that has
    one: a folder with the content hashes of the files the store has read from it with its programme's
    reader (Store.read_hashes; a file whose hash is not among them is new, as ingest finds too)."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    process = start_forked(_read_ahead, (sending, os.getpid(), folders))
    sending.close()
    _RECEIVING[:], _OFFERED[:] = [receiving], [False]
    try:
        yield
    finally:
        _RECEIVING.clear()
        _OFFERED.clear()
        receiving.close()
        process.kill()
        process.join()


def offered() -> bool:
    """True once, for the first file a run gives a reader, when a process is reading ahead: the reader
    of that file is to ask `read_ahead` for it."""
    if _OFFERED and not _OFFERED[0]:
        _OFFERED[0] = True
        return True
    return False


def read_ahead(path: Path, sha256: str) -> tuple[list | UnreadableFile, float] | None:
    """In the reader of the run's first new file: its sheets as read ahead (or the UnreadableFile it
    gave) and the seconds reading took; None when that process read another file or content, or
    died first (the reader then reads the file itself). Waits for the reading to be done."""
    if not _RECEIVING:
        return None
    try:
        found = _RECEIVING[0].recv()
    except (EOFError, OSError):
        return None
    read_path, read_sha256, outcome, seconds = found
    if read_path != path or read_sha256 != sha256:
        return None
    return outcome, seconds


def first_new_file(folders: list[tuple[Path, frozenset[str]]]):
    """The first file (InboxFile) not yet read of the first folder that has one; None if none has.
    A link is new like any file, but is never read: None when it comes first."""
    for folder, read in folders:
        for path in list_files(folder) if folder.is_dir() else []:
            identity = fingerprint(path, folder)
            if identity.sha256 not in read:
                return None if path.is_symlink() else identity
    return None


def _read_ahead(sending, parent: int, folders: list[tuple[Path, frozenset[str]]]) -> None:
    """The process reading ahead: finds the first new file, reads it, sends (path, sha256, sheets or
    UnreadableFile, seconds), and leaves. A file that takes all its memory or meets a bug ends it
    without a word: the reader then reads the file itself, and reports what it meets."""
    try:
        die_with_parent(parent)
        limit_address_space()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)    # a parser's own dying words are not for clerks
        faulthandler.disable()
        identity = first_new_file(folders)
        if identity is None:
            return
        start = time.perf_counter()
        try:
            outcome = sheets_of(identity.content, identity.path)
        except UnreadableFile as error:
            outcome = error
        sending.send((identity.path, identity.sha256, outcome, time.perf_counter() - start))
    except BaseException:
        pass
    finally:
        os._exit(0)
