"""Moving a space to another name or owner (huggingface_hub's `move_repo`), as the Hub does it.

Everything of the space goes with it: its files and history, variables and secrets, builds and runs,
its /data and logs. Its app runs under one name only (its URL prefix, `SPACE_ID`, `SPACE_HOST` are
part of its start), so a space that was serving starts again under the new name, from the same
environment where the owner stays the same. The old name is left behind as a redirect (307 to the new
name, `podium.api.renamed`) until a space takes it again. The old address grants nothing at the new
one: a private space's cookie and ticket name the space they were made for.
"""

from __future__ import annotations

from podium_runner.backend import BackendUnavailable
from podium_runner.stages import Stage

from podium import space_hub
from podium.auth import User
from podium.context import Context
from podium.db import SpaceRedirect
from podium.errors import ApiError, not_found
from podium.lifecycle.deploys import LATEST_FAILURES, Intent
from podium.names import split_repo_id
from podium.spaces.lifecycle import CLAIMING_AN_ADDRESS, check_id_free, claim_id, new_space_id


async def move_space(ctx: Context, user: User, from_id: str, to_id: str) -> str:
    """Move the space `from_id` to `to_id` for `user`; the new id, or an ApiError that says why not."""
    to_id = new_space_id(user, *split_repo_id(to_id, "toRepo", "space"), "move spaces into")
    with ctx.db.session() as session:
        space = ctx.db.find_space(session, from_id)
        if space is None or not user.can_read(space):
            raise not_found(from_id)
        if (refusal := user.write_refusal(space.owner, f"move {from_id}")) is not None:
            raise ApiError(403, refusal)
        if to_id == from_id:
            raise ApiError(400, f"{from_id} is already called that; name another id to move it to")
        check_id_free(ctx, session, to_id, moving=space)  # taken for good once the space has stopped
    async with ctx.commit_locks[from_id]:  # no upload lands halfway through the move
        with ctx.db.session() as session:
            space = ctx.db.find_space(session, from_id)
            if space is None:
                raise not_found(from_id)
            before = Stage(space.stage), space.error_message, space.sha, space.serving_sha
        try:
            await ctx.supervisor.move(from_id, to_id)
        except (BackendUnavailable, OSError) as exc:
            _start_again(ctx, from_id, *before)
            raise ApiError(409, f"{from_id} could not move to {to_id}: {exc}") from None
        try:
            _rename(ctx, from_id, to_id)
        except ApiError:  # the name was taken meanwhile: everything goes back
            await ctx.supervisor.move(to_id, from_id)
            _start_again(ctx, from_id, *before)
            raise
    space_hub.retire(ctx.db, from_id)  # the stopped instance's read token; the new one gets its own
    _start_again(ctx, to_id, *before)
    return to_id


def _rename(ctx: Context, from_id: str, to_id: str) -> None:
    """The space's record takes its new id, and its old one becomes a redirect to it."""
    with CLAIMING_AN_ADDRESS, ctx.db.session() as session:
        space = ctx.db.find_space(session, from_id)
        claim_id(ctx, session, to_id, moving=space)
        old_owner, old_name = space.owner, space.name
        space.owner, space.name = to_id.split("/")
        session.add(SpaceRedirect(owner=old_owner, name=old_name, space_id=space.id))


def _start_again(ctx: Context, space_id: str, stage: Stage, message: str | None, sha: str | None, serving: str | None):
    """Bring the space back to where it was before the move, under `space_id`."""
    if sha and (stage.is_serving or stage.is_transitional):
        ctx.supervisor.deploy(space_id, sha)
    elif serving and stage in LATEST_FAILURES:  # an older revision served behind its latest one's failure
        ctx.supervisor.set_stage(space_id, stage, message)
        ctx.supervisor.deploy(space_id, serving, intent=Intent.RESTORE_BEHIND_FAILURE)
    else:
        ctx.supervisor.set_stage(space_id, stage, message)
