"""The proxy's own answers when it cannot forward: a short page saying what failed and what to do."""

from __future__ import annotations

import html
import os

import aiohttp
from starlette.types import Receive, Scope, Send

from podium.proxy.headers import header

# Close code for a WebSocket refused before it was accepted when the server cannot send an HTTP
# status (RFC 6455: 1011 is "the server met an unexpected condition").
_WS_UNAVAILABLE = 1011


async def send_error(scope: Scope, receive: Receive, send: Send, status: int, title: str, detail: str) -> None:
    """Answer with `status`: an HTML page for browsers, plain text for API clients, and for a
    WebSocket handshake an HTTP denial where the server supports it, else a close."""
    accept = header(scope, b"accept") or b""
    if b"text/html" in accept:
        body = (
            f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p>\n"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = f"{title}\n{detail}\n".encode()
        content_type = b"text/plain; charset=utf-8"
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": _WS_UNAVAILABLE, "reason": title[:120]})
            return
        start, body_type = "websocket.http.response.start", "websocket.http.response.body"
    else:
        start, body_type = "http.response.start", "http.response.body"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": start, "status": status, "headers": headers})
    await send({"type": body_type, "body": body})


async def send_unreachable(
    scope: Scope, receive: Receive, send: Send, space: str, base_url: str, error: aiohttp.ClientError
) -> None:
    """502 for a space whose app did not take the connection: it stopped, or is restarting."""
    errno = error.errno if isinstance(error, aiohttp.ClientConnectorError) else None
    # "Connection refused" rather than "[Errno 111] Connect call failed ('127.0.0.1', 8000)".
    reason = os.strerror(errno) if errno else str(error)
    await send_error(
        scope,
        receive,
        send,
        502,
        f"Space {space} is not answering",
        f"Podium could not reach the app of space {space} at {base_url} ({reason}). It may have stopped "
        f"or be restarting: check `podium status {space}` and `podium logs {space}`, then retry.",
    )
