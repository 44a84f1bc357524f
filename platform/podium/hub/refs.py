"""Branches and tags, real git refs in the repository: `refs` (huggingface_hub's `list_repo_refs`),
`branch/{name}` (`create_branch` from a `startingPoint`, `delete_branch`), `tag/{revision}`
(`create_tag`, annotated when it has a message), `tag/{name}` (`delete_tag`) and `super-squash/{branch}`
(`super_squash_history`: a model's or dataset's branch becomes one commit of its files).

Names are checked by `repos.check_ref_name` (400 saying why); a taken name is the Hub's 409
"Reference ... already exists", a missing one its 404 `RevisionNotFound`. `main` cannot be deleted: it
is the branch Podium deploys. Other branches and tags are only refs: nothing is built from them.
Branches change under the repository's commit lock, so a commit to a branch being deleted either
lands before or finds no branch (a 404), never half a ref update.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium.api.deps import require_user
from podium.context import context_of
from podium.errors import ApiError
from podium.hub.access import open_repo, quoted_tail
from podium.hub.repo_types import API, TAIL
from podium.repos import BRANCH, BRANCHES, TAGS, GitRef

router = APIRouter()


def _ref_json(ref: GitRef) -> dict[str, str]:
    return {"name": ref.name, "ref": ref.ref, "targetCommit": ref.target}


@router.get(API + "/refs")
async def refs(repo_type: str, owner: str, name: str, request: Request, include_prs: bool = False) -> dict[str, Any]:
    repo = open_repo(request, repo_type, owner, name)
    branches, tags = await repo.run(repo.git.refs)
    data: dict[str, Any] = {
        "branches": [_ref_json(ref) for ref in branches],
        "converts": [],
        "tags": [_ref_json(ref) for ref in tags],
    }
    if include_prs:
        data["pullRequests"] = []  # Podium has no pull requests
    return data


class NewBranch(BaseModel):
    startingPoint: str | None = None


@router.post(API + "/branch/" + TAIL)
async def create_branch(
    repo_type: str, owner: str, name: str, tail: str, request: Request, body: NewBranch | None = None
) -> dict[str, str]:
    repo = open_repo(request, repo_type, owner, name, write=True)
    branch = unquote(quoted_tail(request, tail))
    async with context_of(request).commit_locks[repo.repo_id]:  # never under a commit on its way
        target = await repo.run(repo.git.create_branch, branch, (body and body.startingPoint) or BRANCH)
    return {"name": branch, "ref": BRANCHES + branch, "targetCommit": target}


@router.delete(API + "/branch/" + TAIL)
async def delete_branch(repo_type: str, owner: str, name: str, tail: str, request: Request) -> dict[str, str]:
    repo = open_repo(request, repo_type, owner, name, write=True)
    branch = unquote(quoted_tail(request, tail))
    if branch == BRANCH:
        raise ApiError(403, f"{repo.repo_id}: Cannot delete {BRANCHES}{BRANCH}: it is the branch Podium deploys")
    async with context_of(request).commit_locks[repo.repo_id]:  # a commit to it finishes first
        await repo.run(repo.git.delete_branch, branch)
    return {}


class NewTag(BaseModel):
    tag: str
    message: str | None = None


@router.post(API + "/tag/" + TAIL)
async def create_tag(
    repo_type: str, owner: str, name: str, tail: str, body: NewTag, request: Request
) -> dict[str, str]:
    repo = open_repo(request, repo_type, owner, name, write=True)
    revision = unquote(quoted_tail(request, tail))
    target = await repo.run(repo.git.create_tag, body.tag, revision, body.message)
    return {"name": body.tag, "ref": TAGS + body.tag, "targetCommit": target}


@router.delete(API + "/tag/" + TAIL)
async def delete_tag(repo_type: str, owner: str, name: str, tail: str, request: Request) -> dict[str, str]:
    repo = open_repo(request, repo_type, owner, name, write=True)
    await repo.run(repo.git.delete_tag, unquote(quoted_tail(request, tail)))
    return {}


class Squash(BaseModel):
    message: str | None = None


@router.post(API + "/super-squash/" + TAIL)
async def super_squash(
    repo_type: str, owner: str, name: str, tail: str, request: Request, body: Squash | None = None
) -> dict[str, str]:
    repo = open_repo(request, repo_type, owner, name, write=True)
    if repo.repo_type.deploys:
        raise ApiError(
            400,
            f"{repo.repo_id}: Podium does not squash a space's history: its builds, logs and the revision it "
            "falls back to after a failed push are its commits. Models' and datasets' histories can be squashed.",
        )
    branch = unquote(quoted_tail(request, tail))
    message = (body and body.message) or f"Super-squash branch '{branch}'"
    ctx = context_of(request)
    async with ctx.commit_locks[repo.repo_id]:  # a commit on its way lands first, and is kept in the squash
        sha = await repo.run(repo.git.squash, branch, message, require_user(request).name)
        if branch == BRANCH:
            with ctx.db.session() as session:
                repo.repo_type.record_head(ctx, session, repo.repo_id, sha)
    return {"commitId": sha}
