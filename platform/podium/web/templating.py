"""The Jinja2 environment of Podium's pages: templates, filters, and the context every page gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from podium.web import flash
from podium.web.views import stage_kind, stage_label

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static/"


def filesize(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.1f} GB"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(stage_kind=stage_kind, stage_label=stage_label, filesize=filesize)
templates.env.globals["static"] = lambda name: f"{STATIC_PREFIX}{name}"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with the signed-in user, the CSRF token and any flash a redirect brought in its context."""
    visitor = getattr(request.state, "visitor", None)
    brought = flash.carried(request)
    context["flashes"] = [*context.get("flashes", []), *brought]
    response = templates.TemplateResponse(
        request,
        template,
        {"user": visitor.user.name if visitor else None, "csrf": visitor.csrf if visitor else "", **context},
        status_code=status_code,
    )
    if brought:
        flash.shown(request, response)
    return response
