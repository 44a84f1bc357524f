"""The pages: home, a space's tabs (App, Files, Logs, Settings), embedding, the badge, live stages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from podium_runner.front_matter_rules import SDKS
from podium_runner.hardware import FLAVORS
from podium_runner.stages import Stage

from podium.db import Space
from podium.space_access import SpaceAccess, with_ticket
from podium.web.access import PageError, context_of, editable_space, may_edit, readable_space, visible_spaces
from podium.web.badge import badge_svg
from podium.web.routing import PageRoute
from podium.web.templating import STATIC_DIR, render
from podium.web.views import (
    PRIVATE_APP_MESSAGE,
    STAGE_MESSAGES,
    SpaceView,
    embed_snippets,
    stage_kind,
    stage_label,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)

LOG_TAIL_LINES = 200
SHOWN_FILE_LIMIT = 512 * 1024


def _view(request: Request, space: Space) -> SpaceView:
    ctx = context_of(request)
    return SpaceView.of(space, ctx.settings, ctx.supervisor.repo(space.space_id))


def _space_page(request: Request, space: Space, tab: str, template: str, **context: object):
    settings = context_of(request).settings
    view = _view(request, space)
    supervisor = context_of(request).supervisor
    frozen_bytes = supervisor.freezer.frozen_memory(supervisor.state(space.space_id))
    return render(
        request,
        template,
        space=view,
        tab=tab,
        frozen_mib=None if frozen_bytes is None else round(frozen_bytes / 2**20),
        can_edit=may_edit(request.state.visitor, space),
        snippets=embed_snippets(view, settings.pages_url),
        **context,
    )


def _log_urls(space_id: str) -> tuple[str, str]:
    return f"/api/spaces/{space_id}/logs/build", f"/api/spaces/{space_id}/logs/run"


@router.get("/")
def home(request: Request, q: str = "", sdk: str = "", tag: str = ""):
    spaces = [_view(request, s) for s in visible_spaces(request)]
    tags = sorted({t for s in spaces for t in s.tags})
    shown = [s for s in spaces if (not q or s.matches(q)) and (not sdk or s.sdk == sdk) and (not tag or tag in s.tags)]
    shown.sort(key=lambda s: (not s.card.get("pinned"), s.title.lower()))
    return render(
        request,
        "home.html",
        spaces=shown,
        q=q,
        sdk=sdk,
        tag=tag,
        sdks=SDKS,
        tags=tags,
        examples=context_of(request).examples,
    )


@router.get("/stages.json")
def stages(request: Request):
    """Every visible space's stage, for the live badges on the home page."""
    badges = {
        s.space_id: {"stage": s.stage, "label": stage_label(s.stage), "kind": stage_kind(s.stage)}
        for s in visible_spaces(request)
    }
    return JSONResponse(badges, headers={"Cache-Control": "no-store"})


@router.get("/spaces/{owner}/{name}")
async def app_tab(request: Request, owner: str, name: str):
    # async: the supervisor's log streams belong to the event loop (a new one is made on first use).
    space = readable_space(request, owner, name)
    stage = Stage(space.stage)
    # A stopped space is shown in its frame too: the request to it wakes it (the proxy's starting page).
    # A private one only where it has a host of its own, which its ticket's cookie is kept to.
    view = _view(request, space)
    show_frame = (stage.is_serving or stage is Stage.STOPPED) and view.browsable
    message = PRIVATE_APP_MESSAGE if not view.browsable and stage.is_serving else STAGE_MESSAGES.get(stage, "")
    state = context_of(request).supervisor.status(space.space_id)
    # The build log tells the story until the app runs (it ends with the start); then the run log.
    building = stage in (Stage.BUILDING, Stage.APP_STARTING, Stage.BUILD_ERROR, Stage.CONFIG_ERROR, Stage.NO_APP_FILE)
    log = state.build_log if building else state.run_log
    build_url, run_url = _log_urls(space.space_id)
    return _space_page(
        request,
        space,
        "app",
        "space_app.html",
        show_frame=show_frame,
        frame_src=f"/spaces/{space.space_id}/open" if space.private else view.app_url,
        stage_is_transitional=stage.is_transitional,
        stage_message=message,
        log_kind="build" if building else "run",
        log_lines=log.last(LOG_TAIL_LINES),
        log_stream=build_url if building else run_url,
    )


