"""Reading spaces and steering their runtime: info, list, runtime, host, restart, pause, sleep, hardware."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from podium_runner.backend import BackendUnavailable
from podium_runner.hardware import FLAVORS
from pydantic import BaseModel
from sqlalchemy import select

from podium.api.deps import current_user, readable_space, writable_space
from podium.api.shapes import runtime_json, space_json
from podium.context import Context, context_of
from podium.db import Space
from podium.hub.access import open_repo
from podium.hub.entries import siblings_json
from podium.hub.repo_types import SPACE
from podium.repos import BRANCH
from podium.spaces.lifecycle import SleepSeconds, pause_space, restart_space, set_hardware, set_sleep_time

router = APIRouter()


@router.get("/api/spaces")
async def list_spaces(
    request: Request, author: str | None = None, search: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    ctx = context_of(request)
    user = current_user(request)
    with ctx.db.session() as session:
        query = select(Space).order_by(Space.updated_at.desc())
        if author:
            query = query.where(Space.owner == author)
        spaces = [s for s in session.scalars(query) if not s.private or (user and user.can_read(s))]
        if search:
            spaces = [s for s in spaces if search.lower() in s.space_id.lower()]
        return [space_json(s, ctx.settings) for s in spaces[:limit]]


async def _info(request: Request, owner: str, name: str, revision: str, blobs: bool) -> dict[str, Any]:
    ctx = context_of(request)
    repo = open_repo(request, SPACE.name, owner, name)
    sha = await repo.resolve(revision)
    with ctx.db.session() as session:
        data = space_json(readable_space(request, session, repo.repo_id), ctx.settings)
    data["sha"] = sha
    data["siblings"] = await siblings_json(repo, sha, blobs)
    return data


@router.get("/api/spaces/hardware")
async def hardware_flavors() -> list[dict[str, Any]]:
    return [{"name": f.name, "cpu": f.cpus, "memoryMb": f.memory_mb, "gpus": f.gpus} for f in FLAVORS.values()]


@router.get("/api/spaces/{owner}/{name}")
async def space_info(owner: str, name: str, request: Request, blobs: bool = False) -> dict[str, Any]:
    """huggingface_hub's `space_info`; `blobs` (its `files_metadata=True`) adds the files' sizes and ids."""
    return await _info(request, owner, name, BRANCH, blobs)


@router.get("/api/spaces/{owner}/{name}/revision/{revision:path}")
async def space_info_at(owner: str, name: str, revision: str, request: Request, blobs: bool = False) -> dict[str, Any]:
    return await _info(request, owner, name, revision, blobs)


@router.get("/api/spaces/{owner}/{name}/runtime")
async def runtime(owner: str, name: str, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    with ctx.db.session() as session:
        answer = runtime_json(readable_space(request, session, f"{owner}/{name}"), ctx.settings)
    # Podium's own: whether idleness froze it, and the memory its instance holds (frozen or not).
    state = ctx.supervisor.state(f"{owner}/{name}")
    try:
        memory = await ctx.supervisor.backend.memory_bytes(state.instance) if state.instance is not None else None
    except BackendUnavailable:  # the engine is away (restarting): the stage still answers, the memory is unknown
        memory = None
    return answer | {"frozen": ctx.supervisor.freezer.is_frozen(state), "memoryBytes": memory}


@router.get("/api/spaces/{owner}/{name}/host")
async def host(owner: str, name: str, request: Request) -> dict[str, str]:
    ctx = context_of(request)
    with ctx.db.session() as session:
        space = readable_space(request, session, f"{owner}/{name}")
        return {"host": ctx.settings.space_url(space.space_id)}


def _writable(request: Request, space_id: str) -> Context:
    """Podium's context, once the caller may change the space (else the API's 401, 403 or 404)."""
    ctx = context_of(request)
    with ctx.db.session() as session:
        writable_space(request, session, space_id)
    return ctx


@router.post("/api/spaces/{owner}/{name}/restart")
async def restart(owner: str, name: str, request: Request, factory: bool = False) -> dict[str, Any]:
    restart_space(_writable(request, f"{owner}/{name}"), f"{owner}/{name}", factory)
    return await runtime(owner, name, request)


@router.post("/api/spaces/{owner}/{name}/pause")
async def pause(owner: str, name: str, request: Request) -> dict[str, Any]:
    await pause_space(_writable(request, f"{owner}/{name}"), f"{owner}/{name}")
    return await runtime(owner, name, request)


class SleepTime(BaseModel):
    seconds: SleepSeconds


@router.post("/api/spaces/{owner}/{name}/sleeptime")
async def sleeptime(owner: str, name: str, body: SleepTime, request: Request) -> dict[str, Any]:
    set_sleep_time(_writable(request, f"{owner}/{name}"), f"{owner}/{name}", body.seconds)
    return await runtime(owner, name, request)


class HardwareRequest(BaseModel):
    flavor: str
    sleepTimeSeconds: SleepSeconds | None = None


@router.post("/api/spaces/{owner}/{name}/hardware")
async def request_hardware(owner: str, name: str, body: HardwareRequest, request: Request) -> dict[str, Any]:
    set_hardware(_writable(request, f"{owner}/{name}"), f"{owner}/{name}", body.flavor, body.sleepTimeSeconds)
    return await runtime(owner, name, request)
