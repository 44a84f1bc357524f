"""A lean HTTP/1.1 client for forwarding requests to spaces: keep-alive connections per app address,
responses parsed by httptools (the parser uvicorn uses), bodies streamed both ways with backpressure.

aiohttp's client spent more CPU per proxied request than the app behind it (its request and response
objects, header multidicts, tracing and cookie hooks); the proxy needs none of that, since it only
copies a request the ASGI server has already parsed. WebSockets still go through aiohttp
(podium.proxy.websocket).

Framing follows the request: a client's `Content-Length` is forwarded with its bytes, a chunked body is
sent chunked again. A response to HEAD is complete at its headers and its connection is not reused
(httptools cannot be told that no body follows). A pooled connection the app closed just as it was
reused is retried once on a new one, for a request without a body (nothing of it has been consumed).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Iterable

import httptools

# Apps close idle keep-alive connections after 5 s (uvicorn's default); the pool drops them first so
# that a request never lands on a connection the app is closing.
KEEPALIVE_S = 4.0
CONNECT_TIMEOUT_S = 10.0
# A slow client must not make the proxy hold a fast app's whole download: past this much unsent
# response body the proxy stops reading from the app until the client has taken it.
_HIGH_WATER = 256 * 1024


class UpstreamUnreachable(OSError):
    """The app did not take the connection (stopped, restarting): nothing was sent."""


class UpstreamBrokeOff(Exception):
    """The app's connection ended, or it sent what is not HTTP, before its response was complete."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an app, carrying one request and response at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._writable: asyncio.Future[None] | None = None
        self._response: UpstreamResponse | None = None
        self.received_any = False  # whether the app has sent anything for the current request

    # ---- asyncio.Protocol ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._response is None:  # an idle connection has nothing to say: do not trust it again
            self.abort()
            return
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._response._fail(UpstreamBrokeOff(f"the app sent what is not HTTP ({error})"))
            self.abort()

    def eof_received(self) -> bool:
        return False  # closes the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._response is not None:
            self._response._connection_ended(exc)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # ---- httptools callbacks ----

    def on_message_begin(self) -> None:
        if self._response is not None and self._response._done:
            # More than the one response asked for: the connection's framing cannot be trusted.
            raise UpstreamBrokeOff("the app sent a response nobody asked for")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._response._headers.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        response = self._response
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and other interim answers: the real one follows
            response._headers.clear()  # type: ignore[union-attr]
            return
        response._head_done(status, self._parser.should_keep_alive())  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        self._response._body(body)  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        response = self._response
        if response is not None and response.status is not None:
            response._complete()

    # ---- used by the pool and the response ----

    def start(self, response: UpstreamResponse) -> None:
        self._response = response
        self.received_any = False

    def finish(self) -> None:
        self._response = None

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise UpstreamBrokeOff("the app closed the connection while the request was being sent")
        self.transport.write(data)  # type: ignore[union-attr]
        if self._writable is not None:
            await self._writable

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class UpstreamResponse:
    """An app's response: status and raw headers at once, then its body whole or as it arrives."""

    def __init__(self, connection: _Connection, pool: UpstreamPool, key: tuple[str, int], head_only: bool) -> None:
        self.status: int | None = None
        self.keep_alive = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._connection = connection
        self._pool = pool
        self._key = key
        self._head_only = head_only
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return self._headers

    @property
    def content_length(self) -> int | None:
        for name, value in self._headers:
            if name.lower() == b"content-length":
                return int(value) if value.isdigit() else None
        return None

    # ---- fed by the connection ----

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _head_done(self, status: int, keep_alive: bool) -> None:
        self.status, self.keep_alive = status, keep_alive
        if self._head_only:
            self._done, self.keep_alive = True, False
        self._wake()

    def _body(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > _HIGH_WATER and not self._paused and not self._connection.closed:
            self._paused = True
            self._connection.transport.pause_reading()  # type: ignore[union-attr]
        self._wake()

    def _complete(self) -> None:
        self._done = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if not self._done:
            self._error = error
        self._wake()

    def _connection_ended(self, exc: Exception | None) -> None:
        if exc is None and self.status is not None and not self._done and not self._has_framing():
            self._done = True  # a body without a length or chunks ends with the connection (not a reset)
        elif not self._done:
            reason = f" ({exc})" if exc else ""
            self._fail(UpstreamBrokeOff(f"the app closed the connection before its response was complete{reason}"))
        self._wake()

    def _has_framing(self) -> bool:
        return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self._headers)

    # ---- read by the proxy ----

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def head(self) -> None:
        while self.status is None:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises UpstreamBrokeOff when it is cut short."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= _HIGH_WATER and not self._connection.closed:
                    self._paused = False
                    self._connection.transport.resume_reading()  # type: ignore[union-attr]
                yield chunk
            elif self._done:
                return
            elif self._error is not None:
                raise self._error
            else:
                await self._wait()

    async def read(self) -> bytes:
        if self._done and self._error is None and not self._paused:  # a small answer that came with its head
            body, self._buffered = b"".join(self._chunks), 0
            self._chunks.clear()
            return body
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        """End the exchange now (the client left): the connection is dropped, a reader gets an error."""
        self._fail(UpstreamBrokeOff("the exchange was ended by the proxy"))
        self._connection.abort()

    def release(self) -> None:
        """Give the connection back for the next request, or drop it when it cannot carry one."""
        connection = self._connection
        connection.finish()
        if self._done and self._error is None and self.keep_alive and not connection.closed:
            self._pool._put_back(self._key, connection)
        else:
            connection.abort()


