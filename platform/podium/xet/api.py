"""The Xet routes: the Hub's token endpoint, and the storage service (CAS) the token is for.

`GET /api/{type}s/{owner}/{name}/xet-write-token/{revision}` answers a repository's writer with a
short-lived token and the address of the CAS, `/api/xet/{namespace}`, where the client then uploads
xorbs (`POST /v1/xorbs/default/{hash}`) and shards (`POST /v1/shards`). The namespace is the data
folder's own (XorbStore.namespace): clients cache what they uploaded per address, and a Podium started
afresh where another was must not look like it. The token is the only credential
the CAS reads: it names the repository that may point to the files a shard makes. Global
deduplication (`GET /v1/chunks/...`) finds nothing here, so clients upload every chunk they have not
uploaded themselves; routes the protocol added later (xorb grants, shards v2) answer 404, which
clients take as "not offered".
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from podium.api.deps import require_user
from podium.auth import bearer_token
from podium.body_limits import allow_upload
from podium.context import context_of
from podium.errors import ApiError
from podium.hub.repo_types import API, REPO_TYPES, TAIL
from podium.lfs_store import LfsStore
from podium.xet.hashes import parse_hash_hex
from podium.xet.shards import ShardRejected, rebuild
from podium.xet.xorbs import MAX_XORB_SIZE, XorbRejected, XorbStore

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

CAS_PATH = "/api/xet"
TOKEN_LIFETIME_S = 3600  # clients ask again when it runs out (hf_xet refreshes on its own)
_PURPOSE = "xet-write"
# A shard is 48 bytes per file, per term and per verification of a term: this holds many thousands of files.
MAX_SHARD_SIZE = 64 * 1024 * 1024


@router.get(API + "/xet-write-token/" + TAIL)
async def write_token(repo_type: str, owner: str, name: str, tail: str, request: Request) -> dict[str, Any]:
    """A token to upload files for the repository through Xet, to its writers only, and only for a token in
    `Authorization`: a credential is never handed to a request that a page could make with the visitor's
    session cookie (a GET needs no CSRF token)."""
    if bearer_token(request.headers.get("authorization")) is None:
        raise ApiError(
            401, "a Xet token is given for a Podium token in Authorization (HF_TOKEN), not for a browser session"
        )
    kind, repo_id = REPO_TYPES[repo_type], f"{owner}/{name}"
    kind.check_access(request, repo_id, True)
    require_user(request)
    claims = {"t": kind.name, "r": repo_id}
    return {
        "accessToken": context_of(request).signer.sign(_PURPOSE, claims, TOKEN_LIFETIME_S),
        "exp": int(time.time()) + TOKEN_LIFETIME_S,
        "casUrl": f"{str(request.base_url).rstrip('/')}{CAS_PATH}/{_xorbs(request).namespace}",
    }


def _claims(request: Request) -> dict[str, Any]:
    claims = context_of(request).signer.unsign(_PURPOSE, bearer_token(request.headers.get("authorization")))
    if claims is None:
        raise ApiError(
            401, "this Xet token is missing, forged or expired; ask for another at /api/{type}s/{id}/xet-write-token"
        )
    return claims


def _xorbs(request: Request) -> XorbStore:
    return XorbStore(context_of(request).settings.data_dir)


def _store(request: Request, namespace: str) -> XorbStore:
    """The xorb store, if `namespace` is its own."""
    store = _xorbs(request)
    if namespace != store.namespace:
        raise ApiError(404, "this Xet address is not this Podium's (its data folder was replaced); ask for a new token")
    return store


@router.get(CAS_PATH + "/{namespace}/v1/chunks/{prefix}/{digest}")
async def deduplication(namespace: str, prefix: str, digest: str, request: Request) -> Response:
    """Answering would hand out chunk hashes, which are what proves an uploader had the chunks
    (podium.xet.shards): there is never a match here."""
    _claims(request)
    _store(request, namespace)
    return Response(status_code=404)


@router.post(CAS_PATH + "/{namespace}/v1/xorbs/{prefix}/{digest}")
async def upload_xorb(namespace: str, prefix: str, digest: str, request: Request) -> JSONResponse:
    claims = _claims(request)
    store = _store(request, namespace)
    try:
        claimed = parse_hash_hex(digest)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    refusal = ApiError(413, f"a xorb is at most {MAX_XORB_SIZE} bytes here (the protocol's are about 64 MiB)")
    allow_upload(request, MAX_XORB_SIZE, refusal)
    try:
        with store.incoming() as incoming:  # to disk as it comes: clients send several xorbs at once
            async for part in request.stream():
                incoming.write(part)
            inserted = await asyncio.to_thread(store.put, claimed, incoming)
    except XorbRejected as exc:
        # hf_xet shows a refusal's status, not its words: the log keeps them for whoever is asked why.
        log.warning("refused xorb %s for %s %s: %s", digest, claims["t"], claims["r"], exc)
        raise ApiError(400, f"xorb {digest}: {exc}") from None
    return JSONResponse({"was_inserted": inserted})


@router.post(CAS_PATH + "/{namespace}/v1/shards")
async def upload_shard(namespace: str, request: Request) -> JSONResponse:
    claims = _claims(request)
    store = _store(request, namespace)
    ctx = context_of(request)
    kind, repo_id = REPO_TYPES[claims["t"]], claims["r"]
    allow_upload(request, MAX_SHARD_SIZE, ApiError(413, f"a shard is at most {MAX_SHARD_SIZE} bytes here"))
    body = await request.body()
    repo = kind.git_of(ctx, repo_id).path
    if not repo.is_dir():
        raise ApiError(404, f"the {kind.name} {repo_id} this Xet token was made for no longer exists")
    try:
        await asyncio.to_thread(
            rebuild, body, store, LfsStore.of(ctx.settings), repo,
            ctx.settings.limits.max_upload_size,
        )  # fmt: skip
    except ShardRejected as exc:
        log.warning("refused a shard for %s %s: %s", kind.name, repo_id, exc)
        raise ApiError(exc.status, f"{repo_id}: {exc}") from None
    return JSONResponse({"result": 1})
