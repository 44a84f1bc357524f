"""An app's output file, followed line by line into its instance's LogTail.

The app writes straight into the file (not through a pipe to Podium), so it keeps running and logging
while its caller restarts, and `adopt` can pick the file up again where the caller left it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from pathlib import Path

from podium_runner.backend import LogTail

_POLL_S = 0.2


def last_lines(path: Path, count: int) -> list[str]:
    try:
        with path.open("rb") as file:
            return [
                line.decode(errors="replace").rstrip("\r\n") for line in collections.deque(file, maxlen=count)
            ]
    except OSError:
        return []


async def follow(path: Path, tail: LogTail, finished: Callable[[], bool], *, offset: int = 0) -> None:
    """Forward complete lines appended to `path` from `offset` on, until `finished()` and drained."""
    pending = b""
    with path.open("rb") as file:
        file.seek(offset)
        while True:
            done = finished()  # read before draining, so lines written just before the exit still come
            chunk = file.read()
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    tail(line.decode(errors="replace").rstrip("\r"))
            elif done:
                if pending:
                    tail(pending.decode(errors="replace"))
                return
            else:
                await asyncio.sleep(_POLL_S)
