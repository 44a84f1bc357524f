"""Readable lines from BuildKit's progress stream, without a protobuf dependency.

With `/build?version=2` the engine sends progress as `aux` messages whose `ID` is
`moby.buildkit.trace` and whose `aux` is a base64 `StatusResponse` (moby/buildkit
api/services/control/control.proto). Only a few fields matter for a build log: vertex names (the
steps), whether a vertex was cached, its error, and the log bytes its processes wrote.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from podium_runner.loglines import LineSplitter

# Field numbers from control.proto.
_STATUS_VERTEXES, _STATUS_LOGS = 1, 3
_VERTEX_DIGEST, _VERTEX_NAME, _VERTEX_CACHED, _VERTEX_COMPLETED, _VERTEX_ERROR = 1, 3, 4, 6, 7
_LOG_MSG = 4


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs of one protobuf message; nested messages stay bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            yield number, data[pos : pos + size]
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


class TraceDecoder:
    """Turns successive trace messages into log lines, each step announced once."""

    def __init__(self) -> None:
        self._announced: set[bytes] = set()
        self._output = LineSplitter()  # processes write partial lines; the unfinished end waits here
        self.errors: list[str] = []

    def lines(self, encoded: str) -> list[str]:
        out: list[str] = []
        for number, value in _fields(base64.b64decode(encoded)):
            if number == _STATUS_VERTEXES and isinstance(value, bytes):
                out += self._vertex(value)
            elif number == _STATUS_LOGS and isinstance(value, bytes):
                out += self._log(value)
        return out

    def _vertex(self, data: bytes) -> list[str]:
        vertex = {number: value for number, value in _fields(data)}
        digest, name = vertex.get(_VERTEX_DIGEST, b""), vertex.get(_VERTEX_NAME, b"")
        out = []
        if isinstance(name, bytes) and name and digest not in self._announced:
            self._announced.add(digest)  # type: ignore[arg-type]
            out.append(name.decode(errors="replace"))
        cached_key = b"cached:" + digest if isinstance(digest, bytes) else b""
        if vertex.get(_VERTEX_CACHED) and vertex.get(_VERTEX_COMPLETED) and cached_key not in self._announced:
            self._announced.add(cached_key)
            out.append(f"CACHED {name.decode(errors='replace') if isinstance(name, bytes) else ''}")
        error = vertex.get(_VERTEX_ERROR)
        if isinstance(error, bytes) and error:
            message = error.decode(errors="replace")
            if message not in self.errors:
                self.errors.append(message)
                out.append(f"ERROR {message}")
        return out

    def _log(self, data: bytes) -> list[str]:
        msg = b"".join(v for number, v in _fields(data) if number == _LOG_MSG and isinstance(v, bytes))
        return self._output.feed(msg)

    def flush(self) -> list[str]:
        return self._output.end()
