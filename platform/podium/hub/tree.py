"""A revision's files and folders: `tree` (huggingface_hub's `list_repo_tree`, `list_repo_files`,
`HfFileSystem.ls`/`find`) and `paths-info` (`get_paths_info`, `HfFileSystem.info`).

`tree/{revision}[/{folder}]` lists a folder's entries, files and folders, or with `recursive` every
entry below it; a folder is `{"type": "directory"}`, a path that is no folder is the Hub's 404
`EntryNotFound` (HfFileSystem then looks for a file of that name). Pages hold 1000 entries, 50 when
`expand` adds each entry's last commit; the `cursor` of the next page names the commit the first page
resolved, so a branch that moves meanwhile does not mix two revisions into one listing.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from podium.errors import ApiError
from podium.hub.access import HubRepo, open_repo, revision_and_path
from podium.hub.entries import entries_json
from podium.hub.pagination import next_page
from podium.hub.repo_types import API, TAIL

router = APIRouter()

PAGE = 1000
EXPANDED_PAGE = 50
MAX_PATHS = 10_000
_CURSOR = re.compile(r"([0-9a-f]{40}):(\d{1,9})")


def _cursor(sha: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{sha}:{offset}".encode()).decode()


async def _read_cursor(repo: HubRepo, cursor: str) -> tuple[str, int]:
    """The commit and the offset a `cursor` of ours names; 400 for anything else."""
    try:
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        match = None
    if match is None:
        raise ApiError(400, f"{repo.repo_id}: {cursor!r} is not a cursor of this listing; follow the Link header")
    return await repo.resolve(match[1]), int(match[2])


@router.get(API + "/tree/" + TAIL)
async def tree(
    repo_type: str,
    owner: str,
    name: str,
    tail: str,
    request: Request,
    recursive: bool = False,
    expand: bool = False,
    cursor: str | None = None,
    limit: int | None = None,
) -> JSONResponse:
    repo = open_repo(request, repo_type, owner, name)
    revision, folder = revision_and_path(request, tail)
    sha, offset = await _read_cursor(repo, cursor) if cursor else (await repo.resolve(revision), 0)
    page_size = min(limit or PAGE, EXPANDED_PAGE if expand else PAGE)
    if page_size < 1:
        raise ApiError(400, f"{repo.repo_id}: limit must be at least 1")
    entries = await repo.run(repo.git.tree, sha, folder, recursive)
    page = entries[offset : offset + page_size]
    headers = next_page(request, cursor=_cursor(sha, offset + page_size)) if offset + page_size < len(entries) else {}
    return JSONResponse(await entries_json(repo, sha, page, expand), headers=headers)


async def paths_info_request(request: Request, repo_id: str) -> tuple[list[str], bool]:
    """`paths` and `expand` from a form (as huggingface_hub sends them) or a JSON body."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        paths, expand = (body.get("paths"), body.get("expand") is True) if isinstance(body, dict) else (None, False)
    else:
        form = await request.form(max_fields=MAX_PATHS + 1)
        paths, expand = form.getlist("paths"), str(form.get("expand", "false")).lower() in ("true", "1")
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        raise ApiError(400, f"{repo_id}: paths-info needs 'paths', a list of paths in the repository")
    if len(paths) > MAX_PATHS:
        raise ApiError(400, f"{repo_id}: at most {MAX_PATHS} paths at once (got {len(paths)}); ask in parts")
    return paths, expand


@router.post(API + "/paths-info/" + TAIL)
async def paths_info(repo_type: str, owner: str, name: str, tail: str, request: Request) -> list[dict[str, Any]]:
    """The files and folders among `paths`; paths that name nothing are left out, as on the Hub."""
    repo = open_repo(request, repo_type, owner, name)
    revision, _ = revision_and_path(request, tail)
    paths, expand = await paths_info_request(request, repo.repo_id)
    sha = await repo.resolve(revision)
    by_path = {entry.path: entry for entry in await repo.run(repo.git.tree, sha, "", True)}
    found = [by_path[path] for path in dict.fromkeys(path.strip("/") for path in paths) if path in by_path]
    return await entries_json(repo, sha, found, expand)
