"""Tokens as their users handle them: made, listed and revoked with `podium token` against a real
`podium serve`, and on the pages' Tokens page with plain form posts (no JavaScript); what
huggingface_hub sees of each kind; when each was last used."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.podium_server import PODIUM
from tests.support.tokens import csrf_of, make_token, pages_session


def podium_token(server, *args: str, token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PODIUM_URL": server.url, "PODIUM_TOKEN": token}
    env.pop("HF_TOKEN", None)
    return subprocess.run([str(PODIUM), "token", *args], capture_output=True, text=True, timeout=120, env=env)


def row_of(listing: str, token_id: int) -> str:
    return next(line for line in listing.splitlines() if line.split()[0] == str(token_id))


def test_the_cli_makes_lists_and_revokes_tokens(podium):
    made = podium_token(podium, "create", "ci deploys", "--user", "carol", "--expires", "30d", token=podium.token)
    assert made.returncode == 0, made.stderr
    ci = made.stdout.strip()  # the token alone on stdout, for scripts; what it is, on stderr
    token_id = int(re.search(r"token (\d+) 'ci deploys' for carol: write, carol/\*, expires ", made.stderr)[1])
    assert HfApi(endpoint=podium.url, token=ci).whoami()["name"] == "carol"

    # carol's own token makes her a read token limited to her spaces (expiring before it must), and
    # lists both, never the tokens themselves.
    read = podium_token(podium, "create", "dashboard", "--read", "--owner", "carol", "--expires", "7d", token=ci)
    assert read.returncode == 0, read.stderr
    listing = podium_token(podium, "list", token=ci)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split()[:8] == ["ID", "USER", "NAME", "ROLE", "SCOPE", "EXPIRES", "LAST", "USED"]
    assert ci not in listing.stdout and read.stdout.strip() not in listing.stdout
    ci_row = row_of(listing.stdout, token_id)
    assert "carol" in ci_row and "write" in ci_row and "active" in ci_row and "never" not in ci_row.split("deploys")[1]
    assert "read" in listing.stdout and "carol/*" in listing.stdout
    assert "admin (made at first start)" not in listing.stdout  # only carol's own tokens
    assert "admin (made at first start)" in podium_token(podium, "list", token=podium.token).stdout

    revoked = podium_token(podium, "revoke", str(token_id), token=podium.token)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    refused = podium_token(podium, "list", token=ci)
    assert refused.returncode == 1 and "was revoked" in refused.stderr and "podium token create" in refused.stderr
    assert "revoked" in row_of(podium_token(podium, "list", token=podium.token).stdout, token_id)


def test_the_cli_says_what_is_wrong_with_a_request(podium):
    bad_expiry = podium_token(podium, "create", "x", "--expires", "soon", token=podium.token)
    assert bad_expiry.returncode == 1 and "not a lifetime" in bad_expiry.stderr
    unknown = podium_token(podium, "revoke", "99999", token=podium.token)
    assert unknown.returncode == 1 and "no token 99999" in unknown.stderr


@pytest.mark.parametrize(
    ("body", "role"),
    [({"role": "read"}, "read"), ({"role": "write"}, "write"), ({"role": "read", "owner": "dora"}, "fineGrained")],
)
def test_huggingface_hub_sees_each_kind_of_token_as_the_hub_names_it(podium, body, role):
    _, token = make_token(podium, user="dora", **body)
    seen = HfApi(endpoint=podium.url, token=token).whoami()
    assert seen["name"] == "dora" and seen["auth"]["accessToken"]["role"] == role
    if role == "fineGrained":
        scoped = seen["auth"]["accessToken"]["fineGrained"]["scoped"]
        assert scoped == [{"entity": {"type": "user", "name": "dora"}, "permissions": ["repo.content.read"]}]


def test_a_token_records_when_it_was_last_used(podium):
    token_id, token = make_token(podium, user="erin")
    record = {r["id"]: r for r in podium.http().get("/api/tokens").json()}[token_id]
    assert record["lastUsedAt"] is None
    HfApi(endpoint=podium.url, token=token).whoami()
    record = {r["id"]: r for r in podium.http().get("/api/tokens").json()}[token_id]
    assert record["lastUsedAt"] is not None


def test_the_tokens_page_makes_shows_once_and_revokes_without_javascript(podium):
    _, own = make_token(podium, user="frank", name="frank's laptop")
    pages = pages_session(podium, own)
    page = pages.get("/tokens")
    assert page.status_code == 200 and "frank&#39;s laptop" in page.text and "Create token" in page.text
    csrf = csrf_of(page.text)

    made = pages.post(
        "/tokens", data={"name": "notebook", "role": "read", "owner": "", "expires": "7d", "csrf_token": csrf}
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    notebook = re.search(r'id="made-token" class="mono full" value="(hf_[^"]+)"', made.text)[1]
    seen = HfApi(endpoint=podium.url, token=notebook).whoami()
    assert seen["name"] == "frank" and seen["auth"]["accessToken"]["role"] == "read"
    again = pages.get("/tokens")
    assert notebook not in again.text and "notebook" in again.text  # shown once: the list has no secrets
    notebook_id = next(
        r["id"]
        for r in httpx.get(f"{podium.url}/api/tokens", headers={"Authorization": f"Bearer {own}"}).json()
        if r["name"] == "notebook"
    )

    forged = pages.post(f"/tokens/{notebook_id}/revoke", data={"csrf_token": "guessed"})
    assert forged.status_code == 403
    assert HfApi(endpoint=podium.url, token=notebook).whoami()["name"] == "frank"
    revoked = pages.post(f"/tokens/{notebook_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/tokens"
    assert "Revoked token &#39;notebook&#39;" in pages.get("/tokens").text
    assert httpx.get(f"{podium.url}/api/whoami-v2", headers={"Authorization": f"Bearer {notebook}"}).status_code == 401

    refused = pages.post("/tokens", data={"name": "for someone else", "user": "grace", "csrf_token": csrf})
    assert refused.status_code == 403 and "only an admin" in refused.text
    pages.close()
    with httpx.Client(base_url=podium.url) as stranger:
        assert stranger.get("/tokens").status_code == 403  # signed out: the page asks to sign in


def test_a_malformed_token_request_is_a_clear_4xx(podium):
    http = podium.http()
    bodies = [
        {"name": ""},
        {"name": "x" * 129},
        {"name": "r", "role": "admin"},
        {"name": "o", "owner": "../bob"},
        {"name": "u", "user": "a b"},
        {"name": "e", "expires_in": "99999999999d"},
        {"name": "e", "expires_in": "-1d"},
        {"name": 5},
        {"name": "a", "admin": "maybe"},
    ]
    for body in bodies:
        response = http.post("/api/tokens", json=body)
        assert response.status_code in (400, 422), (body, response.status_code, response.text)
    for token_id in ("0", "-3", str(2**31), str(2**64), "x"):
        assert http.delete(f"/api/tokens/{token_id}").status_code == 422, token_id
    assert http.delete(f"/api/tokens/{2**31 - 1}").status_code == 404
