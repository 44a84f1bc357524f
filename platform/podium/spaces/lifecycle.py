"""A space's life: creating and deleting it, restarting and pausing it, its hardware and sleep time.

The caller has checked that the visitor may change the space (podium.api.deps, podium.web.access);
`create_space` checks the creator's rights itself, since there is no space to check them on yet.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated

from podium_runner.front_matter_rules import SDKS
from podium_runner.hardware import FLAVORS
from podium_runner.recipes import recipe_for
from podium_runner.stages import Stage
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import delete
from sqlalchemy.orm import Session

from podium import space_hub
from podium.auth import User
from podium.context import Context
from podium.db import Space, SpaceRedirect
from podium.errors import ApiError, not_found
from podium.names import check_name
from podium.pause_points import pause_at
from podium.repos import Change
from podium.spaces.variables import set_entry

# Hugging Face seeds every new repository with its .gitattributes, so `main` exists from the start and
# model formats go to Git LFS (podium.lfs_tracking reads it; git lfs clients do too).
_LFS_PATTERNS = (
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lfs.*",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "saved_model/**/*",
    "*.tar.*",
    "*.tar",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
)
# What a new repository's first commit holds, as on the Hub: the .gitattributes that keeps large files in LFS.
FIRST_FILE = Change(
    ".gitattributes", "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in _LFS_PATTERNS).encode()
)
# Checking that a space's id and host-mode address are free and taking them is one step: no other
# create, on another thread or at an await a later change might add, can take them in between.
CLAIMING_AN_ADDRESS = threading.Lock()


def _a_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number of seconds, such as 3600 (-1: never sleep)")
    return value


# Seconds without traffic before a space sleeps (Hugging Face's -1: never). A bounded number, so `true`, "7"
# or a number no database column holds is refused with a 422, not stored as 1 or answered with a 500.
SleepSeconds = Annotated[int, Field(ge=-1, le=2**31 - 1), BeforeValidator(_a_number)]


class KeyValue(BaseModel):
    key: str
    value: str
    description: str | None = None


class CreateRepo(BaseModel):
    """What a new space is: the body of Hugging Face's `POST /api/repos/create`."""

    name: str
    organization: str | None = None
    type: str | None = None
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None
    hardware: str | None = None
    sleepTimeSeconds: SleepSeconds | None = None
    secrets: list[KeyValue] = []
    variables: list[KeyValue] = []


async def create_space(ctx: Context, user: User, body: CreateRepo) -> str:
    """Make the space `body` asks for, as `user`, with its first commit; its id, or an ApiError in words."""
    if body.type != "space":
        raise ApiError(400, f"Podium hosts spaces only; pass repo_type='space' (got {body.type or 'model'!r})")
    space_id = new_space_id(user, body.organization or user.name, body.name, "create spaces under")
    sdk = body.sdk or "gradio"
    if sdk not in SDKS:
        raise ApiError(400, f"sdk {sdk!r} is not supported; use one of {', '.join(SDKS)}")
    hardware = body.hardware or ctx.settings.default_hardware
    if hardware not in FLAVORS:
        raise ApiError(400, f"hardware {hardware!r} is unknown; use one of {', '.join(FLAVORS)}")
    owner, _, name = space_id.partition("/")
    with CLAIMING_AN_ADDRESS, ctx.db.session() as session:
        claim_id(ctx, session, space_id)
        space = Space(
            owner=owner,
            name=name,
            sdk=sdk,
            hardware=hardware,
            sleep_time=body.sleepTimeSeconds,
            private=bool(body.private or body.visibility == "private"),
            stage="NO_APP_FILE",
            error_message="the space has no app file yet; upload one",
        )
        session.add(space)  # first: a secret is sealed with the key of the session it joins
        for kind, entries in (("secrets", body.secrets), ("variables", body.variables)):
            for entry in entries:
                set_entry(space, kind, entry.key, entry.value, entry.description)
    pause_at("create.recorded")  # the space's record exists; its repository does not yet
    repo = ctx.supervisor.repo(space_id)
    await asyncio.to_thread(repo.init)
    sha = await asyncio.to_thread(repo.commit, [FIRST_FILE], "initial commit")
    with ctx.db.session() as session:
        ctx.db.find_space(session, space_id).sha = sha
    return space_id


