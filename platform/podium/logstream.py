"""A space's build or run log: a tail kept in memory plus live followers (the SSE endpoints).

Given a file, the stream also keeps its lines there as they arrive, one JSON object a line in the
shape the API sends (`{"data": ..., "timestamp": ...}`), and starts from that file's tail, so a log
outlives a restart of `podium serve` with its timestamps. The file stays small: a new build starts it
anew, and once `REWRITE_AFTER_BYTES` were appended it is rewritten to hold just the tail.

A follower starts with at most `FOLLOWER_TAIL_BYTES` of the tail, and has at most
`FOLLOWER_QUEUE_LINES` lines or `FOLLOWER_QUEUE_BYTES` waiting for it. One that falls further behind
(a client that stops reading while the app logs on) is dropped: its stream ends with a line that says
so, instead of Podium keeping every line for it. A thousand readers that never read cost megabytes.

A file that cannot be written (a full disk) costs the file only: lines go on into the tail and to the
followers, and the file becomes the tail again once it can be written (tried every `RETRY_UNSAVED_S`).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import errno
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("podium")

TAIL_LINES = 1000
RETRY_UNSAVED_S = 5.0
REWRITE_AFTER_BYTES = 1024 * 1024
FOLLOWER_QUEUE_LINES = 500
FOLLOWER_QUEUE_BYTES = 64 * 1024
FOLLOWER_TAIL_BYTES = 256 * 1024  # the tail is one chunk to send: lines cut at 8 KiB make 1000 of them 8 MiB
FELL_BEHIND = (
    f"[Podium: this reader fell behind the log by more than {FOLLOWER_QUEUE_LINES} lines or "
    f"{FOLLOWER_QUEUE_BYTES // 1024} KiB and was dropped; connect again to read on]"
)
_DROPPED = object()  # in a follower's queue: it fell behind


@dataclass(frozen=True)
class LogLine:
    text: str
    timestamp: str  # ISO 8601 in UTC, as Hugging Face sends it


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(line: LogLine) -> bytes:
    return json.dumps({"data": line.text, "timestamp": line.timestamp}, ensure_ascii=False).encode() + b"\n"


def _latest(lines: Iterable[LogLine], size: int) -> list[LogLine]:
    """The last of `lines` whose texts hold at most `size` characters together."""
    latest: list[LogLine] = []
    for line in reversed(list(lines)):
        size -= len(line.text)
        if size < 0:
            break
        latest.append(line)
    return latest[::-1]


def _read(path: Path) -> Iterable[LogLine]:
    try:
        with path.open("rb") as file:
            for raw in file:
                try:
                    record = json.loads(raw)
                    yield LogLine(record["data"], record["timestamp"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short when the machine went down
    except FileNotFoundError:
        return


class LogStream:
    """Lines in order; `follow` yields the tail, then new lines until `close` (or forever when open)."""

    def __init__(self, path: Path | None = None) -> None:
        self.lines: collections.deque[LogLine] = collections.deque(_read(path) if path else (), maxlen=TAIL_LINES)
        self.path = path
        self._file: int | None = None  # opened on the first line written
        self._size = path.stat().st_size if path and path.exists() else 0
        self._size_after_rewrite = 0
        self._unsaved_since: float | None = None  # when writing the file last failed; None: it holds every line
        self._lock = threading.Lock()  # lines may come from another thread
        # Each live reader's queue, and the characters of the lines waiting in it.
        self._followers: dict[asyncio.Queue[LogLine | object | None], int] = {}
        self._loop = asyncio.get_running_loop()

    def __call__(self, line: str) -> None:
        """The `LogSink` a backend writes to; safe to call from another thread."""
        entry = LogLine(line.rstrip("\n"), _now())
        with self._lock:
            self.lines.append(entry)
            self._keep(entry)
        self._publish(entry)

    def _keep(self, entry: LogLine) -> None:
        """Write `entry` to the file; where that fails, the file waits to be rewritten from the tail."""
        if self.path is None:
            return
        try:
            if self._unsaved_since is None:
                self._store(entry)
            elif time.monotonic() - self._unsaved_since > RETRY_UNSAVED_S:
                self._rewrite()
                self._unsaved_since = None
                log.info("%s: written again (it had missed lines while it could not be written)", self.path)
        except OSError as exc:
            if self._unsaved_since is None:
                log.warning("%s: cannot be written (%s); its lines are kept in memory meanwhile", self.path, exc)
            self._unsaved_since = time.monotonic()
            self._close_file()

    def _store(self, entry: LogLine) -> None:
        assert self.path is not None
        if self._size - self._size_after_rewrite > REWRITE_AFTER_BYTES:
            self._rewrite()
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            if self._size and os.pread(self._file, 1, self._size - 1) != b"\n":
                self._size += os.write(self._file, b"\n")  # end a record cut short by a crash
        record = _record(entry)
        written = os.write(self._file, record)
        self._size += written
        if written < len(record):
            raise OSError(errno.ENOSPC, "the log line was written in part")

    def _rewrite(self) -> None:
        """The file becomes the tail, atomically: a reader (or a crash) sees the old file or the new."""
        assert self.path is not None
        staged = self.path.with_name(self.path.name + ".new")
        content = b"".join(map(_record, self.lines))
        try:
            staged.write_bytes(content)
            os.replace(staged, self.path)
        except OSError:
            staged.unlink(missing_ok=True)
            raise
        self._close_file()
        self._size = self._size_after_rewrite = len(content)

    def _close_file(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    def restart(self) -> None:
        """A new build begins: followers of the last one end, and the tail (and its file) start empty."""
        self.close()
        with self._lock:
            self.lines.clear()
            self._close_file()
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            self._size = self._size_after_rewrite = 0

    def close(self) -> None:
        """Ends the current followers' streams (a build finished); the tail stays."""
        self._publish(None)

    def release(self) -> None:
        """The space is gone: followers end and the file is closed (its folder is the caller's to remove)."""
        self.close()
        with self._lock:
            self._close_file()

    def _publish(self, item: LogLine | None) -> None:
        for queue in list(self._followers):
            self._loop.call_soon_threadsafe(self._offer, queue, item)

    def _offer(self, queue: asyncio.Queue[LogLine | object | None], item: LogLine | None) -> None:
        """In the event loop: `item` to a follower that keeps up, the end to one that fell behind."""
        if queue not in self._followers:
            return  # dropped after this item was published
        if item is not None:
            waiting = self._followers[queue] + len(item.text)
            if queue.qsize() >= FOLLOWER_QUEUE_LINES or waiting > FOLLOWER_QUEUE_BYTES:
                del self._followers[queue]
                queue.put_nowait(_DROPPED)
                return
            self._followers[queue] = waiting
        queue.put_nowait(item)

    def last(self, count: int = 20) -> list[str]:
        return [line.text for line in list(self.lines)[-count:]]

    async def follow(self, live: bool, keepalive_s: float = 15.0) -> AsyncIterator[list[LogLine]]:
        """The tail as one batch, then (when `live`) new lines as they come; an empty batch after
        every `keepalive_s` of silence."""
        queue: asyncio.Queue[LogLine | object | None] = asyncio.Queue()  # bounded by `_offer`
        tail = _latest(self.lines, FOLLOWER_TAIL_BYTES)  # taken as the queue registers, no await: no gap, no repeat
        self._followers[queue] = 0
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
                if item is _DROPPED:
                    yield [LogLine(FELL_BEHIND, _now())]
                    return
                assert isinstance(item, LogLine)
                if queue in self._followers:
                    self._followers[queue] -= len(item.text)
                yield [item]
        finally:
            self._followers.pop(queue, None)
