"""Signing in with a Podium token, and out again."""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from podium.auth import TokenRefused, user_for_token
from podium.browser_session import (
    SIGNIN_LIFETIME_S,
    delete_page_cookie,
    page_cookie,
    session_lifetime_s,
    set_page_cookie,
)
from podium.cookies import SESSION_COOKIE, SIGNIN_COOKIE
from podium.web.access import context_of, require_change_allowed, signer
from podium.web.routing import PageRoute
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _local(target: str) -> str:
    """Only paths on this site: a sign-in link must not be able to send people elsewhere."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _signin_form(request: Request, next: str, status_code: int = 200, error: str | None = None) -> Response:
    """The form, with a CSRF token tied to the visitor's sign-in nonce (made here when missing)."""
    nonce = request.cookies.get(page_cookie(request, SIGNIN_COOKIE)) or secrets.token_urlsafe(18)
    response = render(
        request,
        "signin.html",
        status_code=status_code,
        next=_local(next),
        signin_csrf=signer(request).signin_token(nonce),
        flashes=[("error", error)] if error else [],
    )
    set_page_cookie(request, response, SIGNIN_COOKIE, nonce, SIGNIN_LIFETIME_S, path="/signin")
    return response


@router.get("/signin")
def signin_page(request: Request, next: str = "/"):
    return _signin_form(request, next)


@router.post("/signin")
def signin(request: Request, token: str = Form(""), next: str = Form("/"), csrf_token: str = Form("")):
    if not signer(request).signin_ok(request.cookies.get(page_cookie(request, SIGNIN_COOKIE)), csrf_token):
        return _signin_form(
            request,
            next,
            403,
            "This sign-in did not come from this Podium's sign-in form "
            "(or the form is over an hour old). Sign in again here.",
        )
    try:
        user = user_for_token(context_of(request).db, token.strip())
    except TokenRefused as exc:
        return _signin_form(request, next, 401, str(exc))
    if user is None:
        return _signin_form(
            request,
            next,
            401,
            "That token is not known here. Use the admin token printed "
            "when Podium first started, or make one with `podium token`.",
        )
    response = RedirectResponse(_local(next), status_code=303)
    delete_page_cookie(request, response, SIGNIN_COOKIE, path="/signin")
    lifetime_s = session_lifetime_s(user, time.time())
    set_page_cookie(request, response, SESSION_COOKIE, signer(request).issue(user, lifetime_s), lifetime_s)
    return response


@router.post("/signout")
def signout(request: Request, csrf_token: str = Form("")):
    require_change_allowed(request, csrf_token)
    response = RedirectResponse("/", status_code=303)
    delete_page_cookie(request, response, SESSION_COOKIE)
    return response
