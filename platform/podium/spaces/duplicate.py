"""Duplicating a space (huggingface_hub's `duplicate_repo`), as the Hub does it.

The copy gets the whole git history (every branch and tag) and the LFS objects the original may use,
its sdk and card, and its variables (the Hub copies public variables); never its secrets, which stay
the original's: the caller passes the copy's own. Visibility defaults to the original's, hardware to
Podium's default flavor. It builds and starts like a space that was just pushed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from podium_runner.hardware import FLAVORS
from pydantic import BaseModel

from podium.auth import User
from podium.context import Context
from podium.db import Space
from podium.errors import ApiError, not_found
from podium.hub.repo_settings import copy_privacy
from podium.names import split_repo_id
from podium.spaces.lifecycle import (
    CLAIMING_AN_ADDRESS,
    KeyValue,
    SleepSeconds,
    claim_id,
    new_space_id,
    sleep_time_of,
)
from podium.spaces.variables import set_entry

# The Hub's storage tiers: its docs say persistent storage is gone and the setting ignored; every Podium
# space has its own /data (PODIUM_SPACE_DATA_GB), so a tier is accepted and changes nothing.
STORAGE_TIERS = ("small", "medium", "large")


class DuplicateSpace(BaseModel):
    """The body of the Hub's `POST /api/spaces/{id}/duplicate` (huggingface_hub's `duplicate_repo`)."""

    repository: str
    visibility: str | None = None
    private: bool | None = None  # what clients before `visibility` sent
    hardware: str | None = None
    storageTier: str | None = None
    sleepTimeSeconds: SleepSeconds | None = None
    secrets: list[KeyValue] = []
    variables: list[KeyValue] = []
    volumes: list[dict[str, Any]] | None = None
    resourceGroupId: str | None = None


def _check_unsupported(body: DuplicateSpace) -> None:
    if body.volumes:
        raise ApiError(400, "Podium mounts no Hub volumes into spaces; duplicate without volumes")
    if body.resourceGroupId is not None:
        raise ApiError(400, "Podium has no resource groups; duplicate without resource_group_id")
    if body.storageTier is not None and body.storageTier not in STORAGE_TIERS:
        raise ApiError(400, f"storage tier {body.storageTier!r} is unknown; use one of {', '.join(STORAGE_TIERS)}")
    if body.hardware is not None and body.hardware not in FLAVORS:
        raise ApiError(400, f"hardware {body.hardware!r} is unknown; use one of {', '.join(FLAVORS)}")


async def duplicate_space(ctx: Context, user: User, from_id: str, body: DuplicateSpace) -> str:
    """Copy the space `from_id` to `body.repository` for `user` and deploy it; the new id, or an ApiError."""
    owner, name = split_repo_id(body.repository, "repository", "space")
    to_id = new_space_id(user, owner, name, "create spaces under")
    _check_unsupported(body)
    with ctx.db.session() as session:
        original = ctx.db.find_space(session, from_id)
        if original is None or not user.can_read(original):
            raise not_found(from_id)
        private = copy_privacy(to_id, body.visibility, body.private, original.private)
        variables = [(v.key, v.value, v.description) for v in original.variables]
        sdk, card = original.sdk, dict(original.card_data or {})
    with CLAIMING_AN_ADDRESS, ctx.db.session() as session:
        claim_id(ctx, session, to_id)
        space = Space(
            owner=owner,
            name=name,
            sdk=sdk,
            card_data=card,
            private=private,
            hardware=body.hardware or ctx.settings.default_hardware,
            sleep_time=None if body.sleepTimeSeconds is None else sleep_time_of(body.sleepTimeSeconds),
            stage="NO_APP_FILE",
            error_message=f"duplicated from {from_id}; copying its files",
        )
        session.add(space)
        for key, value, description in variables:
            set_entry(space, "variables", key, value, description)
        for kind, entries in (("variables", body.variables), ("secrets", body.secrets)):
            for entry in entries:
                set_entry(space, kind, entry.key, entry.value, entry.description)
    try:
        async with ctx.commit_locks[from_id]:  # a copy of one revision, not of an upload halfway through
            await asyncio.to_thread(ctx.supervisor.repo(from_id).copy_to, ctx.supervisor.repo(to_id).path)
    except Exception:
        await ctx.supervisor.delete(to_id)
        with ctx.db.session() as session:
            session.delete(ctx.db.find_space(session, to_id))
        raise
    sha = ctx.supervisor.repo(to_id).head()
    with ctx.db.session() as session:
        ctx.db.find_space(session, to_id).sha = sha
    if sha:
        ctx.supervisor.deploy(to_id, sha)
    return to_id
