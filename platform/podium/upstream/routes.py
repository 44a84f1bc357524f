"""An admin's hand on the upstream cache: pre-fetch a revision whole (`podium models pull`), list what is
cached, evict a repository (`podium models evict`); blobs no other cached repository names are freed."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from podium.api.deps import require_user
from podium.context import context_of
from podium.errors import ApiError
from podium.upstream.cache import upstream_cache
from podium.upstream.middleware import MAIN, held_here

router = APIRouter(prefix="/api/upstream-cache")
RepoTypeSegment = Literal["models", "datasets"]


def _admin(request: Request) -> None:
    user = require_user(request)
    if not user.admin or user.owner_scope is not None:
        raise ApiError(403, f"only an admin token manages the upstream cache ({user.token_name!r} is none)")


@router.get("")
async def list_cached(request: Request) -> list[dict[str, str]]:
    _admin(request)
    cache = upstream_cache(context_of(request).settings)
    return [{"repo_type": repo_type, "id": repo_id} for repo_type, repo_id in cache.store.cached_repos()]


@router.post("/{type_segment}/{owner}/{name}/pull")
async def pull(type_segment: RepoTypeSegment, owner: str, name: str, request: Request, revision: str = MAIN) -> Any:
    _admin(request)
    repo_type, repo_id = type_segment.removesuffix("s"), f"{owner}/{name}"
    if held_here(request, repo_type, repo_id):
        raise ApiError(409, f"Podium holds {repo_type} {repo_id} itself: it is never fetched from the upstream")
    cache = upstream_cache(context_of(request).settings)
    if cache.endpoint is None:
        raise ApiError(400, "no upstream Hub is set: start podium serve with PODIUM_HUB_UPSTREAM")
    commit = await cache.pull(repo_type, repo_id, revision)
    return {"id": repo_id, "repo_type": repo_type, "sha": commit.sha, "files": len(commit.files)}


@router.delete("/{type_segment}/{owner}/{name}")
async def evict(type_segment: RepoTypeSegment, owner: str, name: str, request: Request) -> dict[str, Any]:
    _admin(request)
    cache = upstream_cache(context_of(request).settings)
    freed = cache.store.evict(type_segment.removesuffix("s"), f"{owner}/{name}")
    return {"id": f"{owner}/{name}", "freedBytes": freed}
