"""The kinds of repository a Hub URL names, taken from the URL in this one place.

The Hub addresses a repository's API as `/api/{type}s/{owner}/{name}/...` and its files as
`/{prefix}{owner}/{name}/resolve/...`, where the prefix is `spaces/` or `datasets/` (models have none).
Each route of `podium.hub` is written once with `API` or `FILES` at its front; the URL convertors
below match only the types in `REPO_TYPES` and hand the route the type's name. Spaces, models and
datasets (issue 12, podium.models) are each a `RepoType` here: where the repository lives, how to find and
check it, and what a new head of `main` means (a space deploys it; a model only records it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from podium.api.deps import readable_space, writable_space
from podium.context import Context, context_of
from podium.models import records
from podium.repos import SpaceRepo


def _check_space(request: Request, space_id: str, write: bool) -> None:
    """The API's 401, 403 or 404 (RepoNotFound) unless the caller may read, or `write`, the space."""
    ctx = context_of(request)
    with ctx.db.session() as session:
        (writable_space if write else readable_space)(request, session, space_id)


def _record_space_head(ctx: Context, session: Session, space_id: str, sha: str) -> bool:
    if (space := ctx.db.find_space(session, space_id)) is None:  # deleted meanwhile
        return False
    space.sha = sha
    return True


@dataclass(frozen=True)
class RepoType:
    name: str  # huggingface_hub's repo_type: "space"
    api_segment: str  # in /api/{api_segment}/{owner}/{name}/...
    files_prefix: str  # in /{files_prefix}{owner}/{name}/resolve/... (and git's URLs)
    git_path: Callable[[str], str]  # the bare repository of repo_id, relative to the repositories folder
    find: Callable[[Context, Session, str], object | None]  # the record of repo_id (`owner`, `name`, `private`)
    check_access: Callable[[Request, str, bool], None]  # (request, repo_id, write), raising ApiError
    record_head: Callable[[Context, Session, str, str], bool]  # (ctx, session, repo_id, sha): main's new head
    deploys: bool  # whether a new head of main is deployed (spaces) or only recorded (models, datasets)

    def git(self, request: Request, repo_id: str) -> SpaceRepo:
        return self.git_of(context_of(request), repo_id)

    def git_of(self, ctx: Context, repo_id: str) -> SpaceRepo:
        return SpaceRepo(ctx.settings.repos_dir / self.git_path(repo_id))


SPACE = RepoType(
    name="space",
    api_segment="spaces",
    files_prefix="spaces/",
    git_path=lambda space_id: f"{space_id}.git",  # as the supervisor's `repo`
    find=lambda ctx, session, space_id: ctx.db.find_space(session, space_id),
    check_access=_check_space,
    record_head=_record_space_head,
    deploys=True,
)


def _hosted(name: str, files_prefix: str) -> RepoType:
    """Models and datasets: podium.models keeps them; nothing is built from them."""
    return RepoType(
        name=name,
        api_segment=f"{name}s",
        files_prefix=files_prefix,
        git_path=lambda repo_id: records.relative_path(name, repo_id),
        find=lambda _ctx, session, repo_id: records.find(session, name, repo_id),
        check_access=lambda request, repo_id, write: records.check_access(name, request, repo_id, write),
        record_head=lambda ctx, session, repo_id, sha: records.record_head(ctx, session, name, repo_id, sha),
        deploys=False,
    )


MODEL = _hosted("model", "")  # the Hub's model URLs have no prefix: /{owner}/{name}/resolve/...
DATASET = _hosted("dataset", "datasets/")
REPO_TYPES = {repo_type.name: repo_type for repo_type in (SPACE, MODEL, DATASET)}
HOSTED = (MODEL, DATASET)


class _ApiSegment(Convertor[str]):
    regex = "|".join(re.escape(t.api_segment) for t in REPO_TYPES.values())

    def convert(self, value: str) -> str:
        return next(t.name for t in REPO_TYPES.values() if t.api_segment == value)

    def to_string(self, value: str) -> str:
        return REPO_TYPES[value].api_segment


def prefix_pattern(repo_type: RepoType) -> str:
    """A type's prefix as the router matches it; the empty one (models) only where no address of Podium's
    own begins (`/apps/a/resolve/...` stays the app a/resolve's, never the model apps/a's)."""
    if repo_type.files_prefix:
        return re.escape(repo_type.files_prefix)
    return "(?!(?i:" + "|".join(sorted(map(re.escape, records.RESERVED_OWNERS))) + ")/)"


class _FilesPrefix(Convertor[str]):
    # The empty prefix (models) last: `/spaces/a/b/...` is the space a/b, never the model spaces/a.
    regex = "|".join(prefix_pattern(t) for t in sorted(REPO_TYPES.values(), key=lambda t: not t.files_prefix))

    def convert(self, value: str) -> str:
        return next(t.name for t in REPO_TYPES.values() if t.files_prefix == value)

    def to_string(self, value: str) -> str:
        return REPO_TYPES[value].files_prefix


class _HostedSegment(_ApiSegment):
    """Only the types Podium hosts without running them (models, datasets): their own info and list routes."""

    regex = "|".join(re.escape(t.api_segment) for t in HOSTED)


class _Tail(Convertor[str]):
    """The rest of the URL, like `path` but with line breaks too: a name holding one is then refused
    in words (400) by the route, not missed by the router (a bare 404)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hub_api_segment", _ApiSegment())
register_url_convertor("hub_hosted_segment", _HostedSegment())
register_url_convertor("hub_files_prefix", _FilesPrefix())
register_url_convertor("hub_tail", _Tail())

# The front of every Hub route (`repo_type` arrives as the RepoType's name), and its last parameter.
API = "/api/{repo_type:hub_api_segment}/{owner}/{name}"
FILES = "/{repo_type:hub_files_prefix}{owner}/{name}"
HOSTED_API = "/api/{repo_type:hub_hosted_segment}"  # + "/{owner}/{name}": a model's or dataset's own routes
TAIL = "{tail:hub_tail}"
