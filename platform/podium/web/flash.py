"""What a page says after a form's change: the change answers with a redirect (303) back to a page,
and a short-lived cookie carries its message there, shown once.

The cookie is signed and tied to the visitor's session: a space on another port of this host can
set cookies here too (cookies ignore ports), and must not make Podium's pages say its words. The
browser also sends it to such a space, so it holds nothing secret: the change's message, and a MAC
of the session (never the session or its CSRF token).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from podium.browser_session import delete_page_cookie, page_cookie, set_page_cookie
from podium.cookies import FLASH_COOKIE
from podium.web.access import Visitor, context_of

FLASH_LIFETIME_S = 60
# A cookie holds about 4 KB; a message that long is cut rather than silently dropped by the browser.
_MAX_MESSAGE = 1000
_PURPOSE = "flash"


def _session_mark(request: Request, visitor: Visitor) -> str:
    return context_of(request).signer.mac(_PURPOSE, visitor.session.cookie)


def redirect(request: Request, visitor: Visitor, url: str, kind: str, message: str) -> RedirectResponse:
    """A 303 to `url`, whose page then shows `message` as a flash of `kind` ("ok" or "error")."""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    claims = {"k": kind, "m": message, "s": _session_mark(request, visitor)}
    note = context_of(request).signer.sign(_PURPOSE, claims, FLASH_LIFETIME_S)
    response = RedirectResponse(url, status_code=303)
    set_page_cookie(request, response, FLASH_COOKIE, note, FLASH_LIFETIME_S)
    return response


def carried(request: Request) -> list[tuple[str, str]]:
    """The flash this request brings for the signed-in visitor, if any."""
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    claims = context_of(request).signer.unsign(_PURPOSE, request.cookies.get(page_cookie(request, FLASH_COOKIE)))
    if visitor is None or claims is None or claims.get("s") != _session_mark(request, visitor):
        return []
    return [(str(claims.get("k")), str(claims.get("m")))]


def shown(request: Request, response: Response) -> None:
    """Forget the flash once a page has shown it."""
    delete_page_cookie(request, response, FLASH_COOKIE)
