"""What the resource-bound attacks measure and send: Podium's own memory, raw HTTP requests that
stop sending once Podium answers, and the lines of a space's log as the Logs API gives them."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.podium_server import PodiumServer

MiB = 1024 * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field}")


@dataclass
class MemoryGrowth:
    """How far Podium's resident memory rose above where it was when the measure began."""

    before_mib: float = 0.0
    peak_mib: float = 0.0

    @property
    def mib(self) -> float:
        return self.peak_mib - self.before_mib


@contextlib.contextmanager
def podium_memory(server: PodiumServer) -> Iterator[MemoryGrowth]:
    """Measures the peak resident memory of `podium serve` during the block (the kernel's high-water
    mark, reset as the block begins), against its resident memory before."""
    assert server.process is not None
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    growth = MemoryGrowth(before_mib=_status_kib(pid, "VmRSS") / 1024)
    yield growth
    growth.peak_mib = _status_kib(pid, "VmHWM") / 1024


@dataclass
class Answer:
    status: int
    body: bytes
    sent: int  # bytes of the request body sent before Podium answered (or stopped reading)
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


def send_until_answered(
    server: PodiumServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Iterable[bytes],
    *,
    length: int | None = None,
    timeout: float = 60,
) -> Answer:
    """Send a request as an attacker does, chunked (no Content-Length) unless `length` is given, and
    stop sending as soon as Podium answers or stops reading. Goes only to the server on 127.0.0.1."""
    started = time.monotonic()
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for chunk in body:
                if select.select([sock], [], [], 0)[0] or time.monotonic() - started > timeout:
                    break  # an answer came (or the server closed): an attacker learns nothing by sending on
                sock.settimeout(5)
                sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                if length is None:
                    sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # Podium stopped reading
        sock.settimeout(timeout)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):
                answer += data
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 "), f"no HTTP answer after {sent} bytes: {answer[:200]!r}"
    status = int(head_part.split()[1])
    if b"transfer-encoding: chunked" in head_part.lower():
        rest = _dechunk(rest)
    return Answer(status, rest, sent, time.monotonic() - started)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def zeros(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    block = bytes(chunk)
    for _ in range(total // chunk):
        yield block


def multipart(
    boundary: str, fields: dict[str, str], file_name: str, file_chunks: Iterable[bytes], file_field: str = "files"
) -> Iterator[bytes]:
    """A multipart/form-data body, streamed: the fields in order, then one file."""
    for name, value in fields.items():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from file_chunks
    yield f"\r\n--{boundary}--\r\n".encode()


def log_lines(server: PodiumServer, space_id: str, kind: str = "run", quiet_s: float = 1.0) -> list[str]:
    """The lines the Logs API sends at once for a space's build or run log (its tail), as a reader of
    the Logs page gets them."""
    lines: list[str] = []
    timeout = httpx.Timeout(30, read=quiet_s)
    until = time.monotonic() + 30  # a log that never pauses
    with (
        contextlib.suppress(httpx.ReadTimeout),
        httpx.stream(
            "GET",
            f"{server.url}/api/spaces/{space_id}/logs/{kind}",
            timeout=timeout,
            headers={"Authorization": f"Bearer {server.token}"},
        ) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                lines.append(json.loads(line[len("data: ") :])["data"].removesuffix("\n"))
            if time.monotonic() > until:
                break
    return lines


def wait_for_line(server: PodiumServer, space_id: str, text: str, timeout: float, kind: str = "run") -> list[str]:
    """The log's tail once a line holding `text` is in it."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log_lines(server, space_id, kind)
        if any(text in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(1)
