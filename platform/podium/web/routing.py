"""The pages' route class: a `PageError` raised anywhere in a page becomes a readable error page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from podium.web.access import PageError
from podium.web.templating import render


def asks_for_json(request: Request) -> bool:
    """podium.js asks for the reason alone (`Accept: application/json`); a browser gets a page."""
    return "application/json" in request.headers.get("accept", "")


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PageError as error:
                if asks_for_json(request):
                    return JSONResponse({"error": error.message}, status_code=error.status)
                return render(request, "error.html", status_code=error.status, title=error.title, message=error.message)

        return handle
