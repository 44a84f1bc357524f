"""The smart HTTP routes of every repository, at `/spaces/{owner}/{name}` and `/spaces/{owner}/{name}.git`
as on the Hub (models at `/{owner}/{name}`, datasets at `/datasets/...`): `info/refs`, `git-upload-pack`
(clone, fetch) and `git-receive-pack` (push).

A push to a space's `main` deploys exactly as an upload does (`deploy_push`); pushes
to other branches and tags only move their refs. Pushes to one space are applied one at a time,
together with the API's commits (the context's commit lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from podium.body_limits import allow_upload
from podium.context import Context, context_of
from podium.git_http import backend
from podium.git_http.access import Access, GitAccessRefused, check_access
from podium.hub.repo_types import FILES, REPO_TYPES, RepoType
from podium.upload_form import upload_too_large

router = APIRouter(include_in_schema=False)

UPLOAD_PACK, RECEIVE_PACK = "git-upload-pack", "git-receive-pack"
# Beyond the pack itself, a push sends one command line per ref it updates.
PUSH_COMMANDS_ALLOWANCE = 1024 * 1024


class CgiStreamResponse(StreamingResponse):
    """http-backend's answer, streamed while the request body may still be arriving: unlike
    StreamingResponse under ASGI < 2.4, it does not read the request to watch for a disconnect
    (that reader would take the body's chunks from http-backend); a gone client fails the send."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            raise ClientDisconnect() from None


def repository_name(name: str) -> str:
    """The space's name in `name` or `name.git`, both of which git remotes use."""
    return name.removesuffix(".git")


def refused(exc: GitAccessRefused) -> PlainTextResponse:
    """A refusal as git shows it: a text/plain body becomes `remote: ...` lines."""
    return PlainTextResponse(exc.message + "\n", status_code=exc.status, headers=exc.headers)


@router.get(FILES + "/info/refs")
async def info_refs(repo_type: str, owner: str, name: str, request: Request) -> Response:
    service = request.query_params.get("service")
    if service not in (UPLOAD_PACK, RECEIVE_PACK):
        return PlainTextResponse(
            "Podium speaks git's smart HTTP protocol only: use git 1.6.6 or later\n", status_code=403
        )
    try:
        access = check_access(
            request, owner, repository_name(name), write=service == RECEIVE_PACK, repo_type=REPO_TYPES[repo_type]
        )
    except GitAccessRefused as exc:
        return refused(exc)
    return await _run(request, access, "info/refs")


@router.post(f"{FILES}/{UPLOAD_PACK}")
async def upload_pack(repo_type: str, owner: str, name: str, request: Request) -> Response:
    try:
        access = check_access(request, owner, repository_name(name), write=False, repo_type=REPO_TYPES[repo_type])
    except GitAccessRefused as exc:
        return refused(exc)
    return await _run(request, access, UPLOAD_PACK)


@router.post(f"{FILES}/{RECEIVE_PACK}")
async def receive_pack(repo_type: str, owner: str, name: str, request: Request) -> Response:
    ctx = context_of(request)
    try:
        access = check_access(request, owner, repository_name(name), write=True, repo_type=REPO_TYPES[repo_type])
    except GitAccessRefused as exc:
        return refused(exc)
    limits = ctx.settings.limits
    allow_upload(request, limits.max_upload_size + PUSH_COMMANDS_ALLOWANCE, upload_too_large(access.space_id, limits))
    lock = ctx.commit_locks[access.space_id]
    await lock.acquire()
    try:
        repo = access.repo_type.git_of(ctx, access.space_id)
        head_before = await asyncio.to_thread(repo.head)
        response = await _run(request, access, RECEIVE_PACK)
    except BaseException:
        lock.release()
        raise

    async def then_deploy(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for chunk in body:
                yield chunk
        finally:
            try:
                head = await asyncio.to_thread(repo.head)
                if head and head != head_before:
                    deploy_push(ctx, access.space_id, head, access.repo_type)
            finally:
                lock.release()

    if not isinstance(response, CgiStreamResponse):
        lock.release()
        return response
    response.body_iterator = then_deploy(response.body_iterator)
    return response


def deploy_push(ctx: Context, space_id: str, sha: str, repo_type: RepoType) -> None:
    """Record `sha`, which a push made the head of main, as the repository's revision and deploy it (a
    space): the end of every write to main (podium.spaces.files.apply_commit for the API's)."""
    with ctx.db.session() as session:
        recorded = repo_type.record_head(ctx, session, space_id, sha)  # False: deleted while the push ran
    if recorded and repo_type.deploys:
        ctx.supervisor.deploy(space_id, sha)


async def _no_body() -> AsyncIterator[bytes]:
    """A GET's body: nothing, without reading the request (its end is a disconnect's to report)."""
    return
    yield


async def _run(request: Request, access: Access, path: str) -> Response:
    ctx = context_of(request)
    pushing = path == RECEIVE_PACK or request.query_params.get("service") == RECEIVE_PACK
    cgi = backend.CgiRequest(
        method=request.method,
        path_info=f"/{access.repo_type.git_path(access.space_id)}/{path}",
        query=request.url.query,
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
        git_protocol=request.headers.get("git-protocol"),
        remote_user=access.user.name if pushing and access.user else None,
        remote_addr=request.client.host if request.client else "",
    )
    try:
        answer = await backend.run(ctx.settings, cgi, request.stream() if request.method == "POST" else _no_body())
    except backend.BackendFailed as exc:
        return PlainTextResponse(f"{access.space_id}: {exc}\n", status_code=500)
    return CgiStreamResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))
