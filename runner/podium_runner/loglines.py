"""Log lines of bounded length, read from output that may never end a line.

A space's app or build can print hundreds of megabytes without a newline. Podium reads that output,
so whatever it holds of an unfinished line is Podium's memory, outside the space's cgroup. Every
reader of a space's output splits it with `LineSplitter`, which holds at most `MAX_LINE_BYTES` of a
line: a longer line reaches the log as its first `MAX_LINE_BYTES` and `CUT_MARKER`, the rest up to
its newline is dropped. A reader of the Logs page sees how the line began and that it was cut, and
the lines around it stay in the tail instead of being pushed out by thousands of fragments (the app's
own log file keeps every byte).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

MAX_LINE_BYTES = 8 * 1024
CUT_MARKER = f" … [line cut: longer than {MAX_LINE_BYTES // 1024} KiB]"
READ_BYTES = 64 * 1024  # what a reader asks its stream for at a time


def _text(raw: bytes | bytearray) -> str:
    return raw.decode(errors="replace").rstrip("\r")


def cap(line: str, limit: int = MAX_LINE_BYTES) -> str:
    """`line` cut to `limit` bytes of UTF-8 with `CUT_MARKER`, for lines that arrive as text."""
    if len(line) <= limit // 4:  # no UTF-8 character takes more than 4 bytes
        return line
    encoded = line.encode(errors="replace")
    if len(encoded) <= limit:
        return line
    return encoded[:limit].decode(errors="ignore") + CUT_MARKER


class LineSplitter:
    """Bytes in, in chunks of any size; complete lines out, none longer than `limit` bytes."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self._pending = bytearray()
        self._cutting = False  # dropping the rest of a line already sent cut

    def feed(self, chunk: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while start < len(chunk):
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline < 0 else newline
            if not self._cutting:
                room = self.limit - len(self._pending)
                self._pending += chunk[start : min(end, start + room + 1)]  # one byte past: the line is too long
                if len(self._pending) > self.limit:
                    lines.append(_text(self._pending[: self.limit]) + CUT_MARKER)
                    self._pending.clear()
                    self._cutting = True
            if newline < 0:
                break
            if not self._cutting:
                lines.append(_text(self._pending))
                self._pending.clear()
            self._cutting = False
            start = newline + 1
        return lines

    def end(self) -> list[str]:
        """The unfinished last line, when the stream has ended."""
        rest = [] if self._cutting or not self._pending else [_text(self._pending)]
        self._pending.clear()
        self._cutting = False
        return rest


async def read_lines(stream: asyncio.StreamReader, sink: Callable[[str], None]) -> None:
    """Every line of `stream` to `sink` until its end, in bounded memory (never `readline`)."""
    splitter = LineSplitter()
    while chunk := await stream.read(READ_BYTES):
        for line in splitter.feed(chunk):
            sink(line)
    for line in splitter.end():
        sink(line)
