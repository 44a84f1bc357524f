"""Creating and deleting spaces, and who the caller is: `/api/repos/*`, `/api/whoami-v2`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from podium_runner.spec import SpaceConfigError, split_front_matter
from pydantic import BaseModel

from podium.api.deps import pages_url_for, require_user, writable_space
from podium.auth import User
from podium.context import context_of
from podium.errors import ApiError
from podium.spaces.lifecycle import CreateRepo, create_space, delete_space

router = APIRouter()


@router.post("/api/repos/create")
async def create_repo(body: CreateRepo, request: Request) -> dict[str, Any]:
    try:
        space_id = await create_space(context_of(request), require_user(request), body)
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
    ctx = context_of(request)
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
        shape["fineGrained"] = {
            "canReadGatedRepos": False,
            "global": [],
            "scoped": [{"entity": {"type": "user", "name": user.owner_scope}, "permissions": permissions}],
        }
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
