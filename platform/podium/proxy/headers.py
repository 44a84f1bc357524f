"""Which headers cross the proxy, in each direction, and which Podium adds.

Requests keep what the client sent except hop-by-hop headers and Podium's credentials, and gain
`X-Forwarded-*`: without `X-Forwarded-Host`/`-Proto` Gradio builds its public URL from its own port
and the browser then bypasses the proxy. A caller's token (`Authorization`, or `X-HF-Authorization`
where gradio_client puts it) opens private spaces for Podium and is never the app's: with it the
space's owner could act as the caller anywhere on Podium. Nor are Podium's cookies. Instead, the app
of a private space learns whom Podium admitted from `X-Podium-User`, which no client can send itself.
Responses lose hop-by-hop headers, the app's `date`/`server` (the ASGI server sends its own, so they
would appear twice), any framing policy (Podium owns framing through CSP `frame-ancestors`, from
`Upstream.frame_ancestors`) and any cookie the app may not set (podium.proxy.cookies).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

from podium.proxy.cookies import cookie_name, for_cross_site_frames, space_set_cookie, without_podiums_cookies
from podium.proxy.upstream import Upstream

VISITOR_HEADER = "X-Podium-User"

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set by the proxy or its HTTP client, never copied from the client: `host` becomes the app's own
# (Streamlit compares it with Origin), `expect` is answered by the ASGI server.
_REQUEST_REPLACED = frozenset({b"host", b"expect", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"})
# Podium's credentials, and the header through which Podium alone names the visitor.
_CREDENTIALS = frozenset({b"authorization", b"x-hf-authorization", VISITOR_HEADER.lower().encode()})
# The WebSocket handshake is redone by the bridge's client; Origin is rewritten to the app's own.
_WEBSOCKET_HANDSHAKE = frozenset(
    {
        b"origin",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
    }
)
_RESPONSE_REPLACED = frozenset({b"date", b"server", b"x-frame-options"})
# The unions each request would otherwise rebuild.
_REQUEST_DROPPED = HOP_BY_HOP | _REQUEST_REPLACED | _CREDENTIALS
_HANDSHAKE_DROPPED = _REQUEST_DROPPED | _WEBSOCKET_HANDSHAKE
_RESPONSE_DROPPED = HOP_BY_HOP | _RESPONSE_REPLACED
# Podium's additions to a response that go beside the app's headers of the same name; the space's other
# custom headers replace the app's.
_ADDED_BESIDE = frozenset({b"content-security-policy", b"set-cookie"})


def _connection_tokens(values: Iterable[bytes]) -> frozenset[bytes]:
    """Header names listed in `Connection` values, which are hop-by-hop too (RFC 9110, 7.6.1)."""
    return frozenset(token.strip().lower() for value in values for token in value.split(b","))


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of request header `name` (lower case), if sent."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def host_name(value: bytes | None) -> str:
    """The host of a Host header or an origin, lower case, without port."""
    if not value:
        return ""
    host = value.decode("latin-1").strip().lower()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def request_headers(scope: Scope, upstream: Upstream) -> list[tuple[str, str]]:
    """Headers to send upstream for an HTTP request or a WebSocket handshake.

    One pass over the client's headers, on the path of every proxied request: `Connection` is rare,
    so the names it lists are removed afterwards, only when it was sent."""
    dropped = _REQUEST_DROPPED if scope["type"] == "http" else _HANDSHAKE_DROPPED
    forwarded = []
    chain = []
    connection = []
    host = None
    for key, value in scope["headers"]:
        if key in dropped:
            if key == b"x-forwarded-for":
                chain.append(value.decode("latin-1"))
            elif key == b"host" and host is None:
                host = value
            elif key == b"connection":
                connection.append(value)
            continue
        text = value.decode("latin-1")
        if key == b"cookie":
            text = without_podiums_cookies(text, upstream.podium_cookies)
            if not text:  # it held only Podium's cookies
                continue
        forwarded.append((key.decode("latin-1"), text))
    if connection:
        listed = {token.decode("latin-1") for token in _connection_tokens(connection)}
        forwarded = [(key, text) for key, text in forwarded if key not in listed]
    if upstream.visitor is not None:
        forwarded.append((VISITOR_HEADER, upstream.visitor))
    client = scope.get("client")
    if client:
        chain.append(client[0])
    if chain:
        forwarded.append(("X-Forwarded-For", ", ".join(chain)))
    if host:
        # The Host the client used is the public address; put `proxy_set_header Host $http_host`
        # in an nginx in front of Podium to keep it.
        forwarded.append(("X-Forwarded-Host", host.decode("latin-1")))
    # Uvicorn has already applied a trusted front proxy's X-Forwarded-Proto to the scheme.
    forwarded.append(("X-Forwarded-Proto", "https" if scope.get("scheme") in ("https", "wss") else "http"))
    return forwarded


def _without_frame_ancestors(policy: bytes) -> bytes:
    directives = [d.strip() for d in policy.split(b";")]
    return b"; ".join(d for d in directives if d and not d.lower().startswith(b"frame-ancestors"))


def secure_context(scope: Scope) -> bool:
    """Whether the browser deems the request's origin secure, and so keeps `Secure` cookies from it:
    https, or a loopback name (localhost, *.localhost, 127.0.0.0/8, [::1])."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    host = host_name(header(scope, b"host"))
    return host in ("localhost", "[::1]") or host.endswith(".localhost") or host.startswith("127.")


def response_headers(raw: Iterable[tuple[bytes, bytes]], upstream: Upstream, scope: Scope) -> list[tuple[bytes, bytes]]:
    """Headers to send the client for an upstream response to the request `scope` (names lower case).

    One pass, as for requests; whether the connection is secure is asked only for a cookie."""
    added = upstream.added_headers
    dropped = _RESPONSE_DROPPED
    if replaced := {key for key, _ in added if key not in _ADDED_BESIDE}:
        dropped = dropped | replaced
    headers = []
    connection = []
    for key, value in raw:
        key = key.lower()
        if key in dropped:
            if key == b"connection":
                connection.append(value)
            continue
        if key == b"content-security-policy":
            value = _without_frame_ancestors(value)
            if not value:
                continue
        elif key == b"set-cookie":
            if (value := space_set_cookie(value, upstream.podium_cookies)) is None:
                continue
            if cookie_name(value) in upstream.cross_site_cookies and secure_context(scope):
                value = for_cross_site_frames(value)
        headers.append((key, value))
    if connection:
        listed = _connection_tokens(connection)
        headers = [(key, value) for key, value in headers if key not in listed]
    headers.extend(added)
    return headers
