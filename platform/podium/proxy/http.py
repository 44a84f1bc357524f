"""Forwarding one HTTP request to a space and its response back, streaming both bodies.

Request bodies go up as they arrive (an upload is never held in memory); responses come back chunk by
chunk as the app writes them, so Server-Sent Events (Gradio's queue and heartbeat) are never
buffered. A response without a length may last for hours, so the client's disconnect is watched and
ends the upstream read instead of leaving it open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from podium.proxy.headers import header, request_headers, response_headers
from podium.proxy.pages import send_error, send_unreachable
from podium.proxy.upstream import Upstream

# Responses up to this size with a known length are read whole and sent in one message: it costs at
# most this much memory per request and saves a send per response on the commonest path.
_SMALL_BODY = 64 * 1024


class _RequestBody:
    """The client's request body as an async iterator for aiohttp, read from ASGI `receive`."""

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


def _has_body(scope: Scope) -> bool:
    length = header(scope, b"content-length")
    return (length is not None and length != b"0") or header(scope, b"transfer-encoding") is not None


async def _close_on_disconnect(receive: Receive, response: aiohttp.ClientResponse) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    response.close()


def target_url(upstream: Upstream, scope: Scope) -> URL:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["root_path"] + scope["path"]
    return upstream.url_for(path, scope.get("query_string", b"").decode("latin-1"))


async def forward_http(
    session: aiohttp.ClientSession, upstream: Upstream, space: str, scope: Scope, receive: Receive, send: Send
) -> None:
    body = _RequestBody(receive) if _has_body(scope) else None
    try:
        response = await session.request(
            scope["method"],
            target_url(upstream, scope),
            headers=request_headers(scope, upstream),
            data=body.chunks() if body else None,
            allow_redirects=False,
        )
    except aiohttp.ClientConnectorError as error:
        await send_unreachable(scope, receive, send, space, upstream.base_url, error)
        return
    except (TimeoutError, aiohttp.ClientError) as error:
        await send_error(
            scope,
            receive,
            send,
            502,
            f"Space {space} failed to answer",
            f"The app of space {space} at {upstream.base_url} broke off the request ({error!r}). "
            f"Check `podium logs {space}` for what it did, then retry.",
        )
        return
    # A response without a length (SSE, a long download) may outlive the client; watch for it leaving.
    # The watch needs `receive`, so only once the request body has been read through.
    watcher = None
    if response.content_length is None and (body is None or body.finished):
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
            length = response.content_length
            if length is not None and length <= _SMALL_BODY:
                # Most API answers and assets: one message instead of a chunk and an empty end.
                await send({"type": "http.response.body", "body": await response.read()})
                return
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except aiohttp.ClientError:
            # The app broke off, or the client left and the watcher closed the stream. Ending without
            # the final message makes the server drop the connection, so the client sees a cut
            # response rather than a complete one.
            return
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        response.release()
