"""API tokens: made once, shown once, stored only as a SHA-256 hash; scoped, expiring and revocable.

A token belongs to a user name. Its role says whether it may change anything (`write`) or only read
(`read`); its owner scope, when set, narrows it to one owner's spaces (an admin may make a token for
any user scoped to any owner: a deploy token for alice's spaces). Without a scope a token acts on its
user's spaces, and an admin token on every space. An expired or revoked token is refused with a
message that says so. The first `podium serve` on an empty data folder makes the admin token.

Everything signed on a token's behalf (the pages' session, tickets into private spaces) carries its
id, and is checked against the token again on each use: revoking the token ends them too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from podium.db import Database, Space, Token, now

ADMIN_USER = "admin"
READ, WRITE = "read", "write"
ROLES = (READ, WRITE)
# `last_used_at` is written at most this often per token: a proxied request must not mean a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_LIFETIME = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$")  # at most 99999 weeks: a date Python can hold
_LIFETIME_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
HOW_TO_GET_ONE = (
    "Make a new one with `podium token create NAME --user USER` (or on the pages' Tokens page) and use it instead."
)


@dataclass(frozen=True)
class User:
    """Who a request acts for, with the limits of the token behind it."""

    name: str
    token_name: str
    admin: bool
    role: str = WRITE
    owner_scope: str | None = None
    token_id: int | None = None
    expires_at: dt.datetime | None = None

    def acts_for(self, owner: str) -> bool:
        """Whether this token's rights reach `owner`'s spaces (before its role is considered)."""
        if self.owner_scope is not None:
            return owner == self.owner_scope
        return self.admin or owner == self.name

    def write_refusal(self, owner: str, action: str) -> str | None:
        """Why this token may not do `action` ("change alice/x") to `owner`'s spaces, in words; None when it may."""
        if not self.acts_for(owner):
            if self.owner_scope is not None:
                return (
                    f"this token ({self.token_name!r}) is scoped to {self.owner_scope}'s spaces, so it may not {action}"
                )
            return f"{self.name!r} may not {action}: only its owner or an admin can."
        if self.role != WRITE:
            return f"this token ({self.token_name!r}) is read-only, so it may not {action}: use a write token"
        return None

    def can_write(self, owner: str) -> bool:
        return self.write_refusal(owner, f"change {owner}'s spaces") is None

    def can_read(self, space: Space) -> bool:
        return not space.private or self.acts_for(space.owner)


class TokenRefused(Exception):
    """A token this Podium made that is no longer good (expired or revoked); the message says so."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_lifetime(text: str) -> dt.timedelta:
    """`30d`, `12h`, `45m`, `2w`: how long a new token lives."""
    match = _LIFETIME.match(text)
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"{text!r} is not a lifetime: write a number (1 to 99999) and a unit, such as 30d, 12h, 45m or 2w"
        )
    return dt.timedelta(**{_LIFETIME_UNITS[match[2]]: int(match[1])})


def create_token(
    db: Database,
    user: str,
    display_name: str,
    *,
    admin: bool = False,
    role: str = WRITE,
    owner_scope: str | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[int, str]:
    """A new token for `user` and its id; the caller shows the token once, it cannot be read back.
    Who may make which token is the caller's to check (`podium.tokens`)."""
    token = "hf_" + secrets.token_urlsafe(30)
    row = Token(
        user=user,
        display_name=display_name,
        hash=_hash(token),
        admin=admin,
        role=role,
        owner_scope=owner_scope,
        expires_at=expires_at,
    )
    with db.session() as session:
        session.add(row)
    return row.id, token


def ensure_admin_token(db: Database) -> str | None:
    """The admin token when this is the first start (no token yet), else None."""
    with db.session() as session:
        if session.scalar(select(Token.id).limit(1)) is not None:
            return None
    return create_token(db, ADMIN_USER, "admin (made at first start)", admin=True)[1]


def _user_of(row: Token, at: dt.datetime) -> User:
    """The rights of a token row, or TokenRefused when it is no longer good at `at`."""
    if row.revoked_at is not None:
        raise TokenRefused(
            f"This token ({row.display_name!r}) was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC. " + HOW_TO_GET_ONE
        )
    if row.expires_at is not None and row.expires_at <= at:
        raise TokenRefused(
            f"This token ({row.display_name!r}) expired on {row.expires_at:%Y-%m-%d %H:%M} UTC. " + HOW_TO_GET_ONE
        )
    return User(
        name=row.user,
        token_name=row.display_name,
        admin=row.admin,
        role=row.role,
        owner_scope=row.owner_scope,
        token_id=row.id,
        expires_at=row.expires_at,
    )


def _checked(db: Database, condition) -> User | None:
    """The user of the one token matching `condition`, noting its use; None when there is none."""
    at = now()
    with db.session() as session:
        row = session.scalar(select(Token).where(condition))
        if row is None:
            return None
        user = _user_of(row, at)
        if row.last_used_at is None or at - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = at
        return user


def user_for_token(db: Database, token: str | None) -> User | None:
    """Who a secret token is: None when unknown, TokenRefused when expired or revoked."""
    if not token:
        return None
    return _checked(db, Token.hash == _hash(token))


def user_for_token_id(db: Database, token_id: object) -> User | None:
    """Who a note signed on a token's behalf acts for now: None when the token is gone, expired or
    revoked (a session or a space's cookie then ends with it)."""
    if not isinstance(token_id, int):
        return None
    try:
        return _checked(db, Token.id == token_id)
    except TokenRefused:
        return None


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None
