"""Creating, duplicating, moving and deleting spaces, models and datasets, and their settings; and who the caller
is: `/api/repos/*`, `/api/{type}s/{id}/duplicate` and `/settings`, `/api/whoami-v2`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from podium_runner.spec import SpaceConfigError, split_front_matter
from pydantic import BaseModel

from podium.api.deps import pages_url_for, require_user
from podium.auth import User
from podium.context import context_of
from podium.errors import ApiError
from podium.hub.repo_settings import update_settings
from podium.hub.repo_types import API, HOSTED_API, MODEL, REPO_TYPES, SPACE, RepoType
from podium.models import records
from podium.models.duplicate import DuplicateRepo, duplicate
from podium.spaces.duplicate import DuplicateSpace, duplicate_space
from podium.spaces.lifecycle import CreateRepo, create_space, delete_space
from podium.spaces.move import move_space

router = APIRouter()


@contextmanager
def _urls_for(request: Request) -> Iterator[None]:
    """A 409 for a space that exists carries its `url`, which huggingface_hub reads (`exist_ok=True`), on
    the host the client called."""
    try:
        yield
    except ApiError as exc:
        if "url" in exc.fields:
            exc.fields["url"] = pages_url_for(request) + exc.fields["url"]
        raise


def _repo_type(type_: str | None) -> RepoType:
    """The repository type a body names (the Hub's default: a model)."""
    if (kind := REPO_TYPES.get(type_ or MODEL.name)) is None:
        raise ApiError(400, f"repository type {type_!r} is unknown; use one of {', '.join(REPO_TYPES)}")
    return kind


@router.post("/api/repos/create")
async def create_repo(body: CreateRepo, request: Request) -> dict[str, Any]:
    kind = _repo_type(body.type)
    with _urls_for(request):
        if kind is SPACE:
            repo_id = await create_space(context_of(request), require_user(request), body)
        else:
            repo_id = await records.create(context_of(request), require_user(request), kind.name, body)
    return {"url": f"{pages_url_for(request)}/{kind.files_prefix}{repo_id}", "name": repo_id, "id": repo_id}


@router.post("/api/spaces/{owner}/{name}/duplicate")
async def duplicate_repo(owner: str, name: str, body: DuplicateSpace, request: Request) -> dict[str, Any]:
    with _urls_for(request):
        space_id = await duplicate_space(context_of(request), require_user(request), f"{owner}/{name}", body)
    # Files are copied before the answer, so none is pending (the Hub may copy LFS files later).
    return {"url": f"{pages_url_for(request)}/spaces/{space_id}", "filesCopyPending": False}


@router.post(HOSTED_API + "/{owner}/{name}/duplicate")
async def duplicate_hosted_repo(
    repo_type: str, owner: str, name: str, body: DuplicateRepo, request: Request
) -> dict[str, Any]:
    kind = REPO_TYPES[repo_type]
    with _urls_for(request):
        repo_id = await duplicate(context_of(request), require_user(request), kind.name, f"{owner}/{name}", body)
    return {"url": f"{pages_url_for(request)}/{kind.files_prefix}{repo_id}", "filesCopyPending": False}


class MoveRepo(BaseModel):
    fromRepo: str
    toRepo: str
    type: str | None = None


@router.post("/api/repos/move")
async def move_repo(body: MoveRepo, request: Request) -> dict[str, Any]:
    kind = _repo_type(body.type)
    ctx, user = context_of(request), require_user(request)
    with _urls_for(request):
        if kind is SPACE:
            repo_id = await move_space(ctx, user, body.fromRepo, body.toRepo)
        else:
            repo_id = await records.move(ctx, user, kind.name, body.fromRepo, body.toRepo)
    return {"url": f"{pages_url_for(request)}/{kind.files_prefix}{repo_id}"}


@router.put(API + "/settings")
async def repo_settings(repo_type: str, owner: str, name: str, request: Request) -> dict[str, Any]:
    kind, repo_id = REPO_TYPES[repo_type], f"{owner}/{name}"
    kind.check_access(request, repo_id, True)
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, 'the settings must be a JSON object, such as {"visibility": "private"}') from None
    update_settings(context_of(request), kind, repo_id, body)
    return {}


class DeleteRepo(BaseModel):
    name: str
    organization: str | None = None
    type: str | None = None


@router.delete("/api/repos/delete")
async def delete_repo(body: DeleteRepo, request: Request) -> dict[str, str]:
    user = require_user(request)
    ctx = context_of(request)
    kind, repo_id = _repo_type(body.type), f"{body.organization or user.name}/{body.name}"
    kind.check_access(request, repo_id, True)
    if kind is SPACE:
        await delete_space(ctx, repo_id)
    else:
        await records.delete(ctx, kind.name, repo_id)
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
