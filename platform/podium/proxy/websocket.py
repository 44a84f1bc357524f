"""Bridging a client's WebSocket to a space's (Streamlit's `_stcore/stream`, Gradio's custom sockets).

The upstream handshake carries the client's `Sec-WebSocket-Protocol` (Streamlit puts `streamlit`, its
XSRF token and the session id there) and cookies, minus Podium's credentials and cookies, as HTTP
requests do (podium.proxy.headers); the client is accepted with the subprotocol the app chose and
nothing else of the app's answer, so no `Set-Cookie` of the app's comes with it. `Origin` becomes the
app's own, because apps reject an origin they do not know (Streamlit answers 403); the proxy has
checked the browser's Origin against Podium's own rule before this.
Messages and close codes pass through unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from starlette.types import Receive, Scope, Send

from podium.proxy.headers import header, request_headers
from podium.proxy.http import target_url
from podium.proxy.pages import send_error, send_unreachable
from podium.proxy.upstream import Upstream

# Codes a peer may not send in a close frame (RFC 6455, 7.4.1): they only describe what happened.
_NO_STATUS, _ABNORMAL = 1005, 1006
_INTERNAL_ERROR = 1011


def _sendable(code: int | None) -> int:
    if code is None or code == _NO_STATUS:
        return 1000
    return _INTERNAL_ERROR if code == _ABNORMAL or not (1000 <= code < 5000) else code


def _subprotocols(scope: Scope) -> list[str]:
    offered = scope.get("subprotocols")
    if offered is not None:
        return list(offered)
    value = header(scope, b"sec-websocket-protocol")
    return [p.strip() for p in value.decode("latin-1").split(",")] if value else []


async def _client_to_upstream(receive: Receive, ws: aiohttp.ClientWebSocketResponse) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            await ws.close(code=_sendable(message.get("code")))
            return
        if message.get("bytes") is not None:
            await ws.send_bytes(message["bytes"])
        else:
            await ws.send_str(message["text"])


async def _upstream_to_client(ws: aiohttp.ClientWebSocketResponse, send: Send) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            await send({"type": "websocket.send", "bytes": message.data})
        elif message.type == aiohttp.WSMsgType.TEXT:
            await send({"type": "websocket.send", "text": message.data})
        else:  # ERROR: the app's connection broke
            break
    await send({"type": "websocket.close", "code": _sendable(ws.close_code), "reason": ""})


async def bridge_websocket(
    session: aiohttp.ClientSession, upstream: Upstream, space: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Bridge an accepted-for-routing WebSocket (its `websocket.connect` already received)."""
    try:
        ws = await session.ws_connect(
            target_url(upstream, scope),
            protocols=_subprotocols(scope),
            headers=request_headers(scope, upstream),
            origin=upstream.origin,
            autoping=True,
            max_msg_size=0,
        )
    except aiohttp.WSServerHandshakeError as error:
        await send_error(
            scope,
            receive,
            send,
            403 if error.status == 403 else 502,
            f"Space {space} refused the WebSocket",
            f"The app of space {space} answered the WebSocket handshake with HTTP {error.status}.",
        )
        return
    except aiohttp.ClientError as error:
        await send_unreachable(scope, receive, send, space, upstream.base_url, error)
        return
    await send({"type": "websocket.accept", "subprotocol": ws.protocol})
    tasks = [
        asyncio.create_task(_client_to_upstream(receive, ws)),
        asyncio.create_task(_upstream_to_client(ws, send)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, OSError, RuntimeError):
                await task
        await ws.close()
