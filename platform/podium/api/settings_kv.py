"""A space's variables and secrets: the same key/value API, except that secret values are write-only.

Changes apply at the next start of the space (restart it to use them now), as on Hugging Face; the
changes themselves are podium.spaces.variables'.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium.api.deps import readable_space, writable_space
from podium.api.shapes import iso
from podium.context import context_of
from podium.db import Secret, Variable
from podium.spaces.variables import MODELS, delete_entry, set_entry

router = APIRouter()


class KeyValueIn(BaseModel):
    key: str
    value: str = ""
    description: str | None = None


class KeyIn(BaseModel):
    key: str


def _listing(rows: list[Variable] | list[Secret], *, with_values: bool) -> dict[str, Any]:
    out = {}
    for row in rows:
        entry: dict[str, Any] = {"description": row.description, "updatedAt": iso(row.updated_at)}
        if with_values:
            entry["value"] = row.value
        out[row.key] = entry
    return out


def _register(kind: str) -> None:
    secret = MODELS[kind] is Secret

    @router.get(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"list_{kind}")
    async def list_items(owner: str, name: str, request: Request) -> dict[str, Any]:
        ctx = context_of(request)
        with ctx.db.session() as session:
            # Secrets' names are for the owner only; variables are readable with the space.
            space = (writable_space if secret else readable_space)(request, session, f"{owner}/{name}")
            return _listing(getattr(space, kind), with_values=not secret)

    @router.post(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"set_{kind}")
    async def set_item(owner: str, name: str, body: KeyValueIn, request: Request) -> dict[str, Any]:
        ctx = context_of(request)
        with ctx.db.session() as session:
            space = writable_space(request, session, f"{owner}/{name}")
            set_entry(space, kind, body.key, body.value, body.description)
            session.flush()
            return _listing(getattr(space, kind), with_values=not secret)

    @router.delete(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"delete_{kind}")
    async def delete_item(owner: str, name: str, body: KeyIn, request: Request) -> dict[str, Any]:
        ctx = context_of(request)
        with ctx.db.session() as session:
            space = writable_space(request, session, f"{owner}/{name}")
            delete_entry(space, kind, body.key)
            session.flush()
            return _listing(getattr(space, kind), with_values=not secret)


_register("variables")
_register("secrets")
