"""The files backend: a static space's checked-out files over HTTP, served from the caller's own process.

Static spaces run no code, so they need no environment, no sandbox and no process of their own (as on
Hugging Face, where a static space is RUNNING as soon as its commit lands, never sleeps and cannot be
paused). Each instance is a small HTTP server in the caller's event loop on a loopback port, so the
platform reaches it like any other instance: the proxy (its headers, CSP, custom headers), health
checks, the zero-downtime switch and drain. Starlette's StaticFiles reads only inside the checkout:
symlinks are resolved and what lands outside is refused (`_CheckoutFiles`), and it answers GET and HEAD
only. A space's files are served at the root; the proxy strips the prefix they are published under
(`Static` recipe).

Small files are read on the event loop, as nginx reads them (no aio by default): StaticFiles hands every
lookup, open, read and close to a worker thread, and those four hops, each waiting for the GIL behind the
busy loop, cost a static space three quarters of its rate through `podium serve` (benchmarks/proxy.py:
911 against 3,835 requests/s). A checkout is local disk written by Podium alone, so a lookup and a read
of at most `_SMALL_FILE` bytes take microseconds; larger files, ranges, misses and redirects take
StaticFiles' own threaded path.

Nothing outlives the caller: after its restart `adopt` finds nothing and the space is served again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.datastructures import Headers
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from podium_runner.backend import Backend, Environment, Exit, Instance, LogSink, StartError
from podium_runner.plan import BuildPlan, RunContext

# Files up to this size are read whole on the event loop (see the module docstring).
_SMALL_FILE = 64 * 1024
# Deeper paths take StaticFiles' threaded lookup: a hostile checkout's deep tree would hold the event loop
# for an lstat per level.
_PLAIN_DEPTH = 16
# A file that cannot block an open (a FIFO, say) nor be reached through a link swapped in after the lookup.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class _CheckoutFiles(StaticFiles):
    """StaticFiles, with a cheaper proof that a path stays inside the checkout, and small files answered
    without a worker thread.

    StaticFiles resolves the whole path and the checkout's own (`realpath`: an lstat for every folder from
    /, four resolutions for a space's front page) on every request: about 37% of a static space's CPU
    through `podium serve`. A path of plain names (no '..', none of them a symlink, at most
    `_PLAIN_DEPTH` deep) is inside the checkout as it stands, which an lstat per name shows; any other path
    gets StaticFiles' own check, in its worker thread."""

    def __init__(self, directory: Path):
        super().__init__(directory=directory, html=True)
        self._root = os.path.realpath(directory)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        return self._plain_lookup(path) or super().lookup_path(path)  # it refuses links that lead out

    def _plain_lookup(self, path: str) -> tuple[str, os.stat_result | None] | None:
        """(full path, lstat) of a path of plain names, ("", None) when nothing is there; None for a path
        that needs StaticFiles' own check."""
        names = [name for name in path.split(os.sep) if name not in ("", ".")]
        if path.startswith(("/", "\\")) or ".." in names or len(names) > _PLAIN_DEPTH:
            return None
        if not names:  # the checkout itself: its index.html is looked up next
            return self._root, os.stat(self._root)
        full_path = self._root
        for name in names:
            full_path = os.path.join(full_path, name)
            try:
                found = os.lstat(full_path)
            except (FileNotFoundError, NotADirectoryError):
                return "", None
            if stat.S_ISLNK(found.st_mode):
                return None
        return full_path, found

    async def get_response(self, path: str, scope: Scope) -> Response:
        return self._small_file(path, scope) or await super().get_response(path, scope)

    def _small_file(self, path: str, scope: Scope) -> Response | None:
        """The whole answer for a small regular file at a plain path (a folder's index.html too), read on
        the event loop; None for anything StaticFiles' own path must answer."""
        if scope["method"] not in ("GET", "HEAD") or Headers(scope=scope).get("range") is not None:
            return None
        try:
            full_path, found = self._plain_lookup(path) or ("", None)
            if found is not None and stat.S_ISDIR(found.st_mode) and scope["path"].endswith("/"):
                full_path, found = self._plain_lookup(os.path.join(path, "index.html")) or ("", None)
        except (OSError, ValueError):  # a name too long, a NUL byte: StaticFiles answers them
            return None
        if found is None or not stat.S_ISREG(found.st_mode) or found.st_size > _SMALL_FILE:
            return None  # missing, a link, a folder without its slash, large, not a file: StaticFiles says
        response = self.file_response(full_path, found, scope)
        if not isinstance(response, FileResponse):
            return response  # 304 Not Modified
        try:
            descriptor = os.open(full_path, _OPEN_FLAGS)
        except OSError:
            return None
        with os.fdopen(descriptor, "rb") as file:
            body = file.read(found.st_size + 1)
        if len(body) != found.st_size:
            return None  # changed since its lookup: the threaded path serves it as it is now
        small = Response(body, status_code=response.status_code)
        small.raw_headers = response.raw_headers  # FileResponse's type, length, ETag, Last-Modified
        return small


