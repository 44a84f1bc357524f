"""Writing files into a space (or a model or dataset: `repo_type`): Hugging Face's preupload and NDJSON
commit, and a plain upload (spaces).

Every accepted write is one git commit, and the supervisor deploys the new revision right after
(podium.spaces.files).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium import lfs_store
from podium.api.deps import pages_url_for, require_user, writable_space
from podium.body_limits import allow_upload
from podium.context import Context, context_of
from podium.errors import ApiError, revision_not_found
from podium.hub.repo_types import API, REPO_TYPES, SPACE, RepoType
from podium.lfs_store import LfsPointer, LfsStore, ObjectRejected
from podium.lfs_tracking import in_lfs, tracked_paths
from podium.repos import BRANCH, Change, RevisionNotFound, SpaceRepo
from podium.settings import Limits
from podium.spaces.files import apply_commit, branch_head, rejected, replace_files, upload_changes
from podium.upload_form import read_upload_form, upload_too_large
from podium.uploads import UploadRejected, checked_file, safe_path, too_large

router = APIRouter()


async def _body_lines(request: Request, space_id: str, limits: Limits) -> AsyncIterator[tuple[int, bytes]]:
    """The numbered lines of an NDJSON body as they stream in. The body is refused with 413 as soon
    as it passes `max_upload_size` (with or without a `Content-Length`), a line as soon as it is
    longer than the largest file's base64 needs, so no more than one line is held unparsed."""
    allow_upload(request, limits.max_upload_size, upload_too_large(space_id, limits))
    longest = limits.max_file_size * 4 // 3 + 64 * 1024  # a file's base64, and the JSON around it
    pending, number = bytearray(), 0
    async for chunk in request.stream():
        searched = len(pending)  # holds no newline: a line of megabytes is not searched again per chunk
        pending += chunk
        while (end := pending.find(b"\n", searched)) >= 0:
            number += 1
            yield number, bytes(pending[:end])
            del pending[: end + 1]
            searched = 0
        if len(pending) > longest:
            raise rejected(
                space_id, too_large(f"line {number + 1} of the commit", "max_file_size", limits.max_file_size)
            )
    if pending:
        yield number + 1, bytes(pending)


class PreuploadFile(BaseModel):
    path: str
    size: int
    sample: str | None = None


class Preupload(BaseModel):
    files: list[PreuploadFile]


@router.post(API + "/preupload/{revision:path}")
async def preupload(
    repo_type: str, owner: str, name: str, revision: str, body: Preupload, request: Request
) -> dict[str, Any]:
    ctx = context_of(request)
    kind, space_id = REPO_TYPES[repo_type], f"{owner}/{name}"
    kind.check_access(request, space_id, True)
    limits = ctx.settings.limits
    paths = []
    for file in body.files:
        try:
            paths.append(safe_path(file.path))
        except UploadRejected as exc:
            raise rejected(space_id, exc) from None
        if file.size > limits.max_file_size:
            raise rejected(space_id, too_large(f"{paths[-1]!r}", "max_file_size", limits.max_file_size))
    git = kind.git_of(ctx, space_id)
    try:
        existing = await asyncio.to_thread(_client_oids, git, LfsStore.of(ctx.settings), revision, set(paths))
        head = await asyncio.to_thread(branch_head, git, space_id, revision)
    except RevisionNotFound:
        raise revision_not_found(space_id, revision) from None
    # The files `.gitattributes` sends to LFS are uploaded ahead (through Xet where the client has
    # hf_xet, podium.xet; else the LFS batch API) and committed as pointers. Others come inline, and
    # the commit stores any over the LFS size threshold in LFS itself (podium.lfs_tracking).
    tracked = await asyncio.to_thread(tracked_paths, git.path, head, paths)
    answer = [
        {
            "path": path,
            "uploadMode": "lfs" if path in tracked else "regular",
            "shouldIgnore": False,
            "oid": existing.get(path, {}).get("lfs" if path in tracked else "regular"),
        }
        for path in paths
    ]
    return {"files": answer}


def _client_oids(git: SpaceRepo, store: LfsStore, revision: str, paths: set[str]) -> dict[str, dict[str, str]]:
    """The `oid` huggingface_hub compares with a local file to skip an unchanged one, for each of `paths` the
    revision holds, as it computes it for either upload mode: `regular`, the git blob id of the content
    (also where git holds an LFS pointer to it); `lfs`, the content's sha256 (only for a pointer)."""
    entries = [entry for entry in git.files(revision) if entry.path in paths]
    small = [entry.oid for entry in entries if entry.size < lfs_store.MAX_POINTER_SIZE]
    pointers = {
        oid: pointer for oid, blob in git.small_blobs(small).items() if (pointer := lfs_store.parse_pointer(blob))
    }
    oids = {}
    for entry in entries:
        pointer = pointers.get(entry.oid)
        regular = (store.content_blob_id(pointer) if pointer else None) or entry.oid
        oids[entry.path] = {"regular": regular, **({"lfs": pointer.oid} if pointer else {})}
    return oids


