"""A space's variables and secrets: the same key/value API, except that secret values are write-only.

Changes apply at the next start of the space (restart it to use them now), as on Hugging Face.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium.api.deps import context, readable_space, writable_space
from podium.api.shapes import iso
from podium.db import Secret, Variable

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


def _register(kind: str, model: type[Variable] | type[Secret]) -> None:
    secret = model is Secret

    @router.get(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"list_{kind}")
    async def list_items(owner: str, name: str, request: Request) -> dict[str, Any]:
        ctx = context(request)
        with ctx.db.session() as session:
            # Secrets' names are for the owner only; variables are readable with the space.
            space = (writable_space if secret else readable_space)(request, session, f"{owner}/{name}")
            return _listing(getattr(space, kind), with_values=not secret)

    @router.post(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"set_{kind}")
    async def set_item(owner: str, name: str, body: KeyValueIn, request: Request) -> dict[str, Any]:
        ctx = context(request)
        with ctx.db.session() as session:
            space = writable_space(request, session, f"{owner}/{name}")
            rows = getattr(space, kind)
            row = next((r for r in rows if r.key == body.key), None)
            if row is None:
                rows.append(model(key=body.key, value=body.value, description=body.description))
            else:
                row.value = body.value
                if body.description is not None:
                    row.description = body.description
            session.flush()
            return _listing(rows, with_values=not secret)

    @router.delete(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"delete_{kind}")
    async def delete_item(owner: str, name: str, body: KeyIn, request: Request) -> dict[str, Any]:
        ctx = context(request)
        with ctx.db.session() as session:
            space = writable_space(request, session, f"{owner}/{name}")
            rows = getattr(space, kind)
            rows[:] = [r for r in rows if r.key != body.key]
            session.flush()
            return _listing(rows, with_values=not secret)


_register("variables", Variable)
_register("secrets", Secret)
