"""The connection to the Docker engine, and the one place engine faults become `BackendUnavailable`.

docker-py is synchronous; every call runs in a worker thread so the platform's event loop never
waits on the engine. docker-py cannot ask for BuildKit (docker/docker-py#2230), but the Engine API's
`/build?version=2` can, so builds go through the low-level API and stream their log line by line.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import docker
import docker.errors
import requests
import urllib3.exceptions

from podium_runner.backend import BackendUnavailable, BuildError, LogSink
from podium_runner.docker.buildkit import TraceDecoder
from podium_runner.loglines import cap

T = TypeVar("T")
# BuildKit answers on the Engine API from 1.39 (Docker 18.09) on.
_BUILDKIT_API = (1, 39)


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, docker.errors.APIError):
        return False  # the engine answered, with an error of its own
    # An engine that stops in the middle of a streamed answer (a build's log) breaks the stream itself.
    broken_stream = (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)
    return isinstance(exc, (docker.errors.DockerException, requests.ConnectionError, ConnectionError, *broken_stream))


class Engine:
    """A lazily opened docker-py client for `base_url` (None: DOCKER_HOST or the default socket)."""

    def __init__(self, base_url: str | None = None):
        self.base_url = base_url
        self._client: docker.DockerClient | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def where(self) -> str:
        return self.base_url or "the default socket (DOCKER_HOST or /var/run/docker.sock)"

    def unavailable(self, exc: BaseException) -> BackendUnavailable:
        return BackendUnavailable(
            f"the Docker engine at {self.where} does not answer ({type(exc).__name__}: {exc}). "
            f"Start dockerd (or set PODIUM_DOCKER_HOST to a running engine); Podium retries when it is back."
        )

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = (
                    docker.DockerClient(base_url=self.base_url, timeout=120)
                    if self.base_url
                    else docker.from_env(timeout=120)
                )
            except docker.errors.DockerException as exc:
                raise self.unavailable(exc) from exc
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn` (which uses `self.client`) in this thread, translating a dead engine."""
        try:
            return fn(*args, **kwargs)
        except BackendUnavailable:
            raise
        except Exception as exc:
            if _is_unreachable(exc):
                raise self.unavailable(exc) from exc
            raise

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`sync` in a worker thread."""
        return await asyncio.to_thread(functools.partial(self.sync, fn, *args, **kwargs))

    async def run_or_undo(self, fn: Callable[[], T], undo: Callable[[T | None], Awaitable[None]]) -> T:
        """`run(fn)` where `fn` makes something that runs (a container): a caller cancelled meanwhile cannot
        stop the thread, which goes on and makes it, for nobody. So then `undo` gets what `fn` made (None when
        it failed) once it ends, and the cancellation goes on."""
        work = asyncio.ensure_future(self.run(fn))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            work.add_done_callback(functools.partial(self._undo_when_done, undo))
            raise

    def _undo_when_done(self, undo: Callable[[Any], Awaitable[None]], work: asyncio.Future[Any]) -> None:
        if work.cancelled():  # the event loop is closing: Podium's next start stops what was left (recovery)
            return
        self.in_background(undo(None if work.exception() is not None else work.result()))

    def in_background(self, job: Awaitable[None]) -> None:
        """Run `job` to its end whatever becomes of its caller (the clean-up of a cancelled start)."""
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def supports_buildkit(self) -> bool:
        version = self.sync(lambda: self.client.version()).get("ApiVersion", "0.0")
        return tuple(int(part) for part in version.split(".")[:2]) >= _BUILDKIT_API

    def image_exists(self, tag: str) -> bool:
        def lookup() -> bool:
            try:
                self.client.images.get(tag)
                return True
            except docker.errors.ImageNotFound:
                return False

        return self.sync(lookup)

    def build(
        self,
        context: bytes,
        tag: str,
        log: LogSink,
        *,
        buildkit: bool,
        what: str,
        labels: dict[str, str] | None = None,
        dockerfile: str = "Dockerfile",
    ) -> str:
        """Build `context` (a GNU tar) as `tag`, streaming the log to `log`. Returns the image id.

        Raises `BuildError` with the last lines of the log when the build fails."""
        return self.sync(self._build, context, tag, log, buildkit, what, labels or {}, dockerfile)

    def _build(
        self, context: bytes, tag: str, log: LogSink, buildkit: bool, what: str, labels: dict[str, str], dockerfile: str
    ) -> str:
        api = self.client.api
        params = {"t": tag, "rm": 1, "forcerm": 1, "labels": json.dumps(labels), "dockerfile": dockerfile}
        if buildkit:
            params["version"] = "2"
        response = api._post(
            api._url("/build"),
            params=params,
            data=context,
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=None,
        )
        if response.status_code >= 400:
            raise BuildError(f"{what}: the Docker engine refused the build: {response.text.strip()}")
        decoder = TraceDecoder()
        tail: list[str] = []
        image_id = ""

        def emit(line: str) -> None:
            line = cap(line)
            tail.append(line)
            del tail[:-40]
            log(line)

        for chunk in api._stream_helper(response, decode=True):
            if "stream" in chunk:
                for line in chunk["stream"].rstrip("\n").split("\n"):
                    emit(line.rstrip("\r"))
            aux = chunk.get("aux")
            if chunk.get("id") == "moby.buildkit.trace" and isinstance(aux, str):
                for line in decoder.lines(aux):
                    emit(line)
            elif isinstance(aux, dict) and "ID" in aux:
                image_id = aux["ID"]
            if "error" in chunk:
                for line in decoder.flush():
                    emit(line)
                raise BuildError(f"{what}: the image build failed: {chunk['error'].strip()}", tail=tail[-20:])
        for line in decoder.flush():
            emit(line)
        if not image_id:
            image_id = self.client.images.get(tag).id
        return image_id
