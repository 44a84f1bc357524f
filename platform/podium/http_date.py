"""An accurate `Date` header on every response of the pages and API server.

uvicorn refreshes its `Date` from its main loop about once a second, so the header lags the clock by up
to a second, more when the loop is busy. huggingface_hub's `fetch_space_logs` stops at the first log
event stamped after the response's `Date` (plus one second), so a lagging header drops the last lines
of a build log, the ones that say why it failed.
"""

from __future__ import annotations

from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AccurateDate:
    """Wraps an ASGI app; run its server with uvicorn's own `date_header` off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = (b"date", formatdate(usegmt=True).encode())
                message = {**message, "headers": [date, *message.get("headers", [])]}
            await send(message)

        await self.app(scope, receive, send_with_date)