@router.get("/spaces/{owner}/{name}/logs")
async def logs_tab(request: Request, owner: str, name: str):
    space = readable_space(request, owner, name)
    state = context_of(request).supervisor.status(space.space_id)
    build_url, run_url = _log_urls(space.space_id)
    return _space_page(
        request,
        space,
        "logs",
        "space_logs.html",
        build_lines=state.build_log.last(LOG_TAIL_LINES),
        build_stream=build_url,
        run_lines=state.run_log.last(LOG_TAIL_LINES),
        run_stream=run_url,
    )


@router.get("/spaces/{owner}/{name}/files")
def files_tab(request: Request, owner: str, name: str):
    space = readable_space(request, owner, name)
    repo = context_of(request).supervisor.repo(space.space_id)
    files = repo.files(space.sha) if space.sha else []
    commits = repo.log() if space.sha else []
    return _space_page(request, space, "files", "space_files.html", files=files, commits=commits)


@router.get("/spaces/{owner}/{name}/files/{path:path}")
def file_view(request: Request, owner: str, name: str, path: str):
    space = readable_space(request, owner, name)
    repo = context_of(request).supervisor.repo(space.space_id)
    try:
        entry = next(f for f in (repo.files(space.sha) if space.sha else []) if f.path == path)
    except StopIteration:
        raise PageError(
            404, "File not found", f"{space.space_id} has no file {path!r} at its current revision."
        ) from None
    too_large = entry.size > SHOWN_FILE_LIMIT
    data = b"" if too_large else repo.read(space.sha, path)
    try:
        text = None if too_large or b"\x00" in data else data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return _space_page(
        request, space, "files", "space_file.html", path=path, text=text, size=entry.size, too_large=too_large
    )


@router.get("/spaces/{owner}/{name}/embed")
def embed_page(request: Request, owner: str, name: str):
    return _space_page(request, readable_space(request, owner, name), "embed", "space_embed.html")


def _enter(request: Request, owner: str, name: str, embedded: bool) -> RedirectResponse:
    """On to the app on its own origin; into a private space with a ticket for the signed-in visitor."""
    space = readable_space(request, owner, name)
    view = _view(request, space)
    url = view.embed_url if embedded else view.app_url
    if not view.browsable:
        raise PageError(409, "Private spaces need a host of their own", PRIVATE_APP_MESSAGE)
    if space.private:
        signer = context_of(request).signer
        url = with_ticket(url, SpaceAccess(signer).ticket(space.space_id, request.state.visitor.user))
    # The ticket is good for a minute: neither this answer nor the page it leads to may be kept.
    return RedirectResponse(
        url, status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.get("/spaces/{owner}/{name}/open")
def open_app(request: Request, owner: str, name: str):
    """Where the App tab's frame and the Open link point: on to the space's own origin."""
    return _enter(request, owner, name, embedded=False)


@router.get("/spaces/{owner}/{name}/embed/frame")
def embed_frame(request: Request, owner: str, name: str):
    """Where `<podium-space>` points its iframe: on to the space's own origin, in its embedded form."""
    return _enter(request, owner, name, embedded=True)


@router.get("/spaces/{owner}/{name}/badge.svg")
def badge(request: Request, owner: str, name: str):
    space = readable_space(request, owner, name)
    return Response(
        badge_svg(space.space_id, space.stage),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-cache, max-age=0"},
    )


@router.get("/spaces/{owner}/{name}/status.json")
def status(request: Request, owner: str, name: str):
    space = readable_space(request, owner, name)
    return JSONResponse(
        {"stage": space.stage, "errorMessage": space.error_message}, headers={"Cache-Control": "no-store"}
    )


@router.get("/static/{name}")
def static(name: str):
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or not path.is_file():
        return Response("Not found", status_code=404)
    # embed.js is loaded by other sites' pages as a module script: that needs CORS.
    return FileResponse(path, headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})


@router.get("/spaces/{owner}/{name}/settings")
def settings_tab(request: Request, owner: str, name: str):
    space = editable_space(request, owner, name)
    ctx = context_of(request)
    with ctx.db.session() as session:
        record = ctx.db.find_space(session, space.space_id)
        variables = [(v.key, v.value) for v in record.variables]
        secret_keys = [s.key for s in record.secrets]  # only names: values never leave the database
    return _space_page(
        request,
        space,
        "settings",
        "space_settings.html",
        variables=[{"key": k, "value": v} for k, v in variables],
        secrets=[{"key": k} for k in secret_keys],
        hardware_flavors=list(FLAVORS),
    )
