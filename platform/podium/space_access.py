"""Private spaces in a browser: a ticket from Podium's pages, swapped for a cookie on the space's host.

API clients reach a private space with a Bearer token. A browser cannot send one from a frame or a
link, so it gets in the way Hugging Face's private spaces do: the pages, where the visitor is
signed in, hand out a ticket good for one space and one minute (`TICKET_PARAM` in the URL); the
space's own host swaps it for an HttpOnly cookie that opens that space and no other, and redirects
to the same URL without the ticket, so the app never sees it.

This needs each space on a host of its own (host mode, `PODIUM_DOMAIN`). On the spaces' shared
origin of path mode, any space's script could use such a cookie to read another space, so there
private spaces stay Bearer-only.

Sibling spaces (`alice-a.domain`, `bob-b.domain`) are same-site, so a sibling's script can make the
browser send this host's Lax cookie along with a request it fires. The cookie therefore admits only
what a visitor does: the space's own pages' requests and GET navigations (Fetch Metadata); the
space's answers are framed by Podium's pages only and carry no CORS grant from Podium.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from starlette.types import Receive, Scope, Send

from podium.auth import User
from podium.cookies import ACCESS_COOKIE
from podium.proxy.headers import header
from podium.signing import Signer

TICKET_PARAM = "__podium_ticket"
TICKET_LIFETIME_S = 60
ACCESS_LIFETIME_S = 12 * 3600
_TICKET, _ACCESS = "space-ticket", "space-access"
_TICKET_KEY = TICKET_PARAM.encode()
_LEADING_SEPARATORS = re.compile(r"^[/\\\x00-\x20]+")


def _claims(space_id: str, user: User) -> dict[str, object]:
    """What a ticket and the cookie it becomes say: this space, for this user, on behalf of this token
    (checked again on each use, so revoking the token closes the space to its cookie too)."""
    return {"s": space_id, "u": user.name, "a": user.admin, "t": user.token_id}


def with_ticket(url: str, ticket: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), (TICKET_PARAM, ticket)])
    return urlunsplit(parts._replace(query=query))


def _visitor_initiated(scope: Scope) -> bool:
    """Fetch Metadata's resource isolation policy: anything the space's own pages ask for, what the
    visitor typed, and plain GET navigations from elsewhere (links); browsers without it pass."""
    site = header(scope, b"sec-fetch-site")
    if site is None or site in (b"same-origin", b"none"):
        return True
    return header(scope, b"sec-fetch-mode") == b"navigate" and scope.get("method") in ("GET", "HEAD")


class SpaceAccess:
    def __init__(self, signer: Signer):
        self._signer = signer

    def ticket(self, space_id: str, user: User) -> str:
        return self._signer.sign(_TICKET, _claims(space_id, user), TICKET_LIFETIME_S)

    def _user(self, purpose: str, space_id: str, note: str | None) -> User | None:
        claims = self._signer.unsign(purpose, note)
        if claims is None or claims.get("s") != space_id or not isinstance(claims.get("u"), str):
            return None
        return User(
            name=claims["u"], token_name="browser ticket", admin=bool(claims.get("a")), token_id=claims.get("t")
        )

    def redeem(self, space_id: str, scope: Scope) -> tuple[User, RedeemedTicket] | None:
        """For a request that carries a valid ticket into this space: who it is for, and the
        response that sets the space's cookie and sends the browser on without the ticket."""
        query_string = scope.get("query_string", b"")
        if _TICKET_KEY not in query_string:  # the common case, on every request of a space: no parsing
            return None
        query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        tickets = [value for key, value in query if key == TICKET_PARAM]
        user = self._user(_TICKET, space_id, tickets[0]) if len(tickets) == 1 else None
        if user is None:
            return None
        cookie = self._signer.sign(_ACCESS, _claims(space_id, user), ACCESS_LIFETIME_S)
        rest = urlencode([(key, value) for key, value in query if key != TICKET_PARAM])
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(scope.get("root_path", "") + scope["path"])
        location = _on_this_host(path) + (f"?{rest}" if rest else "")
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        set_cookie = f"{ACCESS_COOKIE}={cookie}; Path=/; Max-Age={ACCESS_LIFETIME_S}; HttpOnly; SameSite=Lax{secure}"
        return user, RedeemedTicket(location, set_cookie)

    def user(self, space_id: str, cookie: str | None, scope: Scope) -> User | None:
        """Who the space's cookie says is visiting, when the request is one the visitor made."""
        return self._user(_ACCESS, space_id, cookie) if cookie and _visitor_initiated(scope) else None


def _on_this_host(path: str) -> str:
    """The request's path as a Location that stays on this host. Browsers read `//evil.example/` as
    another host, and `/\\evil.example/` or `/<tab>/evil.example/` too (a backslash is a slash to them,
    tabs are dropped), so what leads the path up to its first other character becomes one slash."""
    return "/" + _LEADING_SEPARATORS.sub("", path)


class RedeemedTicket:
    """303 to the URL without the ticket, with the space's cookie set."""

    def __init__(self, location: str, set_cookie: str):
        self.location, self.set_cookie = location, set_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"location", self.location.encode("latin-1")),
            (b"set-cookie", self.set_cookie.encode()),
            (b"cache-control", b"no-store"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
