"""A repository's settings (huggingface_hub's `update_repo_settings`): its visibility, for spaces, models
and datasets alike.

The Hub's settings are visibility and gating. Gating (access requests that an owner approves) has no
counterpart in Podium, so `gated` is refused unless it asks for what every Podium repository is: not
gated. A space made private is closed to anonymous visitors from the next request on (the spaces origin
reads the record on each one); a model or dataset, from the next call; one made public opens.
"""

from __future__ import annotations

from typing import Any

from podium.context import Context
from podium.errors import ApiError
from podium.hub.repo_types import RepoType

SETTINGS = ("visibility", "private", "gated")
VISIBILITIES = {"public": False, "private": True}


def update_settings(ctx: Context, kind: RepoType, repo_id: str, body: Any) -> None:
    """Apply the Hub's settings body to the repository, which the caller may change, or refuse it whole
    (400) saying which part and why."""
    private = requested_privacy(repo_id, body)
    if private is not None:
        with ctx.db.session() as session:
            record = kind.find(ctx, session, repo_id)
            if record is None:
                raise ApiError(404, f"Repository Not Found: the {kind.name} {repo_id} was deleted meanwhile")
            record.private = private


def requested_privacy(repo_id: str, body: Any) -> bool | None:
    """Whether the settings body makes the repository private (None: it leaves that as it is)."""
    if not isinstance(body, dict) or not body:
        raise ApiError(400, f"{repo_id}: send at least one setting: {', '.join(SETTINGS)}")
    if unknown := sorted(set(body) - set(SETTINGS)):
        raise ApiError(
            400, f"{repo_id}: Podium has no setting {', '.join(map(repr, unknown))}; it has {', '.join(SETTINGS)}"
        )
    if body.get("gated", False) is not False:
        raise ApiError(
            400,
            f"{repo_id}: Podium has no gated repositories (access requests approved by the owner); make it "
            "private instead, and give readers a read token scoped to its owner",
        )
    visibility, private = body.get("visibility"), body.get("private")
    if visibility is not None and private is not None:
        raise ApiError(400, f"{repo_id}: send visibility or private, not both")
    if private is not None:
        if not isinstance(private, bool):
            raise ApiError(400, f"{repo_id}: private must be true or false, not {private!r}")
        return private
    return None if visibility is None else private_for(repo_id, visibility)


def private_for(repo_id: str, visibility: object) -> bool:
    """Whether the Hub's `visibility` makes `repo_id` private; 400 for one Podium lacks."""
    if visibility not in VISIBILITIES:
        raise ApiError(
            400,
            f"{repo_id}: visibility {visibility!r} is not one Podium has: use public or private (a 'protected' "
            "repository, shown but with its files kept to itself, has no counterpart here)",
        )
    return VISIBILITIES[visibility]


def copy_privacy(repo_id: str, visibility: object, private: bool | None, original_private: bool) -> bool:
    """Whether a copy (`duplicate_repo`) named `repo_id` is private: as the Hub's `visibility` says, else as
    `private` (what clients sent before `visibility`), else as its original."""
    if visibility is not None:
        return private_for(repo_id, visibility)
    return original_private if private is None else private
