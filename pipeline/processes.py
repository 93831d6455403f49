"""Forked workers: started without their inherited objects being walked again, dying with the run."""
from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import resource
import signal
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1
CHILD_EXTRA_MEMORY = 6 << 30      # address space a reading child may add to what it inherits


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this child when the run that forked it dies (Linux prctl PR_SET_PDEATHSIG),
    so that a killed run leaves no worker behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:     # the parent died before the request took effect
        os._exit(1)


@contextmanager
def frozen_heap():
    """Fork inside this block: the objects the parent has are moved out of the garbage collector's
    sight first (gc.freeze), so that a forked child's collections do not walk, and so copy page by
    page, the parent's whole heap; the parent's collector is given them back afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def start_forked(target, args: tuple) -> multiprocessing.Process:
    """A started child process, forked, running target(*args)."""
    process = multiprocessing.get_context("fork").Process(target=target, args=args)
    with frozen_heap():
        process.start()
    return process


def address_space() -> int:
    """The bytes of address space this process has mapped now."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def limit_address_space(extra: int = CHILD_EXTRA_MEMORY) -> int:
    """Let this (reading) child map at most `extra` bytes more than it has now, so that a file that
    makes a parser take all memory ends the child with a MemoryError, not the machine; returns what
    it has now."""
    start = address_space()
    resource.setrlimit(resource.RLIMIT_AS, (start + extra, start + extra))
    return start
