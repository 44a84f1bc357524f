"""The Jinja2 environment of Podium's pages: templates, filters, and the context every page gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from podium_runner.stages import Stage
from starlette.requests import Request
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static/"

_STAGE_KINDS = {
    Stage.RUNNING: "ok", Stage.RUNNING_BUILDING: "ok", Stage.RUNNING_APP_STARTING: "ok",
    Stage.BUILDING: "busy", Stage.APP_STARTING: "busy", Stage.DELETING: "busy",
    Stage.STOPPED: "idle", Stage.PAUSED: "idle",
}


def stage_kind(stage: str) -> str:
    """How a stage reads to a visitor: ok, busy, idle, or bad (every error stage)."""
    return _STAGE_KINDS.get(stage, "bad")  # type: ignore[call-overload]


_STAGE_LABELS = {"RUNNING_BUILDING": "Running · building", "RUNNING_APP_STARTING": "Running · starting",
                 "APP_STARTING": "Starting", "NO_APP_FILE": "No app file"}


def stage_label(stage: str) -> str:
    return _STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


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
    """A page with the signed-in user and CSRF token already in its context (see `podium.web.access`)."""
    visitor = getattr(request.state, "visitor", None)
    context.setdefault("flashes", [])
    return templates.TemplateResponse(
        request, template,
        {"user": visitor.user.name if visitor else None, "csrf": visitor.csrf if visitor else "", **context},
        status_code=status_code,
    )