class UpstreamPool:
    """Keep-alive connections to apps, by (host, port); the most recently used one is reused first."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._sweep: asyncio.TimerHandle | None = None

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, connection = await loop.create_connection(_Connection, *key)
        except TimeoutError as error:
            raise UpstreamUnreachable(f"no connection to {key[0]}:{key[1]} within {CONNECT_TIMEOUT_S:.0f} s") from error
        except OSError as error:
            raise UpstreamUnreachable(error.errno, error.strerror or str(error)) from error
        return connection

    def _take_idle(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        deadline = time.monotonic() - KEEPALIVE_S
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.idle_since > deadline:
                return connection
            connection.abort()
        self._idle.pop(key, None)
        return None

    def _put_back(self, key: tuple[str, int], connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(connection)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(KEEPALIVE_S, self._drop_expired)

    def _drop_expired(self) -> None:
        """Close connections idle for longer than KEEPALIVE_S, as apps that never close them would hold them."""
        self._sweep = None
        deadline = time.monotonic() - KEEPALIVE_S
        for key, idle in list(self._idle.items()):
            while idle and (idle[0].closed or idle[0].idle_since <= deadline):
                idle.pop(0).abort()
            if not idle:
                del self._idle[key]
        if self._idle:
            self._sweep = asyncio.get_running_loop().call_later(KEEPALIVE_S, self._drop_expired)

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
        chunked: bool,
    ) -> UpstreamResponse:
        """Send a request (`target`: path and query, percent-encoded) and wait for the response's head."""
        key = (host, port)
        lines = [method.encode("latin-1"), b" ", target, b" HTTP/1.1\r\nhost: ", f"{host}:{port}".encode("latin-1")]
        for name, value in headers:
            lines += (b"\r\n", name, b": ", value)
        if chunked:
            lines.append(b"\r\ntransfer-encoding: chunked")
        lines.append(b"\r\n\r\n")
        head = b"".join(lines)
        connection = self._take_idle(key)
        if connection is not None:
            try:
                return await self._exchange(connection, key, method, head, body, chunked)
            except UpstreamBrokeOff:
                if body is not None or connection.received_any:
                    raise
                # The app closed this kept-alive connection as it was reused: a new one gets the request.
        return await self._exchange(await self._connect(key), key, method, head, body, chunked)

    async def _exchange(
        self,
        connection: _Connection,
        key: tuple[str, int],
        method: str,
        head: bytes,
        body: AsyncIterator[bytes] | None,
        chunked: bool,
    ) -> UpstreamResponse:
        response = UpstreamResponse(connection, self, key, head_only=method == "HEAD")
        connection.start(response)
        try:
            await connection.write(head)
            if body is not None:
                async for chunk in body:
                    if response.status is not None:
                        # The app answered before the whole body (413, 401): the rest stays unsent,
                        # so this connection cannot carry another request.
                        response.keep_alive = False
                        break
                    await connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                else:
                    if chunked:
                        await connection.write(b"0\r\n\r\n")
            await response.head()
        except BaseException:
            response.release()
            raise
        return response

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
