"""/new: the New space page, and starting a new space from a template.

The page's script creates the space with the API (`POST /api/repos/create`) and uploads a dropped
folder or .zip with the API's plain upload, both with the session cookie and the CSRF token. A
template needs no upload: its files are committed here through the API's own `apply_commit`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from podium.web.access import PageError, context_of, editable_space, identify, require_change_allowed
from podium.web.routing import PageRoute
from podium.web.space_templates import TEMPLATE_SDKS, template_files
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/new")
def new_space_page(request: Request):
    if identify(request) is None:
        raise PageError(401, "Sign in to create a space",
                        "New spaces belong to someone: sign in with your Podium token first.")
    return render(request, "new.html", sdks=TEMPLATE_SDKS, form={})


@router.post("/spaces/{owner}/{name}/template")
async def start_from_template(request: Request, owner: str, name: str, sdk: str):
    require_change_allowed(request, None)
    space = editable_space(request, owner, name)
    try:
        changes = template_files(sdk, name)
    except ValueError as exc:
        raise PageError(400, "No such template", f"{space.space_id}: {exc}") from None
    # Imported here: podium.api imports podium.web (for the session cookie), so not at module level.
    from podium.api import commits

    summary = f"Start from the {sdk} template"
    sha = await commits.apply_commit(context_of(request), space.space_id, changes, summary)
    return JSONResponse({"sha": sha, "url": f"/spaces/{space.space_id}"})
