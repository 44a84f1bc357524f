"""One repository a Hub request names, opened once the caller may read (or write) it, and git's answers
about it turned into the Hub's errors.

Revisions and paths are read from the raw URL: huggingface_hub quotes a revision whole (`quote(rev,
safe="")`, so a branch `a/b` arrives as `a%2Fb`) and a tree path too, which the decoded path the router
sees cannot tell apart from folders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from fastapi import Request

from podium.context import context_of
from podium.errors import ApiError, revision_not_found
from podium.hub.repo_types import REPO_TYPES, RepoType
from podium.repos import BadRefName, EntryNotFound, RefExists, RevisionNotFound, SpaceRepo

T = TypeVar("T")


@dataclass(frozen=True)
class HubRepo:
    repo_type: RepoType
    repo_id: str
    git: SpaceRepo
    data_dir: Path  # where the LFS store lives

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` (git, blocking) off the event loop, its refusals as the Hub's errors."""
        try:
            return await asyncio.to_thread(work, *args)
        except RevisionNotFound as exc:
            raise revision_not_found(self.repo_id, str(exc.args[0]) if exc.args else "?") from None
        except EntryNotFound as exc:
            raise entry_not_found(self.repo_id, str(exc)) from None
        except BadRefName as exc:
            raise ApiError(400, f"{self.repo_id}: {exc}") from None
        except RefExists as exc:
            raise ApiError(409, f"{self.repo_id}: {exc}") from None

    async def resolve(self, revision: str) -> str:
        return await self.run(self.git.resolve, revision)


def entry_not_found(repo_id: str, path: str) -> ApiError:
    return ApiError(404, f"{repo_id}: Entry not found: no file or folder {path!r} there", code="EntryNotFound")


def open_repo(request: Request, repo_type: str, owner: str, name: str, write: bool = False) -> HubRepo:
    """The repository, once the caller may read it (`write`: change it); else the API's 401/403/404."""
    kind = REPO_TYPES[repo_type]
    repo_id = f"{owner}/{name}"
    kind.check_access(request, repo_id, write)
    return HubRepo(kind, repo_id, kind.git(request, repo_id), context_of(request).settings.data_dir)


def quoted_tail(request: Request, tail: str) -> str:
    """The URL's `tail` (the route's last parameter, decoded by the router) as the client quoted it."""
    decoded = request.scope["path"]
    raw = request.scope.get("raw_path", decoded.encode()).decode("latin-1")
    # The front (type, owner, name, verb) holds no quoted slash: split the raw URL where it ends.
    slashes = decoded[: len(decoded) - len(tail)].count("/")
    return raw.split("/", slashes)[slashes] if raw.count("/") >= slashes else ""


def revision_and_path(request: Request, tail: str) -> tuple[str, str]:
    """The revision and the path in the repository that a `{revision}/{path}` tail holds."""
    revision, _, path = quoted_tail(request, tail).partition("/")
    return unquote(revision), unquote(path).strip("/")
