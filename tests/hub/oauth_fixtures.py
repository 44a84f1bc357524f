"""Fixtures of the "Sign in with Hugging Face" stories (tests/hub/test_oauth.py).

`oauth_app`: a real Gradio app with `hf_oauth: true`, `gr.LoginButton` and `gr.OAuthProfile`, running
sandboxed on the module's `hub`; it can also say what its own server reaches (`/reach`), the view from
inside its sandbox. `static_client(...)`: a static space with `hf_oauth: true` (no build, so cheap), which
gets an OAuth client like any other; its credentials are read the way Podium derives them. `Browser-less`
sign-ins go through `PodiumVisitor`, a plain HTTP client that signs in on Podium's form and answers the
consent page as a person's browser would.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from podium.oauth.clients import client_secret
from podium.settings import host_label
from podium.signing import signer_for

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port, write_space

OAUTH_APP = """
import os
import urllib.error
import urllib.request

import gradio as gr


def hello(profile: gr.OAuthProfile | None) -> str:
    if profile is None:
        return "Nobody signed in"
    return f"Signed in as {profile.username} (name: {profile.name})"


def reach(url: str) -> str:
    # What this app's own server gets from `url`: the tests' view from inside its sandbox.
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except OSError as error:
        return f"unreachable: {error}"


def variable(name: str) -> str:
    return os.environ.get(name, "<unset>")


with gr.Blocks() as demo:
    gr.LoginButton()
    greeting = gr.Markdown(elem_id="greeting")
    demo.load(hello, None, greeting)
    url = gr.Textbox(label="URL")
    status = gr.Textbox(label="Status")
    gr.Button("Reach").click(reach, url, status, api_name="reach")
    gr.Button("Variable").click(variable, url, status, api_name="variable")

demo.launch()
"""
DOMAIN = "podium.localhost"
HTML = "<!doctype html><title>static</title><p>static</p>\n"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass(frozen=True)
class Client:
    """A space's OAuth client, as its app's server holds it (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)."""

    space_id: str
    client_id: str
    secret: str
    callback: str  # the Hub's spelling of the space's callback, as Gradio sends it


def client_of(hub: PodiumServer, space_id: str) -> Client:
    owner, _, name = space_id.partition("/")
    with sqlite3.connect(hub.data_dir / "podium.db") as db:
        client_id, generation = db.execute(
            "SELECT c.client_id, c.secret_generation FROM oauth_clients c JOIN spaces s ON s.id = c.space_id "
            "WHERE s.owner = ? AND s.name = ? AND c.enabled",
            (owner, name),
        ).fetchone()
    secret = client_secret(signer_for(hub.data_dir), client_id, generation)
    return Client(space_id, client_id, secret, f"https://{space_host(hub, space_id)}/login/callback")


def space_host(hub: PodiumServer, space_id: str) -> str:
    """SPACE_HOST: the space's own host in host mode, the spaces' shared one in path mode."""
    domain = hub.env.get("PODIUM_DOMAIN")
    return f"{host_label(space_id)}.{domain}:{hub.spaces_port}" if domain else f"127.0.0.1:{hub.spaces_port}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class PodiumVisitor:
    """A person's browser on Podium's pages, as plain HTTP: signs in with a token, opens the consent page
    an app sends them to and answers it."""

    def __init__(self, hub: PodiumServer, token: str):
        self.hub = hub
        self.http = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=30)
        page = self.http.get("/signin")
        fields = dict(_HIDDEN.findall(page.text))
        answer = self.http.post("/signin", data={**fields, "token": token, "next": "/"})
        assert answer.status_code == 303, answer.text

    def authorize(self, client: Client, **overrides: str) -> httpx.Response:
        """The consent page for `client` (or the answer instead of it)."""
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.callback,
            "scope": "openid profile",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            **overrides,
        }
        return self.http.get("/oauth/authorize?" + urlencode(query))

    def consent(self, page: httpx.Response, decision: str = "allow") -> httpx.Response:
        assert page.status_code == 200, page.text
        return self.http.post("/oauth/authorize", data={**dict(_HIDDEN.findall(page.text)), "decision": decision})

    def code_for(self, client: Client, **overrides: str) -> tuple[str, str]:
        """A code for `client` after consenting, and the address the browser was sent to with it."""
        answer = self.consent(self.authorize(client, **overrides))
        assert answer.status_code == 302, answer.text
        location = answer.headers["location"]
        return parse_qs(urlsplit(location).query)["code"][0], location


def redeem(hub: PodiumServer, client: Client, code: str, **extra: str) -> httpx.Response:
    """What an app's server does with a code: the token request, authenticated with HTTP Basic."""
    return httpx.post(
        f"{hub.url}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": client.callback, **extra},
        auth=(client.client_id, client.secret),
        timeout=30,
    )


@pytest.fixture(scope="module")
def static_client(hub: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Client]:
    """`static_client("admin/x", private=False, extra="hf_oauth_scopes: [email]")`: a static space that
    asks for OAuth, and its client."""

    def make(space_id: str, *, private: bool = False, extra: str = "") -> Client:
        folder = tmp_path_factory.mktemp("static-oauth")
        (folder / "README.md").write_text(f"---\ntitle: Static\nsdk: static\nhf_oauth: true\n{extra}\n---\n")
        (folder / "index.html").write_text(HTML)
        runtime = hub.push(space_id, folder, sdk="static", private=private)
        assert runtime["stage"] == "RUNNING", runtime
        return client_of(hub, space_id)

    return make


@pytest.fixture(scope="module")
def host_mode_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServer]:
    """A `podium serve` with each space on a host of its own (`*.podium.localhost`, which Chromium
    resolves itself), as on the Hub: Gradio's LoginButton sends the browser to `/login/huggingface` at
    the root of the app's origin, so "Sign in with Hugging Face" needs host mode."""
    server = PodiumServer(
        tmp_path_factory.mktemp("oauth-host-mode") / "data", free_port(), free_port(), {"PODIUM_DOMAIN": DOMAIN}
    )
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def oauth_app(host_mode_hub: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """admin/oauth-app on the host-mode Podium: the Gradio app with "Sign in with Hugging Face",
    RUNNING, and its client."""
    hub = host_mode_hub
    folder = write_space(
        tmp_path_factory.mktemp("oauth-app") / "oauth-app",
        """
        title: OAuth app
        sdk: gradio
        hf_oauth: true
        hf_oauth_expiration_minutes: 60
        """,
        OAUTH_APP,
        # Hugging Face installs gradio[oauth] into every Gradio space (podium_runner.sdk_extras does too).
        requirements="gradio[oauth]\n",
    )
    runtime = hub.push("admin/oauth-app", folder)
    assert runtime["stage"] == "RUNNING", runtime
    return client_of(hub, "admin/oauth-app")


@pytest.fixture(scope="module")
def admin_visitor(hub: PodiumServer) -> PodiumVisitor:
    return PodiumVisitor(hub, hub.token)


def token_for(hub: PodiumServer, user: str) -> str:
    answer = hub.http().post("/api/tokens", json={"name": f"{user}'s", "user": user})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]
