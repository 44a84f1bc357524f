"""The browser session: a signed, HttpOnly, SameSite, host-only cookie, the CSRF token tied to it, and
the visitor it signs in (for the pages, and for the API when Podium's own pages call it).

A Podium token proves who someone is once, at sign-in; the browser then carries only a signed
note (the token's id and user, expiry), never the token. Each request checks that token again, so the
session has the token's limits (read-only, one owner's spaces) and ends when it expires or is
revoked. The cookie has no Domain attribute, so it stays on the pages' host. Cookies and SameSite
both ignore ports, so a space served from another port of the same host is "same-site": the cookie
alone proves nothing about where a request came from. That is why every change made with the cookie
must also carry the CSRF token, which only Podium's own pages can read.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from podium.auth import User, user_for_token_id
from podium.context import context_of
from podium.cookies import SESSION_COOKIE
from podium.signing import Signer

CSRF_FIELD = "csrf_token"
SIGNIN_LIFETIME_S = 3600
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME_S = 14 * 24 * 3600


def session_lifetime_s(user: User, at: float) -> int:
    """A session lasts two weeks, or until the token it was made with expires if that is sooner."""
    if user.expires_at is None:
        return SESSION_LIFETIME_S
    left = user.expires_at.replace(tzinfo=dt.UTC).timestamp() - at
    return max(1, min(SESSION_LIFETIME_S, int(left)))


_SESSION = "session"


def page_cookie(request: Request, name: str) -> str:
    """The name a page cookie has on this request. Over https it carries the `__Host-` prefix, which a
    browser accepts only host-only, Secure and for path /: a space's script on a sibling host can then
    not toss one onto the pages (a cookie it sets for the parent domain has no such prefix, and is
    ignored). Over plain http no prefix is possible; the README says what that leaves open."""
    return f"__Host-{name}" if request.url.scheme == "https" else name


def set_page_cookie(request: Request, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
    """How each of the pages' cookies is set. No Domain attribute: host-only. HttpOnly: no script can
    read it. SameSite=Lax: not sent on other sites' sub-requests (spaces on another port are
    same-site, which is what the CSRF tokens are for). Over https: Secure, `__Host-`, path /."""
    secure = request.url.scheme == "https"
    response.set_cookie(
        page_cookie(request, name),
        value,
        max_age=max_age,
        path="/" if secure else path,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def delete_page_cookie(request: Request, response: Response, name: str, path: str = "/") -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(
        page_cookie(request, name), path="/" if secure else path, httponly=True, samesite="lax", secure=secure
    )


@dataclass(frozen=True)
class Session:
    user: str
    token_id: object  # the id of the token signed in with; anything else (a pre-upgrade note) is no session
    expires: int
    cookie: str


class SessionSigner:
    """Issues and checks session cookies and CSRF tokens with the Podium's signer."""

    def __init__(self, signer: Signer):
        self._signer = signer

    def issue(self, user: User, lifetime_s: int = SESSION_LIFETIME_S) -> str:
        return self._signer.sign(_SESSION, {"u": user.name, "t": user.token_id}, lifetime_s)

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie proves, or None when it is missing, forged or expired."""
        claims = self._signer.unsign(_SESSION, cookie)
        if claims is None or not isinstance(claims.get("u"), str):
            return None
        return Session(user=claims["u"], token_id=claims.get("t"), expires=int(claims["e"]), cookie=cookie)

    def csrf_token(self, session: Session) -> str:
        return self._signer.mac("csrf", session.cookie)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf_token(session))

    def signin_token(self, nonce: str) -> str:
        return self._signer.mac("signin", nonce)

    def signin_ok(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce) and bool(token) and hmac.compare_digest(token, self.signin_token(nonce))


@dataclass(frozen=True)
class Visitor:
    user: User
    session: Session
    csrf: str


def signer(request: Request) -> SessionSigner:
    return SessionSigner(context_of(request).signer)


def identify(request: Request) -> Visitor | None:
    """The signed-in visitor from the session cookie, with the limits of the token they signed in with
    (none once it expired or was revoked); also kept on `request.state` for templates."""
    keys = signer(request)
    session = keys.read(request.cookies.get(page_cookie(request, SESSION_COOKIE)))
    visitor = None
    user = None if session is None else user_for_token_id(context_of(request).db, session.token_id)
    if user is not None:
        visitor = Visitor(user=user, session=session, csrf=keys.csrf_token(session))
    request.state.visitor = visitor
    return visitor


class CsrfMissing(Exception):
    """A change that came with the session cookie but without its CSRF token."""


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_user(request: Request) -> User | None:
    """The API's way in for Podium's own pages: the session cookie instead of a Bearer token.

    Reads need only the cookie. A change also needs the session's CSRF token in `X-CSRF-Token`:
    a space on another port of this host is same-site, so its requests carry the cookie too."""
    visitor = identify(request)
    if visitor is None:
        return None
    if request.method not in SAFE_METHODS and not signer(request).csrf_ok(
        visitor.session, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfMissing(
            f"{request.method} {request.url.path} came with Podium's session cookie but "
            f"without its CSRF token ({CSRF_HEADER}), so it did not come from a Podium page. "
            "Reload the page and try again, or send a token in Authorization instead."
        )
    return visitor.user
