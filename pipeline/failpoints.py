"""Fault injection for the crash-safety tests: `PIPELINE_CRASH_AT=store:3` makes a run kill itself
and its worker processes (SIGKILL, as a power cut would) the 3rd time it reaches the point `store`.
Points: read (a file about to be read), store (a file's records inserted, not yet committed),
render (one PDF of the run rendered, the others not yet), output (a file written under its temporary name, not yet renamed).
Without the variable nothing happens."""
from __future__ import annotations

import os
import signal

VARIABLE = "PIPELINE_CRASH_AT"
_COUNT: dict[str, int] = {}


def reached(point: str) -> None:
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, times = wanted.partition(":")
    if name != point:
        return
    _COUNT[point] = _COUNT.get(point, 0) + 1
    if _COUNT[point] == int(times or 1):
        os.killpg(os.getpgrp(), signal.SIGKILL)