def _lfs_file(space_id: str, number: int, value: dict[str, Any], repo: Path, store: LfsStore) -> Change:
    """An `lfsFile` line: the pointer to an object this space uploaded through the LFS batch API."""
    path, oid, size = safe_path(value["path"]), value["oid"], value["size"]
    if value.get("algo", "sha256") != "sha256":
        raise ApiError(400, f"{space_id}: line {number}: LFS objects are named by sha256 only")
    if not (lfs_store.granted(repo, oid) and store.has(oid, size)):
        raise ApiError(
            422,
            f"{space_id}: line {number}: {path!r} names the LFS object {oid} of {size} bytes, which this "
            "space has not uploaded; upload it through the LFS batch API first (huggingface_hub and git lfs do)",
        )
    return Change(path, LfsPointer(oid, size).text())


async def _commit_operations(
    space_id: str, lines: AsyncIterator[tuple[int, bytes]], limits: Limits, repo: Path, store: LfsStore
) -> tuple[dict[str, Any], list[Change]]:
    """The header and the changes of an NDJSON commit body, or a 400 naming the bad line."""
    header: dict[str, Any] | None = None
    changes: list[Change] = []
    async for number, raw in lines:
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            key, value = item["key"], item["value"]
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError(
                400,
                f"{space_id}: line {number} of the commit is not a JSON object with 'key' and 'value' ({exc})",
            ) from None
        if header is None:
            if key != "header":
                raise ApiError(
                    400, f"{space_id}: the commit must start with a 'header' line (line {number} is {key!r})"
                )
            header = value
            continue
        try:
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise ApiError(400, f"{space_id}: line {number}: only base64 file content is supported")
                try:
                    content = base64.b64decode(value["content"], validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise ApiError(
                        400,
                        f"{space_id}: line {number}: the content of {value.get('path')!r} is not valid base64 ({exc})",
                    ) from None
                changes.append(checked_file(value["path"], content, limits))
            elif key in ("deletedFile", "deletedFolder"):
                changes.append(Change(safe_path(value["path"]), delete_folder=key == "deletedFolder"))
            elif key == "lfsFile":
                changes.append(_lfs_file(space_id, number, value, repo, store))
            else:
                raise ApiError(
                    400,
                    f"{space_id}: line {number}: unknown operation {key!r}; use file, deletedFile or deletedFolder",
                )
        except UploadRejected as exc:
            raise rejected(space_id, exc) from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise ApiError(400, f"{space_id}: line {number}: the {key!r} value lacks a field ({exc})") from None
    if header is None:
        raise ApiError(400, f"{space_id}: the commit is empty; it needs a header line")
    return header, changes


async def _in_lfs(
    ctx: Context, space_id: str, changes: list[Change], branch: str = BRANCH, repo_type: RepoType = SPACE
) -> list[Change]:
    """`changes` with the files the Hub keeps in LFS stored there (podium.lfs_tracking), as the
    `.gitattributes` of the branch they go to says."""
    repo = repo_type.git_of(ctx, space_id)
    head = await asyncio.to_thread(branch_head, repo, space_id, branch)
    try:
        return await asyncio.to_thread(in_lfs, changes, LfsStore.of(ctx.settings), repo.path, head)
    except ObjectRejected as exc:
        raise ApiError(exc.status, f"{space_id}: {exc}") from None


def _commit_answer(request: Request, space_id: str, sha: str, repo_type: RepoType = SPACE) -> dict[str, Any]:
    return {
        # huggingface_hub reads the repository's type and id back from this URL (RepoUrl).
        "commitUrl": f"{pages_url_for(request)}/{repo_type.files_prefix}{space_id}/commit/{sha}",
        "commitOid": sha,
        "pullRequestUrl": None,
    }


@router.post(API + "/commit/{revision:path}")
async def commit(repo_type: str, owner: str, name: str, revision: str, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    kind, space_id = REPO_TYPES[repo_type], f"{owner}/{name}"
    kind.check_access(request, space_id, True)
    if request.query_params.get("create_pr") in ("1", "true", "True"):
        raise ApiError(400, f"{space_id}: pull requests are not supported; commit to main")
    lines = _body_lines(request, space_id, ctx.settings.limits)
    repo = kind.git_of(ctx, space_id)
    header, changes = await _commit_operations(
        space_id, lines, ctx.settings.limits, repo.path, LfsStore.of(ctx.settings)
    )
    sha = await apply_commit(
        ctx,
        space_id,
        await _in_lfs(ctx, space_id, changes, revision, kind),
        str(header.get("summary") or ""),
        str(header.get("description") or ""),
        header.get("parentCommit"),
        branch=revision,
        author=require_user(request).name,
        repo_type=kind,
    )
    return _commit_answer(request, space_id, sha, kind)


@router.post("/api/spaces/{owner}/{name}/upload")
async def upload(owner: str, name: str, request: Request) -> dict[str, Any]:
    """Multipart files named by their relative paths, or one .zip/.tar.gz; the upload becomes the
    whole content of the space (files it lacks are removed), like dropping a folder."""
    ctx = context_of(request)
    space_id = f"{owner}/{name}"
    limits = ctx.settings.limits
    with ctx.db.session() as session:
        writable_space(request, session, space_id)
    form = await read_upload_form(request, space_id, limits)
    files = [(item.filename or "", await item.read()) for _, item in form.multi_items() if not isinstance(item, str)]
    changes = await _in_lfs(ctx, space_id, upload_changes(space_id, files, limits))
    sha = await replace_files(ctx, space_id, changes, str(form.get("summary") or ""), require_user(request).name)
    return _commit_answer(request, space_id, sha)
