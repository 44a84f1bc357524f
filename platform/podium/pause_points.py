"""Named points inside Podium's writes where a fault test may hold it still, to `kill -9` it there.

Some windows last microseconds: between writing a commit's objects and moving its branch, inside the
transaction that records a commit, between a new instance answering and traffic switching to it.
tests/reliability/test_kills.py must kill Podium exactly inside one. With `PODIUM_PAUSE_FILE` set to a
file, `pause_at(name)` reads that file's lines; when one is `name`, it logs `paused at <name>` and
blocks its thread for good (the event loop's too, when called there), so the test kills Podium inside
the window. The file is read at each point, so a test arms a point while Podium runs.

The setting is for tests only. Unset, as always outside them, `pause_at` returns at once: the code
around each point is the real one.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("podium")

PAUSED = "paused at"
_FILE = os.environ.get("PODIUM_PAUSE_FILE")


def pause_at(point: str) -> None:
    """Block here for good when a test armed `point` (see the module's docstring); else return."""
    if not _FILE:
        return
    try:
        armed = Path(_FILE).read_text().split()
    except FileNotFoundError:
        return
    if point in armed:
        log.warning("%s %s (PODIUM_PAUSE_FILE): waiting to be killed", PAUSED, point)
        threading.Event().wait()
