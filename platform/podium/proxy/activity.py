"""Telling the sleep timer that a space is in use, without calling it for every chunk."""

from __future__ import annotations

import time
from collections.abc import Callable

# A space sleeps after minutes of quiet at the least, so half a minute of resolution is plenty.
ACTIVITY_INTERVAL_S = 30.0


class Activity:
    """Calls `record` now, and again from `touch()` once `interval_s` has passed since the last call."""

    __slots__ = ("_record", "_interval_s", "_last")

    def __init__(self, record: Callable[[], None] | None, interval_s: float = ACTIVITY_INTERVAL_S) -> None:
        self._record = record
        self._interval_s = interval_s
        self._last = time.monotonic()
        if record is not None:
            record()

    def touch(self) -> None:
        if self._record is None:
            return
        now = time.monotonic()
        if now - self._last >= self._interval_s:
            self._last = now
            self._record()
