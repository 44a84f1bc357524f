"""`commits/{revision}`: the history of a revision, newest first, as huggingface_hub's
`list_repo_commits` reads it (`GitCommitInfo`), in pages of `limit` (50 by default) with the Hub's
`p` page number and a `Link` header to the next page."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from podium.errors import ApiError
from podium.hub.access import open_repo, revision_and_path
from podium.hub.pagination import next_page
from podium.hub.repo_types import API, TAIL
from podium.repos import CommitRecord

router = APIRouter()

PAGE = 50
MAX_PAGE = 1000


def _commit_json(commit: CommitRecord, formatted: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "id": commit.id,
        "title": commit.title,
        "message": commit.message,
        "date": commit.date,
        "authors": [{"user": commit.author}],
    }
    if formatted:  # the Hub's `expand[]=formatted`: title and message as HTML
        data["formatted"] = {"title": html.escape(commit.title), "message": html.escape(commit.message)}
    return data


@router.get(API + "/commits/" + TAIL)
async def commits(
    repo_type: str, owner: str, name: str, tail: str, request: Request, p: int = 0, limit: int = PAGE
) -> JSONResponse:
    repo = open_repo(request, repo_type, owner, name)
    revision, _ = revision_and_path(request, tail)
    if p < 0 or not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, f"{repo.repo_id}: p must be 0 or more and limit between 1 and {MAX_PAGE}")
    sha = await repo.resolve(revision)
    total = await repo.run(repo.git.count, sha)
    page = await repo.run(repo.git.log, sha, limit, p * limit)
    formatted = "formatted" in request.query_params.getlist("expand[]")
    headers = {"X-Total-Count": str(total)}
    if (p + 1) * limit < total:
        headers |= next_page(request, p=str(p + 1))
    return JSONResponse([_commit_json(commit, formatted) for commit in page], headers=headers)
