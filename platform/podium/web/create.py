"""/new: the New space page, and starting a new space from a template or from the visitor's files.

The form works without JavaScript: it posts here (multipart, with the page's `csrf_token`) and the
space is made by podium.spaces, as through the API: `create_space`, then `apply_commit` for a template or
`replace_files` for an upload, which is checked before the space is made so a refused upload leaves
nothing behind. With JavaScript, podium.js posts the same form here (for its progress bar and a
dropped folder's paths) and asks for JSON: a refusal is `{"error": ...}` with its status, shown in
place, and a new space is a 201 at its `Location`, where the script goes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, UploadFile

from podium.errors import ApiError
from podium.repos import Change
from podium.settings import Limits
from podium.spaces.files import apply_commit, replace_files, upload_changes
from podium.spaces.lifecycle import CreateRepo, create_space
from podium.upload_form import read_upload_form
from podium.uploads import without_top_folder
from podium.web import flash
from podium.web.access import (
    PageError,
    Visitor,
    context_of,
    identify,
    require_change_allowed,
    signed_in,
)
from podium.web.routing import PageRoute, asks_for_json
from podium.web.space_templates import TEMPLATE_SDKS, template_files
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

FIELDS = ("owner", "name", "sdk", "private", "source")


@router.get("/new")
def new_space_page(request: Request):
    if identify(request) is None:
        raise PageError(
            401, "Sign in to create a space", "New spaces belong to someone: sign in with your Podium token first."
        )
    return render(request, "new.html", sdks=TEMPLATE_SDKS, form={})


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _chosen(form: FormData, key: str) -> list[UploadFile]:
    # A file input with nothing chosen still sends one part, with an empty filename.
    return [item for item in form.getlist(key) if isinstance(item, UploadFile) and item.filename]


async def _uploaded(form: FormData) -> list[tuple[str, bytes]]:
    """The files chosen in the form, as (path in the space, content).

    A folder's files arrive named by their path inside the chosen folder, its own name first
    (`demo/app.py`), which goes: the space's files are what is inside it. Chromium sends these
    paths in a plain form post too; a browser that sends bare names would scramble the folder."""
    folder = _chosen(form, "folder")
    if any("/" not in (item.filename or "") for item in folder):
        raise ApiError(
            400,
            "Your browser sent the folder's files without their paths inside the folder, so "
            "they cannot be put in place. Upload the folder as a .zip, or turn JavaScript on.",
        )
    files = without_top_folder([(item.filename or "", await item.read()) for item in folder])
    return files + [(item.filename or "", await item.read()) for item in _chosen(form, "files")]


async def _new_files(space_id: str, fields: dict[str, str], form: FormData, limits: Limits) -> list[Change]:
    """What the new space starts with, checked before it is made."""
    if fields["source"] == "upload":
        files = await _uploaded(form)
        if not files:
            raise ApiError(400, "Choose a folder or a .zip to upload, or start from a template.")
        return upload_changes(space_id, files, limits)
    if _chosen(form, "folder") or _chosen(form, "files"):
        raise ApiError(
            400,
            "You chose files, but “Start from” says a template: choose “My files” to upload "
            "them, or choose nothing to start from the template.",
        )
    try:
        return template_files(fields["sdk"], fields["name"])
    except ValueError as exc:
        raise ApiError(400, f"{space_id}: {exc}") from None


def _refused(request: Request, fields: dict[str, str], error: ApiError) -> Response:
    """The form again, saying why; to podium.js, the reason alone."""
    if asks_for_json(request):
        return JSONResponse({"error": error.message}, status_code=error.status)
    return render(
        request,
        "new.html",
        status_code=error.status,
        sdks=TEMPLATE_SDKS,
        form=fields,
        flashes=[("error", error.message)],
    )


def _created(request: Request, visitor: Visitor, space_id: str) -> Response:
    """A 303 to the new space, whose page says it builds; to podium.js, a 201 at the same place: it
    goes there itself (XMLHttpRequest would follow a 303 and spend the message on a page it drops)."""
    response = flash.redirect(request, visitor, f"/spaces/{space_id}", "ok", f"Created {space_id}; it builds now.")
    if asks_for_json(request):
        response.status_code = 201
    return response


@router.post("/new")
async def create_from_form(request: Request):
    visitor = signed_in(request)
    ctx = context_of(request)
    limits = ctx.settings.limits

    def from_a_podium_page(fields: FormData) -> None:  # before any file is read
        require_change_allowed(request, _text(fields, "csrf_token"))

    try:
        form = await read_upload_form(request, "the new space", limits, before_files=from_a_podium_page)
    except ApiError as exc:
        return _refused(request, {}, exc)
    from_a_podium_page(form)  # a form without files
    fields = {key: _text(form, key) for key in FIELDS}
    space_id = f"{fields['owner']}/{fields['name']}"
    try:
        changes = await _new_files(space_id, fields, form, limits)
        await create_space(
            ctx,
            visitor.user,
            CreateRepo(
                type="space",
                name=fields["name"],
                organization=fields["owner"],
                sdk=fields["sdk"],
                private=fields["private"] == "true",
            ),
        )
    except ApiError as exc:
        return _refused(request, fields, exc)
    if fields["source"] == "upload":
        await replace_files(ctx, space_id, changes)
    else:
        await apply_commit(ctx, space_id, changes, f"Start from the {fields['sdk']} template")
    return _created(request, visitor, space_id)
