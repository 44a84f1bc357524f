"""Forwarding one HTTP request to a space and its response back, streaming both bodies.

Request bodies go up as they arrive (an upload is never held in memory); responses come back chunk by
chunk as the app writes them, so Server-Sent Events (Gradio's queue and heartbeat) are never
buffered. A response without a length may last for hours, so the client's disconnect is watched and
ends the upstream read instead of leaving it open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from podium.proxy.headers import header, request_headers, response_headers
from podium.proxy.pages import send_error, send_unreachable
from podium.proxy.upstream import Upstream

log = logging.getLogger(__name__)

# Responses up to this size with a known length are read whole and sent in one message: it costs at
# most this much memory per request and saves a send per response on the commonest path.
_SMALL_BODY = 64 * 1024
# An app closes an idle keep-alive connection on its own clock. When that lands just as the proxy sends a
# request on the pooled connection (a busy host stretches the window), the request goes unanswered, and a
# browser fails the page's script. aiohttp sends an idempotent request once more itself, on the next pooled
# connection; but a page's burst of requests pooled up to six (a browser's connections per host), idle
# since the same moment and closed by the app together. So a request that changes nothing and carries no
# body is tried again, as nginx does (proxy_next_upstream): _MAX_TRIES tries, up to 2 sends each.
_RESENDABLE = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_TRIES = 4


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


async def _request(
    session: aiohttp.ClientSession, upstream: Upstream, space: str, scope: Scope, body: _RequestBody | None
) -> aiohttp.ClientResponse:
    """The app's response to the request, tried again where it may be and went unanswered (_RESENDABLE)."""
    tries_left = _MAX_TRIES if body is None and scope["method"] in _RESENDABLE else 1
    while True:
        try:
            return await session.request(
                scope["method"],
                target_url(upstream, scope),
                headers=request_headers(scope, upstream),
                data=body.chunks() if body else None,
                allow_redirects=False,
            )
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
            tries_left -= 1
            if isinstance(error, aiohttp.ClientConnectorError) or not tries_left:
                raise
            log.info(
                "%s: %s %s sent again: the app closed the connection unanswered", space, scope["method"], scope["path"]
            )


async def forward_http(
    session: aiohttp.ClientSession, upstream: Upstream, space: str, scope: Scope, receive: Receive, send: Send
) -> None:
    body = _RequestBody(receive) if _has_body(scope) else None
    try:
        response = await _request(session, upstream, space, scope, body)
    except aiohttp.ClientConnectorError as error:
        await send_unreachable(scope, receive, send, space, upstream.base_url, error)
        return
    except (TimeoutError, aiohttp.ClientError) as error:
        log.warning("%s: %s %s got no answer from its app: %r", space, scope["method"], scope["path"], error)
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
        except aiohttp.ClientError as error:
            # The app broke off, or the client left and the watcher closed the stream. Ending without
            # the final message makes the server drop the connection, so the client sees a cut
            # response rather than a complete one.
            if watcher is None or not watcher.done():
                log.warning("%s: %s %s: the app broke off its answer: %r", space, scope["method"], scope["path"], error)
            return
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        response.release()
