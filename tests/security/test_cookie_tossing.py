"""Cookie tossing: in host mode a space's own script runs on a sibling host of the pages, and can set a
cookie for their parent domain (`document.cookie = "podium_session=...; domain=podium.example"`), which
the proxy cannot filter. Over https the pages' cookies carry the `__Host-` prefix, which browsers accept
only from the pages' own host: a tossed `podium_session` then signs nobody in. This drives a real
`podium serve` as a TLS-terminating proxy on loopback does (uvicorn trusts its `X-Forwarded-Proto`)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx

from tests.support.podium_server import PodiumServer
from tests.support.tokens import csrf_of

HTTPS = {"X-Forwarded-Proto": "https"}


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each cookie the answer sets, by name: its whole Set-Cookie line."""
    return {next(iter(SimpleCookie(line))): line for line in response.headers.get_list("set-cookie")}


def _signed_in_as(server: PodiumServer, cookie: str, headers: dict[str, str]) -> str | None:
    page = httpx.get(f"{server.url}/", headers={**headers, "Cookie": cookie}, timeout=30).text
    match = re.search(r"Signed in as <strong>([^<]+)</strong>", page)
    return match.group(1) if match else None


def _sign_in_over_https(server: PodiumServer) -> str:
    """The session cookie's value after signing in through the form, the browser's way."""
    form = httpx.get(f"{server.url}/signin", headers=HTTPS, timeout=30)
    nonce = _set_cookies(form)
    assert list(nonce) == ["__Host-podium_signin"]
    line = nonce["__Host-podium_signin"]
    assert "Secure" in line and "Path=/;" in line and "Domain" not in line
    cookie = f"__Host-podium_signin={SimpleCookie(line)['__Host-podium_signin'].value}"
    answer = httpx.post(f"{server.url}/signin", headers={**HTTPS, "Cookie": cookie}, timeout=30,
                        data={"token": server.token, "csrf_token": csrf_of(form.text)})  # fmt: skip
    assert answer.status_code == 303, answer.text[:500]
    session = _set_cookies(answer)["__Host-podium_session"]
    assert "Secure" in session and "HttpOnly" in session and "Path=/;" in session and "Domain" not in session
    return SimpleCookie(session)["__Host-podium_session"].value


def test_over_https_a_tossed_session_cookie_signs_nobody_in(podium: PodiumServer) -> None:
    value = _sign_in_over_https(podium)
    # The real cookie works; the same value under the name a sibling host can set for the parent
    # domain does not, so an attacker's own session cannot be planted on a visitor.
    assert _signed_in_as(podium, f"__Host-podium_session={value}", HTTPS) == "admin"
    assert _signed_in_as(podium, f"podium_session={value}", HTTPS) is None
    # Control: over plain http, where no prefix exists, that name is the session.
    assert _signed_in_as(podium, f"podium_session={value}", {}) == "admin"