def new_space_id(user: User, owner: str, name: str, action: str) -> str:
    """`owner/name` for a new space (created, duplicated or moved there) once both names are valid and
    `user` may write to `owner` ("create spaces under" is the `action` refused otherwise)."""
    owner, name = check_name(owner, "owner name"), check_name(name, "space name")
    if (refusal := user.write_refusal(owner, f"{action} {owner!r}")) is not None:
        raise ApiError(403, refusal)
    return f"{owner}/{name}"


def claim_id(ctx: Context, session: Session, space_id: str, moving: Space | None = None) -> None:
    """Take `space_id` for a new space or for `moving`, once `check_id_free`; the redirect an earlier move
    left at it goes, as the name is free again. The caller holds CLAIMING_AN_ADDRESS until it commits."""
    check_id_free(ctx, session, space_id, moving)
    owner, _, name = space_id.partition("/")
    session.execute(delete(SpaceRedirect).where(SpaceRedirect.owner == owner, SpaceRedirect.name == name))


def check_id_free(ctx: Context, session: Session, space_id: str, moving: Space | None = None) -> None:
    """Refuse (409) `space_id` where a space has it or would share its host-mode address (`moving`, the
    space that takes it, may keep its own address)."""
    if ctx.db.find_space(session, space_id) is not None:
        # huggingface_hub's create_repo(exist_ok=True) reads the existing repository's `url`.
        raise ApiError(409, f"You already created this space repo: {space_id}", url=f"/spaces/{space_id}")
    if (twin := ctx.db.address_taken(session, space_id)) is not None and twin is not moving:
        raise ApiError(
            409,
            f"{space_id} would share its address {ctx.settings.space_subdomain(space_id)} with "
            f"{twin.space_id} (a host name joins owner and name with '-', in lower case "
            "with '-' for '_' and '.'); choose another name",
        )


async def delete_space(ctx: Context, space_id: str) -> None:
    """Stop the space and remove it, files, logs and settings."""
    await ctx.supervisor.delete(space_id)
    space_hub.retire(ctx.db, space_id)  # its apps' read tokens end with it
    with ctx.db.session() as session:
        space = ctx.db.find_space(session, space_id)
        if space is not None:
            session.delete(space)


def space_record(ctx: Context, session: Session, space_id: str) -> Space:
    """The space's record in `session`, or the API's 404 where it went since the caller's check."""
    space = ctx.db.find_space(session, space_id)
    if space is None:
        raise not_found(space_id)
    return space


def restart_space(ctx: Context, space_id: str, factory: bool = False) -> None:
    """Deploy the head revision again (`factory` rebuilds its environment from scratch)."""
    with ctx.db.session() as session:
        sha = space_record(ctx, session, space_id).sha
    if sha:
        ctx.supervisor.deploy(space_id, sha, rebuild=factory)


async def pause_space(ctx: Context, space_id: str) -> None:
    with ctx.db.session() as session:
        sdk = space_record(ctx, session, space_id).sdk
        if recipe_for(sdk).always_on:
            raise ApiError(400, f"{space_id} is a {sdk} space; it has no process to pause")
    await ctx.supervisor.pause(space_id)


def sleep_time_of(seconds: int) -> int | None:
    return None if seconds < 0 else seconds  # Hugging Face uses -1 for "never sleep"


def set_sleep_time(ctx: Context, space_id: str, seconds: int) -> None:
    with ctx.db.session() as session:
        space_record(ctx, session, space_id).sleep_time = sleep_time_of(seconds)
    ctx.supervisor.touch(space_id)


def set_hardware(ctx: Context, space_id: str, flavor: str, sleep_time_seconds: int | None = None) -> None:
    """Move the space to another hardware flavor, restarting it there if it runs."""
    if flavor not in FLAVORS:
        raise ApiError(400, f"{space_id}: hardware {flavor!r} is unknown; use one of {', '.join(FLAVORS)}")
    with ctx.db.session() as session:
        space = space_record(ctx, session, space_id)
        changed = space.hardware != flavor
        space.hardware = flavor
        if sleep_time_seconds is not None:
            space.sleep_time = sleep_time_of(sleep_time_seconds)
        sha, stage = space.sha, Stage(space.stage)
    if changed and sha and stage not in (Stage.PAUSED, Stage.STOPPED):
        ctx.supervisor.deploy(space_id, sha)
