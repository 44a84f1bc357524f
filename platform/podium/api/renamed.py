"""Old names of moved repositories answer as on the Hub: a 307 to the same URL under the new name.

It covers the API (`/api/{spaces,models,datasets}/{owner}/{name}/...`), the files and git
(`/spaces/...`, `/datasets/...` and a model's `/{owner}/{name}/...`: resolve, clone, fetch, push) and
the repository's page, for every method (307 keeps the method and body, and huggingface_hub and git
follow it on the same host). A private repository's new name is told only to a caller who may read
it; anyone else gets the 404 of a name that does not exist. A name is looked up here only when it
has a redirect: a repository of its type that takes the name again removes it
(`podium.spaces.lifecycle.claim_id`, `podium.models.records.claim`).

It stands in front of the upstream cache (podium.upstream), so a moved model's old name is never
fetched from the upstream Hub instead.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.api.deps import current_user
from podium.context import context_of
from podium.db import HubRepo, Space
from podium.errors import ApiError
from podium.hub.repo_types import REPO_TYPES
from podium.models import records

# (the URL's front, owner, name, the rest): the API's, then the files' and pages' (a model's has no prefix).
_API_URL = re.compile(r"^(/api/(spaces|models|datasets)/)([^/]+)/([^/]+)(/.*)?$")
_FILES_URL = re.compile(r"^(/(spaces/|datasets/)?)([^/]+)/([^/]+)(/.*)?$")
_BY_API_SEGMENT = {kind.api_segment: kind.name for kind in REPO_TYPES.values()}
_BY_FILES_PREFIX = {kind.files_prefix: kind.name for kind in REPO_TYPES.values()}
_GIT_SUFFIX = ".git"


class RenamedRepos:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _old_name(scope["path"]) if scope["type"] == "http" else None
        if found is not None and (location := _moved_to(Request(scope), *found)) is not None:
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _old_name(path: str) -> tuple[str, str, str, str, str] | None:
    """(repo_type, front, owner, name, rest) of a URL that names a repository."""
    if match := _API_URL.match(path):
        return _BY_API_SEGMENT[match[2]], match[1], match[3], match[4], match[5] or ""
    if (match := _FILES_URL.match(path)) and (match[2] or match[3].lower() not in records.RESERVED_OWNERS):
        return _BY_FILES_PREFIX[match[2] or ""], match[1], match[3], match[4], match[5] or ""
    return None


def _moved_to(request: Request, repo_type: str, front: str, owner: str, name: str, rest: str) -> str | None:
    """Where the request goes under the repository's new name, when the name it uses is one it left."""
    suffix = _GIT_SUFFIX if name.endswith(_GIT_SUFFIX) and front != "/api/" else ""  # git's URLs may end in .git
    old_id = f"{owner}/{name.removesuffix(suffix)}"
    ctx = context_of(request)
    with ctx.db.session() as session:
        if repo_type == "space":
            repo: Space | HubRepo | None = ctx.db.moved_space(session, old_id)
        else:
            repo = records.moved(session, repo_type, old_id)
        if repo is None or (repo.private and not _may_read(request, repo)):
            return None
        new_id = repo.space_id if isinstance(repo, Space) else repo.repo_id
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{front}{new_id}{suffix}{rest}{query}"


def _may_read(request: Request, repo: Space | HubRepo) -> bool:
    try:
        user = current_user(request)
    except ApiError:  # a bad token is the route's to refuse, under the name it used
        return False
    if user is None:
        return False
    return user.can_read(repo) if isinstance(repo, Space) else records.may_read(user, repo)