class _FilesOnly:
    """StaticFiles for HTTP; a WebSocket is closed, since a static space has none."""

    def __init__(self, files: StaticFiles):
        # StaticFiles raises its 404 and 405 (a missing file, a symlink out of the checkout, a POST):
        # the middleware answers them, where they would otherwise reach uvicorn as a 500.
        self.files = ExceptionMiddleware(files)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "a static space serves files only"})
            return
        await self.files(scope, receive, send)


class _Server(uvicorn.Server):
    """uvicorn inside a caller that owns the process's signals (`podium serve`, `podium run`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # uvicorn would otherwise take over SIGINT and SIGTERM from the caller's own server


@dataclass
class _Serving:
    server: _Server
    task: asyncio.Task[None]


class FilesBackend(Backend):
    name = "files"

    def __init__(self) -> None:
        self._serving: dict[str, _Serving] = {}

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        return Environment(backend=self.name, key="files", location="", reused=True)

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        try:
            listening = socket.create_server((ctx.host, ctx.port))
        except OSError as exc:
            raise StartError(f"cannot listen on {ctx.host}:{ctx.port}: {exc.strerror}") from exc
        # Accepted connections inherit it. asyncio turns Nagle's algorithm off only on sockets it made
        # itself: without this, uvicorn's second write of a response (the body, after the headers) waited
        # for the client's delayed ACK, 40 ms, so a static space answered 23 requests/s per connection.
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        app = _FilesOnly(_CheckoutFiles(plan.space_root))
        # log_config=None: the caller's logging stays as it configured it.
        server = _Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off"))
        instance_id = f"files-{uuid.uuid4().hex[:12]}"
        self._serving[instance_id] = _Serving(server, asyncio.create_task(server.serve(sockets=[listening])))
        log(f"Serving the files of {ctx.space_id} (no process: a static space runs no code)")
        return Instance(
            backend=self.name, instance_id=instance_id, space_id=ctx.space_id, url=f"http://{ctx.host}:{ctx.port}"
        )

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        await self._stop(instance.instance_id, timeout)

    async def _stop(self, instance_id: str, timeout: float) -> None:
        serving = self._serving.pop(instance_id, None)
        if serving is None:
            return
        serving.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(serving.task), timeout)
        except TimeoutError:
            serving.server.force_exit = True
            serving.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving.task

    async def poll(self, instance: Instance) -> Exit | None:
        serving = self._serving.get(instance.instance_id)
        if serving is None:
            return Exit(code=None, reason="not served by this Podium")
        if not serving.task.done():
            return None
        failure = None if serving.task.cancelled() else serving.task.exception()
        return Exit(code=None, reason=f"its file server stopped ({failure or 'no error'})")

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        return None  # its server ended with the Podium that ran it; the space is served again

    async def close(self) -> None:
        for instance_id in list(self._serving):
            await self._stop(instance_id, timeout=5)
