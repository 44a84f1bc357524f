"""A space's variables and secrets: the same key/value API, except that secret values are write-only.

Changes apply at the next start of the space (restart it to use them now), as on Hugging Face.
`set_entry` and `delete_entry` are the changes themselves; the Settings page's forms call them too.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium.api.deps import context, readable_space, writable_space
from podium.api.errors import ApiError
from podium.api.shapes import iso
from podium.db import Secret, Space, Variable

router = APIRouter()

MODELS: dict[str, type[Variable] | type[Secret]] = {"variables": Variable, "secrets": Secret}
# Each one reaches the app as an environment variable, so its name must be one.
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class KeyValueIn(BaseModel):
    key: str
    value: str = ""
    description: str | None = None


class KeyIn(BaseModel):
    key: str


def check_key(space_id: str, kind: str, key: str) -> str:
    if not _KEY.match(key):
        raise ApiError(
            400,
            f"{space_id}: {key[:100]!r} is not a valid {kind.removesuffix('s')} name: the app gets it as an "
            f"environment variable, so use letters, digits and '_', not starting with a digit, at most 128 characters "
            f"(like API_URL)",
        )
    return key


def set_entry(space: Space, kind: str, key: str, value: str, description: str | None = None) -> None:
    """Add or replace one of the space's `kind` ("variables" or "secrets") in the open session."""
    rows = getattr(space, kind)
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        rows.append(MODELS[kind](key=check_key(space.space_id, kind, key), value=value, description=description))
    else:
        row.value = value
        if description is not None:
            row.description = description


def delete_entry(space: Space, kind: str, key: str) -> None:
    rows = getattr(space, kind)
    rows[:] = [r for r in rows if r.key != key]


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
            set_entry(space, kind, body.key, body.value, body.description)
            session.flush()
            return _listing(getattr(space, kind), with_values=not secret)

    @router.delete(f"/api/spaces/{{owner}}/{{name}}/{kind}", name=f"delete_{kind}")
    async def delete_item(owner: str, name: str, body: KeyIn, request: Request) -> dict[str, Any]:
        ctx = context(request)
        with ctx.db.session() as session:
            space = writable_space(request, session, f"{owner}/{name}")
            delete_entry(space, kind, body.key)
            session.flush()
            return _listing(getattr(space, kind), with_values=not secret)


_register("variables")
_register("secrets")
