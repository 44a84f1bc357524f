"""Where one space's traffic goes, as the resolver describes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Scope
from yarl import URL

from podium.proxy.cookies import space_set_cookie


@dataclass(frozen=True)
class Upstream:
    """A running space the proxy forwards to.

    The app always runs with its URL prefix (`GRADIO_ROOT_PATH`, Streamlit's `baseUrlPath`), so the
    prefix is kept when forwarding; docker spaces, which know nothing of it, set `strip_prefix`."""

    base_url: str  # "http://127.0.0.1:34567"
    prefix: str  # "/apps/owner/name"
    strip_prefix: bool = False
    # The CSP `frame-ancestors` value Podium sets on every response ("'self' http://..."); None sets none.
    frame_ancestors: str | None = None
    # The space's `custom_headers` from its README, added to every response.
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    # Held open while a request, stream or WebSocket to the space lasts: the space is in use meanwhile (sleeping).
    visit: Callable[[], AbstractContextManager[object]] = nullcontext
    # Podium's own cookie names (lower case): the browser sends them here too, since cookies ignore
    # ports, and the app must never see them nor set them (podium.proxy.cookies).
    podium_cookies: frozenset[str] = frozenset()
    # A Set-Cookie value added beside the app's own cookies (Podium's instance affinity).
    set_cookie: str | None = None
    # Who Podium admitted to a private space, told to the app as `X-Podium-User`; None for no one.
    visitor: str | None = None
    # The app's cookies its page needs in cross-site frames too (podium.proxy.cookies).
    cross_site_cookies: frozenset[str] = frozenset()

    @cached_property
    def origin(self) -> str:
        """The app's own origin, which the WebSocket bridge presents as `Origin`."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def _base(self) -> URL:
        return URL(self.base_url)

    def url_for(self, raw_path: str, query: str) -> URL:
        """The upstream URL for a request's percent-encoded path and query. Built from parts, so no
        path (`@169.254.169.254/`, `//evil/`) can change the scheme, host or port."""
        path = self.path_for(raw_path)
        return URL.build(
            scheme=self._base.scheme,
            host=self._base.raw_host or "",
            port=self._base.explicit_port,
            path=path if path.startswith("/") else "/" + path,
            query_string=query,
            encoded=True,
        )

    def path_for(self, raw_path: str) -> str:
        """The upstream path for a percent-encoded request path, in either routing mode.

        Path mode always carries the prefix; host mode usually lacks it and gets it prepended."""
        prefix = self.prefix.rstrip("/")
        has_prefix = raw_path == prefix or raw_path.startswith(prefix + "/")
        if self.strip_prefix:
            return (raw_path[len(prefix) :] or "/") if has_prefix else raw_path
        return raw_path if has_prefix else prefix + raw_path

    @cached_property
    def added_headers(self) -> list[tuple[bytes, bytes]]:
        """Response headers Podium sets for this space, encoded once. A README's `custom_headers`
        may set a cookie under the same rule as the app's."""
        headers = []
        for key, value in self.extra_headers.items():
            name, encoded = key.lower().encode("latin-1"), value.encode("latin-1")
            if name == b"set-cookie" and (encoded := space_set_cookie(encoded, self.podium_cookies)) is None:
                continue
            headers.append((name, encoded))
        if self.frame_ancestors is not None:
            headers.append((b"content-security-policy", f"frame-ancestors {self.frame_ancestors}".encode("latin-1")))
        if self.set_cookie is not None:
            headers.append((b"set-cookie", self.set_cookie.encode("latin-1")))
        return headers


# What a resolver answers: an Upstream to forward to; an ASGI app to serve instead (a starting page,
# static files, the platform's own 404); or None when no space has that owner and name. For a
# WebSocket, the proxy has already received its `websocket.connect` when it calls that ASGI app.
Resolution = Upstream | ASGIApp | None
Resolver = Callable[[str, str, Scope], Awaitable[Resolution]]
