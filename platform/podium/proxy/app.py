"""`ProxyApp`: the raw ASGI app that finds a request's space and hands it to the right forwarder.

Routing, in either of two modes:
- path mode (always on): `/apps/{owner}/{name}/...`; `/apps/{owner}/{name}` answers 307 to the
  trailing slash, because the apps' pages load `./assets/...` relative to it.
- host mode (when `domain` is set): `{owner}-{name}.{domain}[:port]/...`. Owners and names may hold
  '-', so the label is ambiguous: the proxy asks the resolver about each split in turn, shortest
  owner first, and takes the first answer that is not None. Resolvers therefore return None for an
  unknown space (an ASGI app of their own for a 404 would end the search at the first split).

No FastAPI route sits on this path (a route with StreamingResponse measured 4-5x slower than raw
ASGI): `podium serve` runs this app in front and passes everything that is not a space's to its
FastAPI app as `fallback`. One aiohttp session pools connections to every space.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from urllib.parse import unquote, urlsplit

import aiohttp
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.proxy.headers import header, host_name
from podium.proxy.http import forward_http
from podium.proxy.pages import send_error
from podium.proxy.upstream import Resolution, Resolver, Upstream
from podium.proxy.websocket import bridge_websocket
from podium.settings import PATH_PREFIX

log = logging.getLogger(__name__)

_SPACE_PATH = re.compile(rf"^{PATH_PREFIX}/([^/]+)/([^/]+)(/.*)?$")
# Apps close idle keep-alive connections after 5 s (uvicorn's default); the pool drops them first. Its
# clock starts when the proxy has relayed a response, the app's when it sent it, so on a busy host a
# request may still land on a connection the app is closing: http.py tries it again.
_KEEPALIVE_S = 4.0
_CONNECT_TIMEOUT_S = 10.0


def host_mode_candidates(label: str) -> Iterator[tuple[str, str]]:
    """Every (owner, name) a host label `owner-name` can mean, shortest owner first."""
    for index, char in enumerate(label):
        if char == "-" and 0 < index < len(label) - 1:
            yield label[:index], label[index + 1 :]


class ProxyApp:
    """Reverse proxy for running spaces. See the module docstring for routing.

    `resolve(owner, name, scope)` says where a space's traffic goes (see `Resolution`).
    `allowed_origins` lists origins (e.g. "https://embed.example.com") whose pages may open
    WebSockets to spaces, besides pages served from the same host as the request.
    `fallback` serves requests that are not for a space; without it they get a 404."""

    def __init__(
        self,
        resolve: Resolver,
        *,
        domain: str | None = None,
        allowed_origins: Collection[str] = (),
        fallback: ASGIApp | None = None,
    ) -> None:
        self._resolve = resolve
        self._domain_suffix = "." + host_name(domain.encode()) if domain else None
        self._allowed_origins = frozenset(origin.rstrip("/").lower() for origin in allowed_origins)
        self._fallback = fallback
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled client, made on first use because it must belong to the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=_KEEPALIVE_S),
                # No total or read timeout: SSE queues, heartbeats and sockets stay open for hours.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT_S),
                # Cookies belong to the browser: a shared jar would hand one user's cookies to the next.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Bodies pass through encoded as the app sent them, with the client's own headers only.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        route = self._route(scope)
        if route is None:
            await self._not_for_a_space(scope, receive, send)
            return
        candidates, redirect = route
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; answered by accept or denial below
            if not self._origin_allowed(scope):
                origin = header(scope, b"origin") or b""
                log.warning(
                    "refused a WebSocket to %s from a page at %r: not this host nor an allowed origin",
                    scope["path"],
                    origin.decode("latin-1"),
                )
                await send_error(
                    scope,
                    receive,
                    send,
                    403,
                    "WebSocket origin not allowed",
                    f"A page from {origin.decode('latin-1')} may not open this space's WebSocket. "
                    f"Add the origin to Podium's allowed origins to embed the space there.",
                )
                return
        elif redirect:
            await self._redirect_to_slash(scope, send)
            return
        for owner, name in candidates:
            resolution: Resolution = await self._resolve(owner, name, scope)
            if resolution is None:
                continue
            space = f"{owner}/{name}"
            if not isinstance(resolution, Upstream):
                await resolution(scope, receive, send)
                return
            with resolution.visit():
                if scope["type"] == "websocket":
                    await bridge_websocket(self.session, resolution, space, scope, receive, send)
                else:
                    await forward_http(self.session, resolution, space, scope, receive, send)
            return
        wanted = " or ".join(f"{owner}/{name}" for owner, name in candidates)
        await send_error(
            scope,
            receive,
            send,
            404,
            "No such space",
            f"There is no space {wanted} on this Podium. Check the address, or list spaces with `podium ls`.",
        )

    def _route(self, scope: Scope) -> tuple[list[tuple[str, str]], bool] | None:
        """The (owner, name) candidates a request may be for, and whether it lacks the trailing slash."""
        if self._domain_suffix is not None:
            host = host_name(header(scope, b"host"))
            if host.endswith(self._domain_suffix):
                label = host[: -len(self._domain_suffix)]
                candidates = list(host_mode_candidates(label)) if "." not in label else []
                if candidates:
                    return candidates, False
        raw = scope.get("raw_path")
        path = unquote(raw.decode("latin-1")) if raw else scope.get("root_path", "") + scope["path"]
        match = _SPACE_PATH.match(path)
        if match is None:
            return None
        owner, name, rest = match.groups()
        return [(owner, name)], rest is None

    def _origin_allowed(self, scope: Scope) -> bool:
        """Podium's WebSocket origin rule: no Origin (not a browser), the request's own host, or listed."""
        origin = header(scope, b"origin")
        if origin is None:
            return True
        netloc = urlsplit(origin.decode("latin-1")).netloc.lower()
        host = (header(scope, b"host") or b"").decode("latin-1").lower()
        return netloc == host or origin.decode("latin-1").rstrip("/").lower() in self._allowed_origins

    async def _redirect_to_slash(self, scope: Scope, send: Send) -> None:
        raw = scope.get("raw_path") or (scope.get("root_path", "") + scope["path"]).encode()
        query = scope.get("query_string", b"")
        location = raw + b"/" + (b"?" + query if query else b"")
        await send(
            {
                "type": "http.response.start",
                "status": 307,
                "headers": [(b"location", location), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _not_for_a_space(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._fallback is not None:
            await self._fallback(scope, receive, send)
        else:
            await send_error(
                scope,
                receive,
                send,
                404,
                "Not found",
                f"Spaces are served under {PATH_PREFIX}/{{owner}}/{{name}}/.",
            )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Close the pool at shutdown; the fallback app, if any, runs its own lifespan around it."""
        if self._fallback is not None:

            async def send_then_close(message: Message) -> None:
                if message["type"] == "lifespan.shutdown.complete":
                    await self.aclose()
                await send(message)

            await self._fallback(scope, receive, send_then_close)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
