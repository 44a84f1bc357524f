"""A Podium proxy on 127.0.0.1 in front of a real Gradio app, a real Streamlit app and a probe app.

The resolver is a dict, as simple as the platform's is not: these tests are about the proxy alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from podium.proxy import ProxyApp, Upstream
from podium_runner.process import ProcessBackend
from starlette.types import Receive, Scope, Send

from tests.proxy.proxy_harness import RunningSpace, ServerThread, SpaceRunner
from tests.support.process_spaces import shared_folders


class SpaceTable:
    """Spaces by id, and for each how many visits (requests, streams, WebSockets) began and are open now."""

    def __init__(self) -> None:
        self.upstreams: dict[str, Upstream] = {}
        self.visits: Counter[str] = Counter()
        self.open_visits: Counter[str] = Counter()

    @contextlib.contextmanager
    def _visit(self, space_id: str) -> Iterator[None]:
        self.visits[space_id] += 1
        self.open_visits[space_id] += 1
        try:
            yield
        finally:
            self.open_visits[space_id] -= 1

    def add(self, space_id: str, base_url: str, **options) -> Upstream:
        upstream = Upstream(
            base_url, prefix=f"/apps/{space_id}", visit=functools.partial(self._visit, space_id), **options
        )
        self.upstreams[space_id] = upstream
        return upstream

    async def resolve(self, owner: str, name: str, scope: Scope) -> Upstream | None:
        return self.upstreams.get(f"{owner}/{name}")


class ProbeApp:
    """An app that reports what reached it: request headers, body bytes as they arrive, the WebSocket
    handshake and close code, the end of an endless stream; and answers with headers the proxy must
    filter."""

    def __init__(self) -> None:
        self.first_body_chunk = threading.Event()
        self.stream_closed = threading.Event()
        self.socket_closed = threading.Event()
        self.client_close_code: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["path"].endswith("/upload"):
            received = 0
            more = True
            while more:
                message = await receive()
                received += len(message.get("body", b""))
                more = message.get("more_body", False)
                if received:
                    self.first_body_chunk.set()
            await self._json(send, {"bytes": received}, [])
            return
        if scope["path"].endswith("/forever"):
            await self._endless_events(receive, send)
            return
        headers = {key.decode(): value.decode() for key, value in scope["headers"]}
        await self._json(
            send,
            {"path": scope["raw_path"].decode(), "headers": headers},
            [
                (b"x-frame-options", b"DENY"),
                (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
                (b"connection", b"x-hop"),
                (b"x-hop", b"1"),
                (b"keep-alive", b"timeout=5"),
                (b"set-cookie", b"a=1; Path=/"),
                (b"set-cookie", b"b=2; Path=/"),
                (b"cross-origin-opener-policy", b"unsafe-none"),
            ],
        )

    async def _json(self, send: Send, data: dict, headers: list[tuple[bytes, bytes]]) -> None:
        body = json.dumps(data).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        headers = {key.decode(): value.decode() for key, value in scope["headers"]}
        await send({"type": "websocket.send", "text": json.dumps({"headers": headers, "subprotocols": offered})})
        message = await receive()
        if message["type"] == "websocket.disconnect":
            self.client_close_code = message["code"]
            self.socket_closed.set()
            return
        await send({"type": "websocket.send", "bytes": (message.get("text") or "").encode()})
        await send({"type": "websocket.close", "code": 4001, "reason": "probe done"})

    async def _endless_events(self, receive: Receive, send: Send) -> None:
        """An event every 0.1 s until whoever reads them goes away, like Gradio's heartbeat."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        while True:
            await send({"type": "http.response.body", "body": b"data: tick\n\n", "more_body": True})
            try:
                message = await asyncio.wait_for(receive(), 0.1)
            except TimeoutError:
                continue
            if message["type"] == "http.disconnect":
                self.stream_closed.set()
                return


@pytest.fixture(scope="package")
def space_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpaceRunner]:
    runner = SpaceRunner(ProcessBackend(shared_folders(tmp_path_factory.mktemp("proxy-spaces"))))
    yield runner
    runner.close()


@pytest.fixture(scope="package")
def spaces() -> SpaceTable:
    return SpaceTable()


@pytest.fixture(scope="package")
def proxy(spaces: SpaceTable) -> Iterator[ServerThread]:
    """The proxy, in path mode and in host mode for *.localhost."""
    with ServerThread(ProxyApp(spaces.resolve, domain="localhost")) as server:
        yield server


@pytest.fixture(scope="package")
def gradio_space(space_runner: SpaceRunner, spaces: SpaceTable) -> Iterator[RunningSpace]:
    """demo/echo, running behind the proxy."""
    with space_runner.running("echo", "demo/echo") as space:
        spaces.add("demo/echo", space.url)
        yield space


@pytest.fixture(scope="package")
def streamlit_space(space_runner: SpaceRunner, spaces: SpaceTable) -> Iterator[RunningSpace]:
    """demo/hello, running behind the proxy."""
    with space_runner.running("hello", "demo/hello") as space:
        spaces.add("demo/hello", space.url)
        yield space


@pytest.fixture(scope="package")
def probe(spaces: SpaceTable) -> Iterator[ProbeApp]:
    """lab/probe, which embeds only in Podium and one named site, has a custom header from its README,
    and must not receive Podium's session cookie."""
    app = ProbeApp()
    with ServerThread(app) as server:
        spaces.add(
            "lab/probe",
            server.url,
            frame_ancestors="'self' http://127.0.0.1:9000",
            extra_headers={"Cross-Origin-Opener-Policy": "same-origin"},
            podium_cookies=frozenset({"podium_session"}),
        )
        yield app
