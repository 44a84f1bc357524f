"""The Tokens page (`/tokens`): the signed-in user's API tokens, made and revoked with plain HTML forms.

Each form posts the page's `csrf_token`; the change is made by podium.tokens' functions, the API's own,
so the page follows the API's rules (a read-only or scoped session cannot make or revoke tokens). A new
token is shown once, in the answer to the form that made it: never in a redirect, a cookie or a log.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from podium.auth import ROLES, WRITE
from podium.errors import ApiError
from podium.tokens import NewToken, TokenId, issue_token, list_tokens, revoke_token
from podium.web import flash
from podium.web.access import Visitor, context_of, require_change_allowed, signed_in
from podium.web.routing import PageRoute
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
LIFETIMES = [("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("365d", "a year"), ("", "never")]
_HERE = "/tokens"


def _page(
    request: Request, visitor: Visitor, status_code: int = 200, made: dict | None = None, error: str | None = None
) -> Response:
    try:
        tokens, refused = list_tokens(context_of(request), visitor.user), None
    except ApiError as exc:
        tokens, refused = [], exc.message
    response = render(
        request,
        "tokens.html",
        status_code=status_code,
        tokens=tokens,
        refused=refused,
        made=made,
        roles=ROLES,
        lifetimes=LIFETIMES,
        admin=visitor.user.admin,
        flashes=[("error", error)] if error else [],
    )
    if made is not None:  # the token itself is on this page: no cache may keep it
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get(_HERE)
def tokens_page(request: Request):
    return _page(request, signed_in(request))


@router.post(_HERE)
def create(
    request: Request,
    name: str = Form(""),
    role: str = Form(WRITE),
    owner: str = Form(""),
    expires: str = Form(""),
    user: str = Form(""),
    csrf_token: str = Form(""),
):
    visitor = require_change_allowed(request, csrf_token)
    body = NewToken(name=name, role=role, owner=owner or None, expires_in=expires or None, user=user or None)
    try:
        made = issue_token(context_of(request), visitor.user, body)
    except ApiError as exc:
        return _page(request, visitor, exc.status, error=exc.message)
    return _page(request, visitor, made=made)


@router.post(_HERE + "/{token_id}/revoke")
def revoke(request: Request, token_id: TokenId, csrf_token: str = Form("")):
    visitor = require_change_allowed(request, csrf_token)
    try:
        revoked = revoke_token(context_of(request), visitor.user, token_id)
    except ApiError as exc:
        return flash.redirect(request, visitor, _HERE, "error", exc.message)
    if token_id == visitor.user.token_id:  # this session ended with its token: on to sign in again
        return RedirectResponse("/signin?next=" + _HERE, status_code=303)
    return flash.redirect(
        request,
        visitor,
        _HERE,
        "ok",
        f"Revoked token {revoked['name']!r} of {revoked['user']}: it is refused from now on.",
    )
