"""Duplicating a model or dataset (huggingface_hub's `duplicate_repo`), as the Hub does it: the copy gets the
whole git history (every branch and tag), the LFS files the original may use, and its card; visibility
defaults to the original's. Spaces are podium.spaces.duplicate's."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from podium.auth import User
from podium.context import Context
from podium.db import HubRepo
from podium.errors import ApiError
from podium.hub.repo_settings import copy_privacy
from podium.models import records
from podium.names import split_repo_id


class DuplicateRepo(BaseModel):
    """The body of the Hub's `POST /api/{models,datasets}/{id}/duplicate`."""

    repository: str
    visibility: str | None = None
    private: bool | None = None  # what clients before `visibility` sent
    resourceGroupId: str | None = None


async def duplicate(ctx: Context, user: User, repo_type: str, from_id: str, body: DuplicateRepo) -> str:
    """Copy the model or dataset `from_id` to `body.repository` for `user`; the new id, or an ApiError that
    says why not (nothing is left of the copy then)."""
    owner, name = split_repo_id(body.repository, "repository", repo_type)
    to_id = records.new_repo_id(user, repo_type, owner, name, f"create {repo_type}s")
    if body.resourceGroupId is not None:
        raise ApiError(400, "Podium has no resource groups; duplicate without resource_group_id")
    with ctx.db.session() as session:
        original = records.find(session, repo_type, from_id)
        if original is None or not records.may_read(user, original):
            raise records.not_found(repo_type, from_id)
        private = copy_privacy(to_id, body.visibility, body.private, original.private)
    with ctx.db.session() as session:
        records.claim(session, repo_type, to_id)
        session.add(HubRepo(repo_type=repo_type, owner=owner, name=name, private=private))
    copy = records.git_of(ctx, repo_type, to_id)
    try:
        async with ctx.commit_locks[from_id]:  # a copy of one revision, not of an upload halfway through
            await asyncio.to_thread(records.git_of(ctx, repo_type, from_id).copy_to, copy.path)
    except Exception:
        await records.delete(ctx, repo_type, to_id)
        raise
    with ctx.db.session() as session:
        records.record_head(ctx, session, repo_type, to_id, await asyncio.to_thread(copy.head))
    return to_id
