"""The Settings tab's changes as plain HTML forms, answered without JavaScript.

Each form posts its fields and the page's `csrf_token` here. The change is made by the function the
API's route calls too (podium.spaces), and the answer is a 303 to a page
that says what happened (podium.web.flash). With JavaScript on, podium.js sends the same forms to
the API instead and stays on the page.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from podium.db import Space
from podium.errors import ApiError
from podium.spaces.lifecycle import (
    delete_space,
    pause_space,
    restart_space,
    set_hardware,
    set_sleep_time,
    space_record,
)
from podium.spaces.variables import MODELS, delete_entry, set_entry
from podium.web import flash
from podium.web.access import Visitor, context_of, editable_space, require_change_allowed
from podium.web.routing import PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _owned(request: Request, owner: str, name: str, csrf_token: str) -> tuple[Visitor, Space]:
    """The visitor and their space, if the form came from Podium's page and they may change it."""
    visitor = require_change_allowed(request, csrf_token)
    return visitor, editable_space(request, owner, name)


async def _answer(
    request: Request, visitor: Visitor, space: Space, change: Callable[[], object], done: str, to: str | None = None
) -> RedirectResponse:
    """Make the change; back to the Settings tab with its error in words, or on to `to` saying `done`."""
    settings = f"/spaces/{space.space_id}/settings"
    try:
        result = change()
        if inspect.isawaitable(result):
            await result
    except ApiError as exc:
        return flash.redirect(request, visitor, settings, "error", exc.message)
    return flash.redirect(request, visitor, to or settings, "ok", done)


def _edit_record(request: Request, space: Space, edit: Callable[..., None], *args: str) -> None:
    ctx = context_of(request)
    with ctx.db.session() as session:
        edit(space_record(ctx, session, space.space_id), *args)


def _register(kind: str) -> None:
    what = kind.removesuffix("s")
    kept = " (its value is not shown again)" if kind == "secrets" else ""

    @router.post(f"/spaces/{{owner}}/{{name}}/settings/{kind}", name=f"form_set_{kind}")
    async def set_item(
        request: Request, owner: str, name: str, key: str = Form(""), value: str = Form(""), csrf_token: str = Form("")
    ):
        visitor, space = _owned(request, owner, name, csrf_token)
        return await _answer(
            request,
            visitor,
            space,
            lambda: _edit_record(request, space, set_entry, kind, key, value),
            f"Saved {what} {key}{kept}. Restart the space to give it to the app now.",
        )

    @router.post(f"/spaces/{{owner}}/{{name}}/settings/{kind}/delete", name=f"form_delete_{kind}")
    async def delete_item(request: Request, owner: str, name: str, key: str = Form(""), csrf_token: str = Form("")):
        visitor, space = _owned(request, owner, name, csrf_token)
        return await _answer(
            request,
            visitor,
            space,
            lambda: _edit_record(request, space, delete_entry, kind, key),
            f"Deleted {what} {key}.",
        )


for _kind in MODELS:
    _register(_kind)


@router.post("/spaces/{owner}/{name}/settings/hardware")
async def hardware(request: Request, owner: str, name: str, flavor: str = Form(""), csrf_token: str = Form("")):
    visitor, space = _owned(request, owner, name, csrf_token)
    return await _answer(
        request,
        visitor,
        space,
        lambda: set_hardware(context_of(request), space.space_id, flavor),
        f"{space.space_id} is set to {flavor}; if it runs, it restarts there now.",
    )


@router.post("/spaces/{owner}/{name}/settings/sleeptime")
async def sleep_time(request: Request, owner: str, name: str, seconds: int = Form(), csrf_token: str = Form("")):
    visitor, space = _owned(request, owner, name, csrf_token)
    after = "never sleeps" if seconds < 0 else f"sleeps after {seconds} seconds without visitors"
    return await _answer(
        request,
        visitor,
        space,
        lambda: set_sleep_time(context_of(request), space.space_id, seconds),
        f"{space.space_id} {after}.",
    )


@router.post("/spaces/{owner}/{name}/settings/restart")
async def restart(request: Request, owner: str, name: str, factory: str = Form(""), csrf_token: str = Form("")):
    visitor, space = _owned(request, owner, name, csrf_token)
    rebuild = factory == "true"
    return await _answer(
        request,
        visitor,
        space,
        lambda: restart_space(context_of(request), space.space_id, rebuild),
        f"Rebuilding {space.space_id} from scratch." if rebuild else f"Restarting {space.space_id}.",
        to=f"/spaces/{space.space_id}/logs" if rebuild else f"/spaces/{space.space_id}",
    )


@router.post("/spaces/{owner}/{name}/settings/pause")
async def pause(request: Request, owner: str, name: str, csrf_token: str = Form("")):
    visitor, space = _owned(request, owner, name, csrf_token)
    return await _answer(
        request,
        visitor,
        space,
        lambda: pause_space(context_of(request), space.space_id),
        f"Paused {space.space_id}; restart it to run it again.",
    )


@router.post("/spaces/{owner}/{name}/settings/delete")
async def delete(request: Request, owner: str, name: str, confirm: str = Form(""), csrf_token: str = Form("")):
    """Deleting asks for the space's name, typed: a slip of the keyboard must not delete a space."""
    visitor, space = _owned(request, owner, name, csrf_token)
    if confirm.strip() != space.space_id:
        return flash.redirect(
            request,
            visitor,
            f"/spaces/{space.space_id}/settings",
            "error",
            f"Type {space.space_id} exactly to confirm; nothing was deleted.",
        )
    return await _answer(
        request,
        visitor,
        space,
        lambda: delete_space(context_of(request), space.space_id),
        f"Deleted {space.space_id}.",
        to="/",
    )
