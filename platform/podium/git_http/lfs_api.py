"""The Git LFS batch API of every repository (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md),
as git-lfs and huggingface_hub call it: `POST /spaces/{owner}/{name}.git/info/lfs/objects/batch` (a model's
at `/{owner}/{name}.git/...`, a dataset's at `/datasets/...`).

The batch answer hands out signed, expiring links (`upload`, `download`, `verify`) to one object of
one space, as the Hub hands out links to its storage: huggingface_hub sends no credentials with the
upload itself, so the link is the credential. An upload is stored only once its content hashes to
its oid (podium.lfs_store), and only then may the space point to it (`lfs_store.grant`); an object
the space already holds needs no upload.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from podium import lfs_store
from podium.body_limits import allow_upload
from podium.context import context_of
from podium.errors import ApiError
from podium.git_http.access import Access, GitAccessRefused, check_access
from podium.git_http.routes import repository_name
from podium.hub.repo_types import FILES, REPO_TYPES
from podium.lfs_store import LfsStore, ObjectRejected
from podium.uploads import too_large

router = APIRouter(include_in_schema=False)

LFS_JSON = "application/vnd.git-lfs+json"
LINK_LIFETIME_S = 3600
_LINK_PURPOSE = "lfs-object"
MAX_OBJECTS = 1000  # per batch request; git-lfs asks 100 at a time, huggingface_hub 256


def store_of(request: Request) -> LfsStore:
    return LfsStore.of(context_of(request).settings)


def lfs_answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=LFS_JSON, headers=headers)


def lfs_refusal(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as git-lfs shows it: `{"message": ...}`."""
    return lfs_answer({"message": message}, status, headers)


def _link(request: Request, access: Access, oid: str, size: int, action: str) -> dict[str, Any]:
    kind = access.repo_type
    note = context_of(request).signer.sign(
        _LINK_PURPOSE, {"s": access.space_id, "t": kind.name, "o": oid, "n": size, "a": action}, LINK_LIFETIME_S
    )
    base = str(request.base_url).rstrip("/")
    where = "verify" if action == "verify" else oid
    return {
        "href": f"{base}/{kind.files_prefix}{access.space_id}.git/info/lfs/objects/{where}?link={quote(note)}",
        "expires_in": LINK_LIFETIME_S,
    }


def _linked(request: Request, repo_type: str, owner: str, name: str, oid: str | None, action: str) -> dict[str, Any]:
    """The claims of the signed link this request carries, if it was made for this repository, object and action."""
    claims = context_of(request).signer.unsign(_LINK_PURPOSE, request.query_params.get("link"))
    space_id = f"{owner}/{repository_name(name)}"
    if claims is None or claims.get("s") != space_id or claims.get("t") != repo_type or claims.get("a") != action:
        raise ApiError(
            403, f"this {action} link for {space_id} is not valid (it expired or was made for another object)"
        )
    if oid is not None and claims.get("o") != oid:
        raise ApiError(
            403, f"this {action} link for {space_id} is not valid (it expired or was made for another object)"
        )
    return claims


def _repo_path(request: Request, claims: dict[str, Any]) -> Path:
    """The bare repository a signed link was made for."""
    return REPO_TYPES[claims["t"]].git_of(context_of(request), claims["s"]).path


@router.post(FILES + "/info/lfs/objects/batch")
async def batch(repo_type: str, owner: str, name: str, request: Request) -> Response:
    try:
        body = await request.json()
        operation = body["operation"]
        objects = body["objects"]
        assert isinstance(objects, list) and operation in ("upload", "download")
    except (ValueError, KeyError, TypeError, AssertionError):
        return lfs_refusal(
            422, "a batch request is a JSON object with 'operation' (upload or download) and a list of 'objects'"
        )
    if len(objects) > MAX_OBJECTS:
        return lfs_refusal(413, f"a batch asks for at most {MAX_OBJECTS} objects (this one {len(objects)})")
    if body.get("hash_algo", "sha256") != "sha256":
        return lfs_refusal(409, "Podium's LFS objects are named by sha256 only")
    try:
        access = check_access(
            request, owner, repository_name(name), write=operation == "upload", repo_type=REPO_TYPES[repo_type]
        )
    except GitAccessRefused as exc:
        return lfs_refusal(exc.status, exc.message, exc.headers)
    repo = access.repo_type.git_of(context_of(request), access.space_id).path
    store = store_of(request)
    answers = [await asyncio.to_thread(_answer, request, access, repo, store, operation, item) for item in objects]
    return lfs_answer({"transfer": "basic", "objects": answers, "hash_algo": "sha256"})


def _answer(request: Request, access: Access, repo, store: LfsStore, operation: str, item: Any) -> dict[str, Any]:
    """The batch answer for one object."""
    oid = item.get("oid") if isinstance(item, dict) else None
    size = item.get("size") if isinstance(item, dict) else None
    answer: dict[str, Any] = {"oid": oid, "size": size}
    try:
        store.check(oid, size)
    except ObjectRejected as exc:
        return {**answer, "error": {"code": exc.status, "message": str(exc)}}
    held = lfs_store.granted(repo, oid) and store.has(oid, size)
    if operation == "download":
        if not held:
            return {**answer, "error": {"code": 404, "message": f"{access.space_id} has no LFS object {oid}"}}
        return {**answer, "authenticated": True, "actions": {"download": _link(request, access, oid, size, "download")}}
    if held:
        return answer  # no actions: the space already has it
    return {
        **answer,
        "authenticated": True,
        "actions": {
            "upload": _link(request, access, oid, size, "upload"),
            "verify": _link(request, access, oid, size, "verify"),
        },
    }


@router.put(FILES + "/info/lfs/objects/{oid}")
async def upload(repo_type: str, owner: str, name: str, oid: str, request: Request) -> Response:
    claims = _linked(request, repo_type, owner, name, oid, "upload")
    space_id, size = claims["s"], claims["n"]
    store = store_of(request)
    allow_upload(request, size, ApiError(413, str(too_large(f"the LFS object {oid}", "max_file_size", size))))
    try:
        await store.store(oid, size, request.stream())
    except ObjectRejected as exc:
        return lfs_refusal(exc.status, f"{space_id}: {exc}")
    await asyncio.to_thread(lfs_store.grant, _repo_path(request, claims), oid)
    return Response(status_code=200)


@router.post(FILES + "/info/lfs/objects/verify")
async def verify(repo_type: str, owner: str, name: str, request: Request) -> Response:
    claims = _linked(request, repo_type, owner, name, None, "verify")
    space_id, oid, size = claims["s"], claims["o"], claims["n"]
    repo = _repo_path(request, claims)
    if not (lfs_store.granted(repo, oid) and store_of(request).has(oid, size)):
        return lfs_refusal(404, f"{space_id} has no LFS object {oid} of {size} bytes: the upload did not arrive")
    return lfs_answer({"oid": oid, "size": size})


@router.get(FILES + "/info/lfs/objects/{oid}")
async def download(repo_type: str, owner: str, name: str, oid: str, request: Request) -> Response:
    claims = _linked(request, repo_type, owner, name, oid, "download")
    repo = _repo_path(request, claims)
    if not lfs_store.granted(repo, oid):
        return lfs_refusal(404, f"{claims['s']} has no LFS object {oid}")
    return FileResponse(store_of(request).path(oid), media_type="application/octet-stream")
