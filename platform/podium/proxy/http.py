"""Forwarding one HTTP request to a space and its response back, streaming both bodies.

Request bodies go up as they arrive (an upload is never held in memory); responses come back chunk by
chunk as the app writes them, so Server-Sent Events (Gradio's queue and heartbeat) are never
buffered. A response without a length may last for hours, so the client's disconnect is watched and
ends the upstream read instead of leaving it open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.types import Receive, Scope, Send
from yarl import URL

from podium.proxy.activity import Activity
from podium.proxy.headers import header, request_headers, response_headers
from podium.proxy.pages import send_error, send_unreachable
from podium.proxy.upstream import Upstream
from podium.proxy.upstream_http import UpstreamBrokeOff, UpstreamPool, UpstreamResponse, UpstreamUnreachable

# Responses up to this size with a known length are read whole and sent in one message: it costs at
# most this much memory per request and saves a send per response on the commonest path.
_SMALL_BODY = 64 * 1024


class _RequestBody:
    """The client's request body as an async iterator, read from ASGI `receive` as the upload arrives."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.finished = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.finished:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("the client went away while sending its request body")
            self.finished = not message.get("more_body", False)
            if message.get("body"):
                yield message["body"]


def _body_framing(scope: Scope) -> tuple[bool, bool]:
    """Whether the request has a body, and whether it comes chunked (no Content-Length)."""
    length = header(scope, b"content-length")
    if length is not None:
        return length != b"0", False
    return header(scope, b"transfer-encoding") is not None, True


async def _close_on_disconnect(receive: Receive, response: UpstreamResponse) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    response.close()


def target_url(upstream: Upstream, scope: Scope) -> URL:
    return upstream.url_for(_raw_path(scope), scope.get("query_string", b"").decode("latin-1"))


def _raw_path(scope: Scope) -> str:
    raw_path = scope.get("raw_path")
    return raw_path.decode("latin-1") if raw_path else scope["root_path"] + scope["path"]


async def forward_http(
    pool: UpstreamPool, upstream: Upstream, space: str, scope: Scope, receive: Receive, send: Send
) -> None:
    activity = Activity(upstream.on_activity)
    has_body, chunked = _body_framing(scope)
    body = _RequestBody(receive) if has_body else None
    host, port = upstream.address
    try:
        response = await pool.request(
            host,
            port,
            scope["method"],
            upstream.target_for(_raw_path(scope), scope.get("query_string", b"").decode("latin-1")),
            request_headers(scope, upstream),
            body.chunks() if body else None,
            chunked=chunked and has_body,
        )
    except UpstreamUnreachable as error:
        await send_unreachable(scope, receive, send, space, upstream.base_url, error)
        return
    except (UpstreamBrokeOff, ConnectionResetError) as error:
        await send_error(
            scope,
            receive,
            send,
            502,
            f"Space {space} failed to answer",
            f"The app of space {space} at {upstream.base_url} broke off the request ({error}). "
            f"Check `podium logs {space}` for what it did, then retry.",
        )
        return
    # A response without a length (SSE, a long download) may outlive the client; watch for it leaving.
    # The watch needs `receive`, so only once the request body has been read through.
    watcher = None
    length = response.content_length
    if length is None and (body is None or body.finished):
        watcher = asyncio.create_task(_close_on_disconnect(receive, response))
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": response_headers(response.raw_headers, upstream, scope),
            }
        )
        try:
            if length is not None and length <= _SMALL_BODY:
                # Most API answers and assets: one message instead of a chunk and an empty end.
                await send({"type": "http.response.body", "body": await response.read()})
                return
            async for chunk in response.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                activity.touch()
        except UpstreamBrokeOff:
            # The app broke off, or the client left and the watcher closed the stream. Ending without
            # the final message makes the server drop the connection, so the client sees a cut
            # response rather than a complete one.
            return
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        response.release()
