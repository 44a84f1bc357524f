"""The browser session: a signed, HttpOnly, SameSite, host-only cookie, and the CSRF token tied to it.

A Podium token proves who someone is once, at sign-in; the browser then carries only a signed
note (user name, admin or not, expiry), never the token. The cookie has no Domain attribute, so it
stays on the pages' host. Cookies and SameSite both ignore ports, so a space served from another
port of the same host is "same-site": the cookie alone proves nothing about where a request came
from. That is why every change made with the cookie must also carry the CSRF token, which only
Podium's own pages can read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME_S = 14 * 24 * 3600


@dataclass(frozen=True)
class Session:
    user: str
    admin: bool
    expires: int
    cookie: str


class SessionSigner:
    """Issues and checks session cookies and CSRF tokens with one server secret."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, user: str, admin: bool, lifetime_s: int = SESSION_LIFETIME_S) -> str:
        body = json.dumps({"u": user, "a": admin, "e": int(time.time()) + lifetime_s}, separators=(",", ":"))
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._mac('session', payload)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie proves, or None when it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            user, admin, expires = str(body["u"]), bool(body["a"]), int(body["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time():
            return None
        return Session(user=user, admin=admin, expires=expires, cookie=cookie)

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf", session.cookie)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf_token(session))
