"""Tokens for tests, made the way users make them (`POST /api/tokens`), and a pages session signed in
with one through the sign-in form, as a browser without JavaScript does it."""

from __future__ import annotations

import re
import sqlite3

import httpx

from tests.support.podium_server import PodiumServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_token(server: PodiumServer, by: str | None = None, **body: object) -> tuple[int, str]:
    """A new token (id, token) as `by` (the admin token when None) asks for it: name, user, role, owner,
    expires_in, admin."""
    body.setdefault("name", "test token")
    response = httpx.post(
        f"{server.url}/api/tokens", json=body, timeout=30, headers={"Authorization": f"Bearer {by or server.token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"], response.json()["token"]


def csrf_of(page: str) -> str:
    return _CSRF.search(page).group(1)


def pages_session(server: PodiumServer, token: str) -> httpx.Client:
    """An HTTP client signed in to the pages with `token` (its session cookie in the client's jar)."""
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get("/signin")
    signed_in = client.post("/signin", data={"token": token, "csrf_token": csrf_of(form.text)})
    assert signed_in.status_code == 303, signed_in.text
    return client


def expire_now(server: PodiumServer, token_id: int) -> None:
    """Let time pass for one token: its expiry moves to a minute ago (a stand-in for waiting a day)."""
    with sqlite3.connect(server.data_dir / "podium.db") as db:
        db.execute("UPDATE tokens SET expires_at = datetime('now', '-1 minute') WHERE id = ?", (token_id,))
