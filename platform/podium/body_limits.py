"""Every request body the pages and the API read is bounded, whether or not it says its length.

A body may be up to `max_body_size` (JSON, forms); a route that reads an upload raises its own limit
with `allow_upload` before it reads. Past its limit a body is refused with a 413 that names the
limit: from `Content-Length` before a byte is read, and while it streams in otherwise, since a
chunked upload has no `Content-Length` and Starlette's `max_part_size` does not apply to file parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.errors import ApiError
from podium.settings import Limits
from podium.uploads import too_large

_SCOPE_KEY = "podium.body_limit"


class BodyTooLarge(ApiError, HTTPException):
    """A 413 in Podium's words. An `ApiError` for Podium's handlers (and /new, which shows it on its
    form); an `HTTPException` so FastAPI's own body reading passes it on instead of a 400."""

    def __init__(self, refusal: ApiError) -> None:
        ApiError.__init__(self, 413, refusal.message, refusal.code, **refusal.fields)
        HTTPException.__init__(self, status_code=413, detail=refusal.message)


@dataclass
class _Limit:
    size: int
    refusal: ApiError


def allow_upload(request: Request, size: int, refusal: ApiError) -> None:
    """Before a route reads an upload: its body may be up to `size` bytes; past that, `refusal`."""
    request.scope[_SCOPE_KEY] = _Limit(size, refusal)


class RequestBodyLimit:
    """ASGI middleware counting each request's body as it is received."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.default = _Limit(
            limits.max_body_size,
            ApiError(413, str(too_large("the request body", "max_body_size", limits.max_body_size))),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[_SCOPE_KEY] = self.default
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def bounded() -> Message:
            nonlocal received
            limit: _Limit = scope[_SCOPE_KEY]
            if declared.isdigit() and int(declared) > limit.size:
                raise BodyTooLarge(limit.refusal)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.size:
                    raise BodyTooLarge(limit.refusal)
            return message

        await self.app(scope, bounded, send)
