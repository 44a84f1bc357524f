"""API tokens: made once, shown once, stored only as a SHA-256 hash.

A token belongs to a user name; that user may write spaces under their own name, an admin token
may write any. The first `podium serve` on an empty data folder makes the admin token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from podium.db import Database, Space, Token

ADMIN_USER = "admin"
# The browser session of Podium's pages (podium.web.session); the proxy never forwards it to spaces.
SESSION_COOKIE = "podium_session"


@dataclass(frozen=True)
class User:
    name: str
    token_name: str
    admin: bool

    def can_write(self, owner: str) -> bool:
        return self.admin or owner == self.name

    def can_read(self, space: Space) -> bool:
        return not space.private or self.can_write(space.owner)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, user: str, display_name: str, *, admin: bool = False) -> str:
    """A new token for `user`; the caller shows it once, it cannot be read back."""
    token = "hf_" + secrets.token_urlsafe(30)
    with db.session() as session:
        session.add(Token(user=user, display_name=display_name, hash=_hash(token), admin=admin))
    return token


def ensure_admin_token(db: Database) -> str | None:
    """The admin token when this is the first start (no token yet), else None."""
    with db.session() as session:
        if session.scalar(select(Token.id).limit(1)) is not None:
            return None
    return create_token(db, ADMIN_USER, "admin (made at first start)", admin=True)


def user_for_token(db: Database, token: str | None) -> User | None:
    if not token:
        return None
    with db.session() as session:
        row = session.scalar(select(Token).where(Token.hash == _hash(token)))
        return None if row is None else User(name=row.user, token_name=row.display_name, admin=row.admin)


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None
