"""`/{prefix}{owner}/{name}/resolve/{revision}/{path}`: one file of one revision, as `hf_hub_download`,
`snapshot_download`, `file_exists` and `HfFileSystem` read it from the Hub.

`HEAD` answers what huggingface_hub's `get_hf_file_metadata` reads: `ETag` (the git blob id, or for an
LFS file its sha256, also as `X-Linked-Etag` with the content's size as `X-Linked-Size`), `X-Repo-Commit`
(the sha the revision resolved to) and `Content-Length`. `GET` sends the content, one byte range of it
when asked (206, `Accept-Ranges: bytes`). A missing file is the Hub's 404 `EntryNotFound`, which still
carries `X-Repo-Commit` (the client caches the absence per commit). The content is a stranger's:
it is always `application/octet-stream` (with `nosniff` from the pages' headers), never rendered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from podium.api.errors import api_error_handler
from podium.hub.access import HubRepo, entry_not_found, open_repo, revision_and_path
from podium.hub.entries import followed_pointer
from podium.hub.repo_types import FILES, TAIL
from podium.lfs_store import MAX_POINTER_SIZE, object_path

router = APIRouter()

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class _Content:
    """What a path holds: a git blob (read only when sent), or an LFS object's file in the store."""

    etag: str
    size: int
    read_blob: Callable[[], bytes] | None = None
    lfs_file: Path | None = None

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (inclusive), at most a megabyte at a time from the store."""
        if self.read_blob is not None:
            yield self.read_blob()[start : end + 1]
            return
        with open(self.lfs_file, "rb") as file:  # type: ignore[arg-type]
            file.seek(start)
            left = end + 1 - start
            while left > 0 and (chunk := file.read(min(_CHUNK, left))):
                left -= len(chunk)
                yield chunk


def _content(repo: HubRepo, sha: str, path: str) -> _Content | None:
    """The file at `path` in commit `sha`, or None (no such file, or a folder). Blocking."""
    entry = repo.git.entry(sha, path)
    if entry is None or entry.is_folder:
        return None
    if entry.size >= MAX_POINTER_SIZE:  # too large to be a pointer: an ordinary file
        return _Content(etag=entry.oid, size=entry.size, read_blob=lambda: repo.git.blob(entry.oid))
    blob = repo.git.blob(entry.oid)
    pointer = followed_pointer(repo, blob)
    if pointer is None:
        return _Content(etag=entry.oid, size=entry.size, read_blob=lambda: blob)
    return _Content(etag=pointer.oid, size=pointer.size, lfs_file=object_path(repo.data_dir, pointer.oid))


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """The one range a `Range` header asks for, as (first, last) byte; None to send everything (no
    header, an invalid one, or several ranges, which a server may answer whole); "unsatisfiable" for a
    416."""
    if not header or "," in header or not (match := _RANGE.fullmatch(header.strip())):
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        return (max(size - suffix, 0), size - 1) if suffix and size else "unsatisfiable"
    start = int(first)
    if last and int(last) < start:  # not a range at all: ignored, as RFC 9110 says
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


async def _resolve(request: Request, repo_type: str, owner: str, name: str, tail: str) -> Response:
    repo = open_repo(request, repo_type, owner, name)
    revision, path = revision_and_path(request, tail)
    sha = await repo.resolve(revision)
    content = await repo.run(_content, repo, sha, path)
    if content is None:
        missing = await api_error_handler(request, entry_not_found(repo.repo_id, path))
        missing.headers["X-Repo-Commit"] = sha
        return missing
    headers = {
        "ETag": f'"{content.etag}"',
        "X-Repo-Commit": sha,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
        "Content-Disposition": "attachment",
    }
    if content.lfs_file is not None:
        headers |= {"X-Linked-Etag": f'"{content.etag}"', "X-Linked-Size": str(content.size)}
    wanted = _byte_range(request.headers.get("range"), content.size)
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{content.size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, content.size - 1)
    status = 206 if isinstance(wanted, tuple) else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    headers["Content-Length"] = str(end + 1 - start)
    if request.method == "HEAD" or content.size == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(content.chunks(start, end), status_code=status, headers=headers)


@router.api_route(FILES + "/resolve/" + TAIL, methods=["GET", "HEAD"])
async def resolve(repo_type: str, owner: str, name: str, tail: str, request: Request) -> Response:
    return await _resolve(request, repo_type, owner, name, tail)
