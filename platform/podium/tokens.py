"""Managing tokens: making, listing and revoking them; a new token is shown only in the answer that makes it.

Managing tokens needs a write token that is not scoped to one owner, so a read-only or scoped token
can never make itself a wider one; nor can a token that expires make one that outlives it. Anyone may
make and revoke their own tokens; only an admin makes them for another user, makes admin tokens, or
scopes a token to someone else's spaces. The API (podium.api.tokens) and the Tokens page
(podium.web.tokens) call these functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.auth import ROLES, WRITE, User, create_token, parse_lifetime
from podium.context import Context
from podium.db import Token, now
from podium.errors import ApiError
from podium.names import check_name

MAX_NAME = 128
# A token's id as every database Podium runs on holds it (an INTEGER column: 32 bits on PostgreSQL):
# anything larger is a 422, not a database error.
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NewToken(BaseModel):
    name: str = "made with podium token"
    user: str | None = None  # the caller's own name when missing
    role: str = WRITE
    owner: str | None = None  # scope: good only for this owner's spaces
    expires_in: str | None = None  # 30d, 12h, 45m, 2w; never when missing
    admin: bool = False


def manager(user: User) -> User:
    """The caller, if their token may manage tokens at all; a 403 saying why otherwise."""
    if user.role != WRITE or user.owner_scope is not None:
        raise ApiError(
            403,
            f"this token ({user.token_name!r}) may not manage tokens: that needs a write token "
            "that is not scoped to one owner's spaces",
        )
    return user


def _expiry(caller: User, expires_in: str | None) -> dt.datetime | None:
    try:
        expires_at = None if not expires_in else now() + parse_lifetime(expires_in)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if caller.expires_at is not None and (expires_at is None or expires_at > caller.expires_at):
        raise ApiError(
            403,
            f"this token expires on {caller.expires_at:%Y-%m-%d %H:%M} UTC, so a token it makes "
            "must expire by then too: give a shorter expiry",
        )
    return expires_at


def issue_token(ctx: Context, caller: User, body: NewToken) -> dict[str, Any]:
    """Make the token `body` asks for on `caller`'s behalf: its record and, once, the token itself."""
    manager(caller)
    user = check_name(body.user or caller.name, "user name")
    owner = None if not body.owner else check_name(body.owner, "owner name")
    name = body.name.strip()
    if not name or len(name) > MAX_NAME:
        raise ApiError(400, f"a token's name is 1 to {MAX_NAME} characters, to recognise it by in `podium token list`")
    if body.role not in ROLES:
        raise ApiError(400, f"a token's role is {' or '.join(ROLES)}, not {body.role!r}")
    if not caller.admin:
        if user != caller.name:
            raise ApiError(
                403,
                f"only an admin token may make tokens for another user ({caller.name!r} asked for one for {user!r})",
            )
        if body.admin:
            raise ApiError(403, "only an admin token may make admin tokens")
        if owner not in (None, caller.name):
            raise ApiError(403, f"{caller.name!r} may scope a token to their own spaces only, not {owner!r}'s")
    if body.admin and owner is not None:
        raise ApiError(
            400,
            "an admin token acts on every space: make it without an owner scope, or make a scoped token without admin",
        )
    token_id, token = create_token(
        ctx.db,
        user,
        name,
        admin=body.admin,
        role=body.role,
        owner_scope=owner,
        expires_at=_expiry(caller, body.expires_in),
    )
    with ctx.db.session() as session:
        record = token_record(session.get(Token, token_id))
    return {**record, "token": token}


def token_record(row: Token, at: dt.datetime | None = None) -> dict[str, Any]:
    """What anyone may see of a token: everything but the token (which is not kept anyway)."""
    at = at or now()
    state = (
        "revoked"
        if row.revoked_at is not None
        else "expired"
        if row.expires_at is not None and row.expires_at <= at
        else "active"
    )

    def iso(moment: dt.datetime | None) -> str | None:
        return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat()

    return {
        "id": row.id,
        "name": row.display_name,
        "user": row.user,
        "role": row.role,
        "admin": row.admin,
        "owner": row.owner_scope,
        "state": state,
        "createdAt": iso(row.created_at),
        "expiresAt": iso(row.expires_at),
        "lastUsedAt": iso(row.last_used_at),
        "revokedAt": iso(row.revoked_at),
    }


def list_tokens(ctx: Context, caller: User) -> list[dict[str, Any]]:
    """The caller's own tokens, newest first; an admin's lists everyone's."""
    manager(caller)
    query = select(Token).order_by(Token.id.desc())
    if not caller.admin:
        query = query.where(Token.user == caller.name)
    with ctx.db.session() as session:
        at = now()
        return [token_record(row, at) for row in session.scalars(query)]


def revoke_token(ctx: Context, caller: User, token_id: int) -> dict[str, Any]:
    """Revoke a token of the caller's (any token, for an admin): refused from the next request on."""
    manager(caller)
    with ctx.db.session() as session:
        row = session.get(Token, token_id)
        if row is None or not (caller.admin or row.user == caller.name):
            raise ApiError(404, f"there is no token {token_id} of yours; `podium token list` shows their ids")
        if row.revoked_at is None:
            if row.admin and not _another_lasting_admin(session, row.id):
                raise ApiError(
                    409,
                    f"token {token_id} is the last admin token that never expires: without it nobody "
                    "could make tokens any more. Make another (`podium token create NAME --admin`), "
                    "then revoke this one",
                )
            row.revoked_at = now()
        return token_record(row)


def _another_lasting_admin(session: Session, token_id: int) -> bool:
    """Whether an admin token other than `token_id` is active, unscoped and never expires."""
    return (
        session.scalar(
            select(Token.id)
            .where(
                Token.admin,
                Token.id != token_id,
                Token.revoked_at.is_(None),
                Token.expires_at.is_(None),
                Token.owner_scope.is_(None),
            )
            .limit(1)
        )
        is not None
    )
