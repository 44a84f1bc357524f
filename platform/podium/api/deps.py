"""Who is calling and which space they mean: the checks every route shares."""

from __future__ import annotations

from fastapi import Request

from podium.auth import TokenRefused, User, bearer_token, user_for_token
from podium.browser_session import CsrfMissing, session_user
from podium.context import context_of
from podium.db import Space
from podium.errors import ApiError, not_found


def pages_url_for(request: Request) -> str:
    """The pages as this client addresses them: huggingface_hub parses the URLs it is given
    (`RepoUrl`) against the endpoint it was pointed at, and refuses any other host."""
    return str(request.base_url).rstrip("/")


def current_user(request: Request) -> User | None:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:  # Podium's own pages: the session cookie, plus a CSRF token for changes
        try:
            return session_user(request)
        except CsrfMissing as exc:
            raise ApiError(403, str(exc)) from None
    try:
        user = user_for_token(context_of(request).db, token)
    except TokenRefused as exc:
        raise ApiError(401, str(exc)) from None
    if token and user is None:
        raise ApiError(
            401,
            "Invalid credentials in Authorization header: this token is unknown here. "
            "Use the admin token printed at first start or one made with `podium token`.",
        )
    return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise ApiError(
            401,
            "This needs a token: send `Authorization: Bearer <token>` (HF_TOKEN for "
            "huggingface_hub, --token for the podium CLI).",
        )
    return user


def readable_space(request: Request, session, space_id: str) -> Space:
    space = context_of(request).db.find_space(session, space_id)
    user = current_user(request)
    if space is None or (space.private and not (user and user.can_read(space))):
        raise not_found(space_id)
    return space


def writable_space(request: Request, session, space_id: str) -> Space:
    user = require_user(request)
    space = readable_space(request, session, space_id)
    if (refusal := user.write_refusal(space.owner, f"change {space_id}")) is not None:
        raise ApiError(403, refusal)
    return space
