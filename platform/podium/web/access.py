"""Who is visiting a page, whether a change they ask for really comes from Podium's own pages, and which
spaces they may see and change."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request

from podium.browser_session import CSRF_FIELD, CSRF_HEADER, Visitor, identify, signer
from podium.context import context_of
from podium.db import Space


class PageError(Exception):
    """A page that cannot be shown (404, 403): rendered as a readable page, never a stack trace."""

    def __init__(self, status: int, title: str, message: str):
        self.status, self.title, self.message = status, title, message
        super().__init__(message)


def signed_in(request: Request) -> Visitor:
    """The signed-in visitor, or a 403 page: the first check of a change, before its form is read."""
    visitor = identify(request)
    if visitor is None:
        raise PageError(403, "Sign in first", "Changing something needs you to sign in with a Podium token.")
    return visitor


def require_change_allowed(request: Request, form_token: str | None) -> Visitor:
    """A signed-in visitor whose request carries the CSRF token of their session, or a 403 page."""
    visitor = signed_in(request)
    token = form_token or request.headers.get(CSRF_HEADER)
    if not signer(request).csrf_ok(visitor.session, token):
        raise PageError(
            403,
            "Request refused",
            f"This change did not carry a valid {CSRF_FIELD}: it did not come from a Podium "
            "page. Reload the page and try again.",
        )
    return visitor


def may_read(visitor: Visitor | None, space: Space) -> bool:
    return not space.private or (visitor is not None and visitor.user.can_read(space))


def visible_spaces(request: Request) -> list[Space]:
    """Every space the visitor may see (detached from the database session)."""
    ctx = context_of(request)
    visitor = identify(request)
    with ctx.db.session() as session:
        spaces = [s for s in session.scalars(select(Space)) if may_read(visitor, s)]
        session.expunge_all()
    return spaces


def readable_space(request: Request, owner: str, name: str) -> Space:
    """The space if the visitor may see it; private spaces are a 404 to everyone else."""
    ctx = context_of(request)
    visitor = getattr(request.state, "visitor", None) or identify(request)
    with ctx.db.session() as session:
        space = ctx.db.find_space(session, f"{owner}/{name}")
        if space is None or not may_read(visitor, space):
            raise PageError(
                404,
                "Space not found",
                f"There is no space {owner}/{name}, or it is private and you are not signed in as its owner.",
            )
        session.expunge(space)
    return space


def may_edit(visitor: Visitor | None, space: Space) -> bool:
    return visitor is not None and visitor.user.can_write(space.owner)


def editable_space(request: Request, owner: str, name: str) -> Space:
    """The space if the visitor is its owner or an admin; a 401/403 page otherwise."""
    space = readable_space(request, owner, name)
    visitor = request.state.visitor
    if not may_edit(visitor, space):
        why = visitor.user.write_refusal(space.owner, f"change {space.space_id}") if visitor else None
        raise PageError(
            403 if visitor else 401,
            "Only the owner can change this space",
            f"Sign in as {space.owner} (or an admin) with a write token to change {space.space_id}"
            + (f": {why}" if why else "."),
        )
    return space
