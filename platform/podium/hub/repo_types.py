"""The kinds of repository a Hub URL names, taken from the URL in this one place.

The Hub addresses a repository's API as `/api/{type}s/{owner}/{name}/...` and its files as
`/{prefix}{owner}/{name}/resolve/...`, where the prefix is `spaces/` or `datasets/` (models have none).
Each route of `podium.hub` is written once with `API` or `FILES` at its front; the URL convertors
below match only the types in `REPO_TYPES` and hand the route the type's name, so another type (issue
12's models and datasets) is one more `RepoType` here, with how to find and check its repositories.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor

from podium.api.deps import readable_space, writable_space
from podium.context import context_of
from podium.repos import SpaceRepo


def _check_space(request: Request, space_id: str, write: bool) -> None:
    """The API's 401, 403 or 404 (RepoNotFound) unless the caller may read, or `write`, the space."""
    ctx = context_of(request)
    with ctx.db.session() as session:
        (writable_space if write else readable_space)(request, session, space_id)


@dataclass(frozen=True)
class RepoType:
    name: str  # huggingface_hub's repo_type: "space"
    api_segment: str  # in /api/{api_segment}/{owner}/{name}/...
    files_prefix: str  # in /{files_prefix}{owner}/{name}/resolve/...
    check_access: Callable[[Request, str, bool], None]  # (request, repo_id, write), raising ApiError
    git: Callable[[Request, str], SpaceRepo]  # the bare repository of repo_id


SPACE = RepoType(
    name="space",
    api_segment="spaces",
    files_prefix="spaces/",
    check_access=_check_space,
    git=lambda request, space_id: context_of(request).supervisor.repo(space_id),
)
REPO_TYPES = {repo_type.name: repo_type for repo_type in (SPACE,)}


class _ApiSegment(Convertor[str]):
    regex = "|".join(re.escape(t.api_segment) for t in REPO_TYPES.values())

    def convert(self, value: str) -> str:
        return next(t.name for t in REPO_TYPES.values() if t.api_segment == value)

    def to_string(self, value: str) -> str:
        return REPO_TYPES[value].api_segment


class _FilesPrefix(Convertor[str]):
    regex = "|".join(re.escape(t.files_prefix) for t in REPO_TYPES.values())

    def convert(self, value: str) -> str:
        return next(t.name for t in REPO_TYPES.values() if t.files_prefix == value)

    def to_string(self, value: str) -> str:
        return REPO_TYPES[value].files_prefix


class _Tail(Convertor[str]):
    """The rest of the URL, like `path` but with line breaks too: a name holding one is then refused
    in words (400) by the route, not missed by the router (a bare 404)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hub_api_segment", _ApiSegment())
register_url_convertor("hub_files_prefix", _FilesPrefix())
register_url_convertor("hub_tail", _Tail())

# The front of every Hub route (`repo_type` arrives as the RepoType's name), and its last parameter.
API = "/api/{repo_type:hub_api_segment}/{owner}/{name}"
FILES = "/{repo_type:hub_files_prefix}{owner}/{name}"
TAIL = "{tail:hub_tail}"
