"""A space's repository settings (huggingface_hub's `update_repo_settings`): its visibility.

The Hub's settings for a space are its visibility and gating. Gating (access requests that an owner
approves) has no counterpart in Podium, so `gated` is refused unless it asks for what every Podium
space is: not gated. A space made private is closed to anonymous visitors from the next request on
(the spaces origin reads the record on each one); one made public opens.
"""

from __future__ import annotations

from typing import Any

from podium.context import Context
from podium.errors import ApiError
from podium.spaces.lifecycle import space_record

SETTINGS = ("visibility", "private", "gated")
VISIBILITIES = {"public": False, "private": True}


def update_settings(ctx: Context, space_id: str, body: dict[str, Any]) -> None:
    """Apply the Hub's settings body to the space, or refuse it whole (400) saying which part and why."""
    if not isinstance(body, dict) or not body:
        raise ApiError(400, f"{space_id}: send at least one setting: {', '.join(SETTINGS)}")
    if unknown := sorted(set(body) - set(SETTINGS)):
        raise ApiError(
            400, f"{space_id}: Podium has no setting {', '.join(map(repr, unknown))}; it has {', '.join(SETTINGS)}"
        )
    if body.get("gated", False) is not False:
        raise ApiError(
            400,
            f"{space_id}: Podium has no gated spaces (access requests approved by the owner); make the space "
            "private instead, and give readers a read token scoped to its owner",
        )
    private = _private(space_id, body)
    if private is not None:
        with ctx.db.session() as session:
            space_record(ctx, session, space_id).private = private


def _private(space_id: str, body: dict[str, Any]) -> bool | None:
    visibility, private = body.get("visibility"), body.get("private")
    if visibility is not None and private is not None:
        raise ApiError(400, f"{space_id}: send visibility or private, not both")
    if private is not None:
        if not isinstance(private, bool):
            raise ApiError(400, f"{space_id}: private must be true or false, not {private!r}")
        return private
    return None if visibility is None else private_for(space_id, visibility)


def private_for(space_id: str, visibility: object) -> bool:
    """Whether the Hub's `visibility` makes `space_id` private; 400 for one Podium lacks."""
    if visibility not in VISIBILITIES:
        raise ApiError(
            400,
            f"{space_id}: visibility {visibility!r} is not one Podium has: use public or private (a 'protected' "
            "space, shown but with its files kept to itself, has no counterpart here)",
        )
    return VISIBILITIES[visibility]
