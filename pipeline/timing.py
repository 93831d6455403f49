"""Where a run spends its time: phases (read, validate, store, compute, write, render) add up their
seconds here, for the benchmark's split. Costs nothing worth measuring when nobody asks."""
from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

SECONDS: dict[str, float] = defaultdict(float)


@contextmanager
def phase(name: str):
    """Add the time the block takes to the phase `name`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        SECONDS[name] += time.perf_counter() - start


def taken() -> dict[str, float]:
    """The seconds per phase so far, and start again from nothing."""
    found = dict(SECONDS)
    SECONDS.clear()
    return found


def add(seconds: dict[str, float]) -> None:
    """Add seconds measured elsewhere (in a child process) to the phases."""
    for name, value in seconds.items():
        SECONDS[name] += value
