"""Old names of moved spaces answer as on the Hub: a 307 to the same URL under the space's new name.

It covers the API (`/api/spaces/{owner}/{name}/...`), the files and git (`/spaces/{owner}/{name}/...`:
resolve, clone, fetch, push) and the space's page, for every method (307 keeps the method and body, and
huggingface_hub and git follow it on the same host). A private space's new name is told only to a caller
who may read it; anyone else gets the 404 of a name that does not exist. A name is looked up here only
when it has a redirect: a space that takes the name again removes it (`podium.spaces.lifecycle.claim_id`).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.api.deps import current_user
from podium.context import context_of
from podium.errors import ApiError

_SPACE_URL = re.compile(r"^(/api/spaces/|/spaces/)([^/]+)/([^/]+)(/.*)?$")


class RenamedSpaces:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _SPACE_URL.match(scope["path"]) if scope["type"] == "http" else None
        if match is not None and (location := _moved_to(Request(scope), match)) is not None:
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _moved_to(request: Request, match: re.Match[str]) -> str | None:
    """Where the request goes under the space's new name, when the name it uses is one the space left."""
    prefix, owner, name, rest = match[1], match[2], match[3], match[4] or ""
    db = context_of(request).db
    with db.session() as session:
        space = db.moved_space(session, f"{owner}/{name}")
        if space is None:
            return None
        if space.private:
            try:
                user = current_user(request)
            except ApiError:  # a bad token is the route's to refuse, under the name it used
                return None
            if user is None or not user.can_read(space):
                return None
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{prefix}{space.space_id}{rest}{query}"
