"""A model's or dataset's info and the listing of them, in the Hub's shapes: huggingface_hub's
`model_info`/`dataset_info` (`ModelInfo`, `DatasetInfo`) and `list_models`/`list_datasets` (search,
author, filter by tag). Their files, commits and refs are podium.hub's, as for spaces; creating, deleting
and committing are podium.api's (`repo_type`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from podium.api.deps import current_user
from podium.api.shapes import repo_fields
from podium.auth import User
from podium.context import context_of
from podium.db import HubRepo, Space
from podium.errors import ApiError
from podium.hub.access import open_repo
from podium.hub.entries import siblings_json
from podium.hub.repo_types import HOSTED_API
from podium.models import records
from podium.repos import BRANCH

router = APIRouter()

MAX_LISTED = 1000
_SORTS = {"lastModified": HubRepo.updated_at, "createdAt": HubRepo.created_at, "id": HubRepo.name}


def tags_of(repo_type: str, card: dict[str, Any]) -> list[str]:
    """The tags the Hub derives from a card: its `tags`, library, task, license and datasets."""
    tags = [str(tag) for tag in card.get("tags") or [] if isinstance(tag, str | int | float)]
    for key in ("library_name", "pipeline_tag"):
        if isinstance(card.get(key), str):
            tags.append(card[key])
    if isinstance(card.get("license"), str):
        tags.append(f"license:{card['license']}")
    if repo_type == "model":
        named = card.get("datasets")
        tags += [
            f"dataset:{name}" for name in ([named] if isinstance(named, str) else named or []) if isinstance(name, str)
        ]
    return list(dict.fromkeys(tags))


def used_by(spaces: list[Space], user: User | None, repo_type: str, repo_id: str) -> list[str]:
    """The spaces the caller may see whose README names `repo_id` under `models:` (or `datasets:`)."""
    return [
        space.space_id
        for space in spaces
        if (not space.private or (user is not None and user.acts_for(space.owner)))
        and repo_id in named_repos(space.card_data or {}, repo_type)
    ]


def named_repos(card: dict[str, Any], repo_type: str) -> list[str]:
    """The models (or datasets) a space's card names, as the Hub reads `models:` and `datasets:`."""
    named = card.get(f"{repo_type}s")
    return [name for name in ([named] if isinstance(named, str) else named or []) if isinstance(name, str)]


def repo_json(record: HubRepo, spaces: list[str] | None = None) -> dict[str, Any]:
    card = record.card_data or {}
    data = repo_fields(record, record.repo_id) | {"downloads": 0, "tags": tags_of(record.repo_type, card)}
    if record.repo_type == "model":
        data["modelId"] = record.repo_id
        data |= {key: card[key] for key in ("library_name", "pipeline_tag") if isinstance(card.get(key), str)}
    if spaces is not None:
        data["spaces"] = spaces
    return data


async def _info(request: Request, repo_type: str, owner: str, name: str, revision: str, blobs: bool) -> dict[str, Any]:
    ctx = context_of(request)
    repo = open_repo(request, repo_type, owner, name)
    sha = await repo.resolve(revision)
    with ctx.db.session() as session:
        record = records.readable(request, session, repo_type, repo.repo_id)
        spaces = used_by(list(session.scalars(select(Space))), current_user(request), repo_type, repo.repo_id)
        data = repo_json(record, spaces)
    data["sha"] = sha
    data["siblings"] = await siblings_json(repo, sha, blobs)
    return data


@router.get(HOSTED_API)
async def list_repos(
    repo_type: str,
    request: Request,
    search: str | None = None,
    author: str | None = None,
    filter: list[str] = Query(default=[]),  # noqa: B008 (FastAPI's way to take a repeated parameter)
    sort: str | None = None,
    direction: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Every model (or dataset) the caller may read, newest change first; `search` in the id, `author`
    the owner, each `filter` a tag it has (`filter=license:mit&filter=bert`: both)."""
    if limit is not None and limit < 1:
        raise ApiError(400, "limit must be at least 1")
    if sort is not None and sort not in _SORTS:
        raise ApiError(400, f"sort by one of {', '.join(_SORTS)} (got {sort!r})")
    column = _SORTS[sort or "lastModified"]
    ascending = direction is not None and direction > 0 if sort else False
    user = current_user(request)
    query = select(HubRepo).where(HubRepo.repo_type == repo_type).order_by(column.asc() if ascending else column.desc())
    if author:
        query = query.where(HubRepo.owner == author)
    with context_of(request).db.session() as session:
        found = [record for record in session.scalars(query) if records.may_read(user, record)]
        answer = [repo_json(record) for record in found if not search or search.lower() in record.repo_id.lower()]
    answer = [data for data in answer if all(tag in data["tags"] for tag in filter)]
    return answer[: min(limit or MAX_LISTED, MAX_LISTED)]


@router.get(HOSTED_API + "/{owner}/{name}")
async def repo_info(repo_type: str, owner: str, name: str, request: Request, blobs: bool = False) -> dict[str, Any]:
    """huggingface_hub's `model_info`/`dataset_info`; `blobs` (`files_metadata=True`) adds sizes and ids."""
    return await _info(request, repo_type, owner, name, BRANCH, blobs)


@router.get(HOSTED_API + "/{owner}/{name}/revision/{revision:path}")
async def repo_info_at(
    repo_type: str, owner: str, name: str, revision: str, request: Request, blobs: bool = False
) -> dict[str, Any]:
    return await _info(request, repo_type, owner, name, revision, blobs)
