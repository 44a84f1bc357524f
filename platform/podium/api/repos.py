"""Creating and deleting spaces, and who the caller is: `/api/repos/*`, `/api/whoami-v2`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from podium_runner.hardware import FLAVORS
from podium_runner.spec import SDKS, SpaceConfigError, split_front_matter
from pydantic import BaseModel

from podium.api.deps import check_name, context, pages_url_for, require_user, writable_space
from podium.api.errors import ApiError
from podium.api.settings_kv import set_entry
from podium.auth import User
from podium.context import Context
from podium.db import Space
from podium.repos import Change

router = APIRouter()

# Hugging Face seeds every new repository with a .gitattributes file, so `main` exists from the start.
_FIRST_FILE = Change(".gitattributes", b"# Podium stores every file in git; no LFS is needed.\n")
# Checking that a space's id and host-mode address are free and taking them is one step: no other
# create, on another thread or at an await a later change might add, can take them in between.
_CLAIMING_AN_ADDRESS = threading.Lock()


class KeyValue(BaseModel):
    key: str
    value: str
    description: str | None = None


class CreateRepo(BaseModel):
    name: str
    organization: str | None = None
    type: str | None = None
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None
    hardware: str | None = None
    sleepTimeSeconds: int | None = None
    secrets: list[KeyValue] = []
    variables: list[KeyValue] = []


async def create_space(ctx: Context, user: User, body: CreateRepo) -> str:
    """Make the space `body` asks for, as `user`, with its first commit; its id, or an ApiError in words.
    The New space page's form calls this too."""
    if body.type != "space":
        raise ApiError(
            400, f"Podium hosts spaces only; pass repo_type='space' (got {body.type or 'model'!r})"
        )
    owner = check_name(body.organization or user.name, "owner name")
    name = check_name(body.name, "space name")
    if (refusal := user.write_refusal(owner, f"create spaces under {owner!r}")) is not None:
        raise ApiError(403, refusal)
    sdk = body.sdk or "gradio"
    if sdk not in SDKS:
        raise ApiError(400, f"sdk {sdk!r} is not supported; use one of {', '.join(SDKS)}")
    hardware = body.hardware or ctx.settings.default_hardware
    if hardware not in FLAVORS:
        raise ApiError(400, f"hardware {hardware!r} is unknown; use one of {', '.join(FLAVORS)}")
    space_id = f"{owner}/{name}"
    with _CLAIMING_AN_ADDRESS, ctx.db.session() as session:
        if ctx.db.find_space(session, space_id) is not None:
            # huggingface_hub's create_repo(exist_ok=True) reads the existing repository's `url`.
            raise ApiError(409, f"You already created this space repo: {space_id}", url=f"/spaces/{space_id}")
        if (twin := ctx.db.address_taken(session, space_id)) is not None:
            raise ApiError(409, f"{space_id} would share its address {ctx.settings.space_subdomain(space_id)} with "
                                f"{twin.space_id} (a host name joins owner and name with '-', in lower case "
                                "with '-' for '_' and '.'); choose another name")
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
        for kind, entries in (("secrets", body.secrets), ("variables", body.variables)):
            for entry in entries:
                set_entry(space, kind, entry.key, entry.value, entry.description)
        session.add(space)
    repo = ctx.supervisor.repo(space_id)
    await asyncio.to_thread(repo.init)
    sha = await asyncio.to_thread(repo.commit, [_FIRST_FILE], "initial commit")
    with ctx.db.session() as session:
        ctx.db.find_space(session, space_id).sha = sha
    return space_id


async def delete_space(ctx: Context, space_id: str) -> None:
    """Stop the space and remove it, files, logs and settings: the Settings page's form calls this too."""
    await ctx.supervisor.delete(space_id)
    with ctx.db.session() as session:
        space = ctx.db.find_space(session, space_id)
        if space is not None:
            session.delete(space)


@router.post("/api/repos/create")
async def create_repo(body: CreateRepo, request: Request) -> dict[str, Any]:
    try:
        space_id = await create_space(context(request), require_user(request), body)
    except ApiError as exc:
        if "url" in exc.fields:  # the URL the client called, as for a new space
            exc.fields["url"] = pages_url_for(request) + exc.fields["url"]
        raise
    return {"url": f"{pages_url_for(request)}/spaces/{space_id}", "name": space_id, "id": space_id}


class DeleteRepo(BaseModel):
    name: str
    organization: str | None = None
    type: str | None = None


@router.delete("/api/repos/delete")
async def delete_repo(body: DeleteRepo, request: Request) -> dict[str, str]:
    user = require_user(request)
    ctx = context(request)
    space_id = f"{body.organization or user.name}/{body.name}"
    with ctx.db.session() as session:
        writable_space(request, session, space_id)
    await delete_space(ctx, space_id)
    return {}


@router.get("/api/whoami-v2")
async def whoami(request: Request) -> dict[str, Any]:
    user = require_user(request)
    return {
        "type": "user",
        "id": user.name,
        "name": user.name,
        "fullname": user.name,
        "isPro": False,
        "canPay": False,
        "orgs": [],
        "auth": {
            "type": "access_token",
            "accessToken": access_token_shape(user),
        },
    }


def access_token_shape(user: User) -> dict[str, Any]:
    """huggingface_hub's view of a token: role `read`, `write`, or `fineGrained` for one scoped to an
    owner, with that owner and its permissions the way the Hub lists them."""
    shape: dict[str, Any] = {"displayName": user.token_name, "role": user.role}
    if user.owner_scope is not None:
        permissions = ["repo.content.read"] + (["repo.write"] if user.role == "write" else [])
        shape["role"] = "fineGrained"
        shape["fineGrained"] = {"canReadGatedRepos": False, "global": [], "scoped": [
            {"entity": {"type": "user", "name": user.owner_scope}, "permissions": permissions}]}
    return shape


class ValidateYaml(BaseModel):
    content: str
    repoType: str | None = None


@router.post("/api/validate-yaml")
def validate_yaml(body: ValidateYaml) -> JSONResponse:
    """huggingface_hub checks README.md here before each commit; the spec's parser is the judge (in a
    worker thread: up to MAX_FRONT_MATTER of YAML takes a tenth of a second)."""
    try:
        split_front_matter(body.content)
    except SpaceConfigError as exc:
        # huggingface_hub reads `errors[].message` from this answer.
        return JSONResponse({"error": str(exc), "errors": [{"message": str(exc)}]}, status_code=400)
    return JSONResponse({"errors": [], "warnings": []})
