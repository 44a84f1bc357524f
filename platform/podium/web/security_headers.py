"""Security headers on every answer of Podium's pages and API: a Content-Security-Policy, framing rules,
no MIME sniffing, no Referer beyond the pages' origin.

The pages run only their own scripts and styles (`podium.js`, `podium.css`, no inline script, style
attribute or event handler), talk only to their own origin, frame only the spaces' origin(s), and may
be framed by nobody, so a signed-in visitor's Settings buttons cannot be overlaid by another site
(clickjacking). Two routes differ, both redirects into a space (`podium.web.pages._enter`): `/open` is
what the App tab frames on the pages themselves, and `/embed/frame` is what `<podium-space>` (embed.js)
frames on any site; the space's own answer then carries the space's framing policy (`podium.proxy`).
FastAPI's `/api/docs` loads Swagger UI from its CDN with an inline script, and gets a policy that
allows exactly that.

A raw ASGI middleware: it adds headers to `http.response.start` and leaves bodies (SSE logs, uploads)
streaming as they are. A header the route set itself (`Referrer-Policy: no-referrer` on a ticket
redirect) is kept.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.settings import Settings

_FRAMED_BY_THE_PAGES = re.compile(r"^/spaces/[^/]+/[^/]+/open$")
_FRAMED_ANYWHERE = re.compile(r"^/spaces/[^/]+/[^/]+/embed/frame$")
_API_DOCS = ("/api/docs", "/api/docs/oauth2-redirect")
_SWAGGER_CDN = "https://cdn.jsdelivr.net"


def spaces_origins(settings: Settings) -> list[str]:
    """The origins the App tab frames: the spaces' shared origin, or every space's host (host mode)."""
    if settings.spaces_on_pages_origin and not settings.domain:
        return ["'self'"]
    parts = urlsplit(settings.spaces_url)
    if settings.domain:
        port = f":{parts.port}" if parts.port else ""
        return [f"{parts.scheme}://*.{settings.domain.lower()}{port}"]
    return [f"{parts.scheme}://{parts.netloc}"]


def content_security_policy(settings: Settings, frame_ancestors: str | None) -> str:
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        # 'self': the App tab's frame goes through /open on the pages before it reaches the space.
        "frame-src " + " ".join(dict.fromkeys(["'self'", *spaces_origins(settings)])),
    ]
    if frame_ancestors is not None:
        directives.append(f"frame-ancestors {frame_ancestors}")
    return "; ".join(directives)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
        self._pages = _encoded(
            {
                **common,
                "Content-Security-Policy": content_security_policy(settings, "'none'"),
                "X-Frame-Options": "DENY",
            }
        )
        self._framed_by_the_pages = _encoded(
            {
                **common,
                "Content-Security-Policy": content_security_policy(settings, "'self'"),
                "X-Frame-Options": "SAMEORIGIN",
            }
        )
        self._framed_anywhere = _encoded({**common, "Content-Security-Policy": content_security_policy(settings, None)})
        self._api_docs = _encoded(
            {
                **common,
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": f"default-src 'self'; script-src 'self' 'unsafe-inline' {_SWAGGER_CDN}; "
                f"style-src 'self' 'unsafe-inline' {_SWAGGER_CDN}; img-src 'self' data: https:; "
                "object-src 'none'; base-uri 'none'; form-action 'self'; "
                "frame-ancestors 'none'",
            }
        )

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if _FRAMED_ANYWHERE.match(path):
            return self._framed_anywhere
        if _FRAMED_BY_THE_PAGES.match(path):
            return self._framed_by_the_pages
        if path in _API_DOCS:
            return self._api_docs
        return self._pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(name, value) for name, value in added if name not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
