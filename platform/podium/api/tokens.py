"""Making tokens (`podium token`): only an admin may, and the new token is shown only in this answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podium.api.deps import check_name, context, require_user
from podium.api.errors import ApiError
from podium.auth import create_token

router = APIRouter()


class NewToken(BaseModel):
    user: str
    name: str = "made with podium token"
    admin: bool = False


@router.post("/api/podium/tokens")
async def new_token(body: NewToken, request: Request) -> dict[str, str]:
    caller = require_user(request)
    if not caller.admin:
        raise ApiError(403, f"only an admin token may make tokens ({caller.name!r} is not an admin)")
    user = check_name(body.user, "user name")
    return {"user": user, "token": create_token(context(request).db, user, body.name, admin=body.admin)}
