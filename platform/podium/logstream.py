"""A space's build or run log: a tail kept in memory plus live followers (the SSE endpoints)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

TAIL_LINES = 1000


@dataclass(frozen=True)
class LogLine:
    text: str
    timestamp: str  # ISO 8601 in UTC, as Hugging Face sends it


class LogStream:
    """Lines in order; `follow` yields the tail, then new lines until `close` (or forever when open)."""

    def __init__(self) -> None:
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=TAIL_LINES)
        self._followers: set[asyncio.Queue[LogLine | None]] = set()
        self._loop = asyncio.get_running_loop()

    def __call__(self, line: str) -> None:
        """The `LogSink` a backend writes to; safe to call from another thread."""
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry = LogLine(line.rstrip("\n"), stamp)
        self.lines.append(entry)
        self._publish(entry)

    def restart(self) -> None:
        """A new build begins: followers of the last one end, and the tail starts empty."""
        self.close()
        self.lines.clear()

    def close(self) -> None:
        """Ends the current followers' streams (a build finished); the tail stays."""
        self._publish(None)

    def _publish(self, item: LogLine | None) -> None:
        for queue in list(self._followers):
            self._loop.call_soon_threadsafe(queue.put_nowait, item)

    def last(self, count: int = 20) -> list[str]:
        return [line.text for line in list(self.lines)[-count:]]

    async def follow(self, live: bool, keepalive_s: float = 15.0) -> AsyncIterator[list[LogLine]]:
        """The tail as one batch, then (when `live`) new lines as they come; an empty batch after
        every `keepalive_s` of silence."""
        queue: asyncio.Queue[LogLine | None] = asyncio.Queue()
        tail = list(self.lines)  # taken with the queue's registration, no await between: no gap, no repeat
        self._followers.add(queue)
        try:
            yield tail
            while live:
                try:
                    item = await asyncio.wait_for(queue.get(), keepalive_s)
                except TimeoutError:
                    yield []
                    continue
                if item is None:
                    return
                yield [item]
        finally:
            self._followers.discard(queue)
