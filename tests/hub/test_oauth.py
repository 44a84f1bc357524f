"""`hf_oauth: true` works: Podium is the OpenID Connect provider of spaces that ask for "Sign in with
Hugging Face", and a real Gradio app's `gr.LoginButton` signs a Podium user in, in Chromium.

Each attack a space or a page could try on the provider gets a story: another space's client id, a
redirect elsewhere, a code used twice or by another space, a forged consent, a private space's outsiders,
the client secret on a page or in a log, and what the door into Podium opens from inside a sandbox.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from gradio_client import Client as GradioClient
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import expect, sync_playwright

from tests.hub import oauth_fixtures
from tests.hub.oauth_fixtures import PodiumVisitor, pkce_pair, redeem, space_host, token_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.podium_server import PodiumServer

pytestmark = pytest.mark.timeout(300)
# The fixtures of these stories (tests/hub/oauth_fixtures.py).
admin_visitor = oauth_fixtures.admin_visitor
host_mode_hub = oauth_fixtures.host_mode_hub
oauth_app = oauth_fixtures.oauth_app
static_client = oauth_fixtures.static_client


def test_discovery_names_the_pages_as_issuer_and_authorize_endpoint(hub: PodiumServer):
    metadata = httpx.get(f"{hub.url}/.well-known/openid-configuration").json()
    assert metadata["issuer"] == hub.url
    assert metadata["authorization_endpoint"] == f"{hub.url}/oauth/authorize"
    assert metadata["token_endpoint"] == f"{hub.url}/oauth/token"
    assert {"openid", "profile"} <= set(metadata["scopes_supported"])
    assert httpx.get(metadata["jwks_uri"]).json()["keys"][0]["kty"] == "RSA"


def test_a_consented_code_gives_an_id_token_and_userinfo_of_the_podium_user(hub, static_client, admin_visitor):
    client = static_client("admin/static-signin")
    code, location = admin_visitor.code_for(client)
    # Gradio spells its callback https://{SPACE_HOST}/login/callback; the code goes where the space is.
    assert location.startswith(f"http://127.0.0.1:{hub.spaces_port}/apps/admin/static-signin/login/callback?")

    answer = redeem(hub, client, code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    tokens = answer.json()
    keys = KeySet.import_key_set(httpx.get(f"{hub.url}/oauth/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["iss"] == hub.url and claims["aud"] == [client.client_id]
    assert (claims["sub"], claims["preferred_username"], claims["name"]) == ("admin", "admin", "admin")
    userinfo = httpx.get(f"{hub.url}/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.json()["preferred_username"] == "admin"
    # The access token reads userinfo only: Podium's API does not take it.
    whoami = httpx.get(f"{hub.url}/api/whoami-v2", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert whoami.status_code == 401


def test_a_space_cannot_have_codes_sent_to_another_space_or_another_origin(hub, static_client, admin_visitor):
    mine, theirs = static_client("admin/static-mine"), static_client("admin/static-theirs")
    spaces = f"http://127.0.0.1:{hub.spaces_port}"
    for redirect_uri in (
        f"{spaces}/apps/admin/static-theirs/login/callback",  # another space's address, its own client id
        f"{spaces}/apps/admin/static-mine/../static-theirs/login/callback",
        f"{spaces}/apps/admin/static-mine/%2e%2e/static-theirs/login/callback",
        f"http://127.0.0.1:{hub.port}/tokens",  # Podium's own pages
        "https://evil.example/login/callback",
        f"http://evil.example@127.0.0.1:{hub.spaces_port}/apps/admin/static-mine/",
        f"{spaces}/apps/admin/static-mine/callback#fragment",
    ):
        page = admin_visitor.authorize(mine, redirect_uri=redirect_uri)
        assert page.status_code == 400, redirect_uri
        assert "location" not in page.headers and "is not supported by client" in page.text
    # The Hub's spelling of another space's address is read as this space's own.
    _, location = admin_visitor.code_for(
        mine, redirect_uri=f"https://127.0.0.1:{hub.spaces_port}/apps/admin/static-theirs/x"
    )
    assert location.startswith(f"{spaces}/apps/admin/static-mine/apps/admin/static-theirs/x?")
    assert theirs.client_id != mine.client_id


def test_a_code_is_good_once_and_only_for_its_own_space(hub, static_client, admin_visitor):
    mine, theirs = static_client("admin/static-once"), static_client("admin/static-thief")
    code, _ = admin_visitor.code_for(mine)
    stolen = redeem(hub, theirs, code)  # another space's server, with its own valid credentials
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    forged = redeem(hub, mine.__class__(mine.space_id, mine.client_id, "not-the-secret", mine.callback), code)
    assert forged.status_code in (400, 401) and forged.json()["error"] == "invalid_client"

    first = redeem(hub, mine, code)  # refusing the thief did not spend it
    assert first.status_code == 200, first.text
    access_token = first.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert httpx.get(f"{hub.url}/oauth/userinfo", headers=bearer).status_code == 200
    again = redeem(hub, mine, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # A code used twice was intercepted: what the first use gave is revoked (RFC 6749 §4.1.2).
    assert httpx.get(f"{hub.url}/oauth/userinfo", headers=bearer).status_code == 401


def test_pkce_binds_the_code_to_its_verifier(hub, static_client, admin_visitor):
    client = static_client("admin/static-pkce")
    verifier, challenge = pkce_pair()
    code, _ = admin_visitor.code_for(client, code_challenge=challenge, code_challenge_method="S256")
    assert redeem(hub, client, code, code_verifier="x" * 50).json()["error"] == "invalid_grant"
    code, _ = admin_visitor.code_for(client, code_challenge=challenge, code_challenge_method="S256")
    assert redeem(hub, client, code, code_verifier=verifier).status_code == 200


def test_consent_cannot_be_forged_by_a_post_without_the_pages_csrf_token(hub, static_client, admin_visitor):
    client = static_client("admin/static-csrf")
    page = admin_visitor.authorize(client)
    assert page.status_code == 200 and "admin/static-csrf" in page.text
    # A space's script posts the consent form itself: the browser sends Podium's session cookie along
    # (spaces on another port are same-site), but it cannot read the page's CSRF token.
    fields = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.callback,
        "scope": "openid profile",
        "decision": "allow",
    }
    for csrf in ({}, {"csrf_token": "guessed"}):
        forged = admin_visitor.http.post("/oauth/authorize", data={**fields, **csrf})
        assert forged.status_code == 403 and "location" not in forged.headers
    denied = admin_visitor.consent(page, decision="deny")
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]


def test_signing_in_asks_to_sign_in_to_podium_first(hub, static_client):
    client = static_client("admin/static-anon")
    answer = httpx.get(f"{hub.url}/oauth/authorize", params={"client_id": client.client_id, "response_type": "code"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=%2Foauth%2Fauthorize")


def test_a_private_spaces_app_signs_in_only_who_may_read_it(hub, static_client, admin_visitor):
    private = static_client("admin/static-private", private=True)
    bob = PodiumVisitor(hub, token_for(hub, "bob"))
    refused = bob.authorize(private)
    assert refused.status_code == 404 and "location" not in refused.headers
    assert admin_visitor.authorize(private).status_code == 200
    only_carol = static_client("admin/static-carol", extra="hf_oauth_authorized_org: carol")
    assert bob.authorize(only_carol).status_code == 403
    carol = PodiumVisitor(hub, token_for(hub, "carol"))
    assert carol.authorize(only_carol).status_code == 200


def test_bad_oauth_keys_are_a_config_error_naming_the_key(hub, tmp_path):
    (tmp_path / "README.md").write_text("---\nsdk: static\nhf_oauth: true\nhf_oauth_scopes: [admin]\n---\n")
    (tmp_path / "index.html").write_text("<p>x</p>")
    runtime = hub.push("admin/static-bad-scope", tmp_path, sdk="static")
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "hf_oauth_scopes" in runtime["errorMessage"] and "admin" in runtime["errorMessage"]


def test_the_app_gets_the_hubs_variables_and_its_sandbox_reaches_the_provider_alone(host_mode_hub, oauth_app):
    hub = host_mode_hub
    app = GradioClient(f"{hub.spaces_url}/apps/admin/oauth-app/", verbose=False)

    def variable(name: str) -> str:
        return app.predict(name, api_name="/variable")

    def reach(url: str) -> str:
        return app.predict(url, api_name="/reach")

    assert variable("OAUTH_CLIENT_ID") == oauth_app.client_id
    assert variable("OAUTH_CLIENT_SECRET") == oauth_app.secret
    assert variable("OAUTH_SCOPES") == "openid profile"
    assert variable("SPACE_HOST") == space_host(hub, "admin/oauth-app")
    provider = variable("OPENID_PROVIDER_URL")
    assert provider == "http://127.0.0.1:7850"  # the door in the app's own network namespace
    assert reach(f"{provider}/.well-known/openid-configuration") == "200"
    assert reach(f"{provider}/oauth/jwks") == "200"
    # The door opens onto the provider and nothing else of Podium's.
    for path in ("/api/spaces", "/api/whoami-v2", "/signin", "/tokens", "/apps/admin/oauth-app/", "/api/docs"):
        assert reach(provider + path) == "404", path
    # The host's loopback (Podium's ports) stays out of reach from the sandbox.
    assert reach(f"http://10.0.2.2:{hub.port}/api/spaces").startswith("unreachable")


@pytest.mark.browser
def test_sign_in_with_hugging_face_in_chromium_shows_the_podium_user(host_mode_hub, oauth_app):
    hub = host_mode_hub
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{hub.pages_url}/signin")
            page.get_by_label("Podium token").fill(hub.token)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Signed in as")).to_be_visible()

            page.goto(f"http://{space_host(hub, 'admin/oauth-app')}/")
            expect(page.locator("#greeting")).to_contain_text("Nobody signed in")
            page.get_by_role("button", name="Sign in with Hugging Face").click()
            expect(page.get_by_role("heading", name="Sign in to admin/oauth-app")).to_be_visible()
            expect(page.get_by_text("openid")).to_be_visible()
            assert oauth_app.secret not in page.content()
            page.get_by_role("button", name="Allow").click()
            expect(page.locator("#greeting")).to_contain_text("Signed in as admin (name: admin)")
        finally:
            browser.close()


def test_the_client_secret_is_on_no_page_in_no_log_and_not_stored(host_mode_hub, oauth_app):
    hub, space = host_mode_hub, "admin/oauth-app"
    admin_visitor = PodiumVisitor(hub, hub.token)
    consent = admin_visitor.authorize(oauth_app).text
    assert oauth_app.client_id in consent  # the consent page is about this very client
    seen = {
        "consent page": consent,
        "space page": admin_visitor.http.get(f"/spaces/{space}").text,
        "settings page": admin_visitor.http.get(f"/spaces/{space}/settings").text,
        "logs page": admin_visitor.http.get(f"/spaces/{space}/logs").text,
        "space API": hub.http().get(f"/api/spaces/{space}").text,
        "variables API": hub.http().get(f"/api/spaces/{space}/variables").text,
        "podium serve's log": hub.log(),
    }
    # The build and run logs (the app's own output too), and the database: derived, never stored.
    files = [*(hub.data_dir / "logs").rglob("*"), *hub.data_dir.glob("podium.db*")]
    seen |= {str(path): path.read_bytes().decode("latin-1") for path in files if path.is_file()}
    assert any(path.name == "podium.db" for path in files)
    assert [where for where, text in seen.items() if oauth_app.secret in text] == []


def test_a_space_that_stops_asking_loses_its_client_and_its_tokens(hub, static_client, admin_visitor, tmp_path):
    client = static_client("admin/static-off")
    code, _ = admin_visitor.code_for(client)
    bearer = {"Authorization": f"Bearer {redeem(hub, client, code).json()['access_token']}"}
    assert httpx.get(f"{hub.url}/oauth/userinfo", headers=bearer).status_code == 200
    (tmp_path / "README.md").write_text("---\nsdk: static\nhf_oauth: false\n---\n")
    (tmp_path / "index.html").write_text(oauth_fixtures.HTML)
    hub.api().upload_folder(repo_id="admin/static-off", repo_type="space", folder_path=tmp_path)
    deadline = time.monotonic() + 30
    while admin_visitor.authorize(client).status_code != 400:  # once the new revision is deployed
        assert time.monotonic() < deadline, "the client still answers after hf_oauth: false was deployed"
        time.sleep(0.2)
    assert httpx.get(f"{hub.url}/oauth/userinfo", headers=bearer).status_code == 401


def _relays_to(hub: PodiumServer) -> list[int]:
    """The door relays (podium_runner/process/platform_door.py) that lead to this Podium's door."""
    door = str(hub.data_dir / "door" / "door.sock")
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().split(b"\0")
            if door.encode() in words and any(word.endswith(b"platform_door.py") for word in words):
                found.append(int(cmdline.parent.name))
    return found


def test_the_door_ends_with_its_app(host_mode_hub, oauth_app):
    hub = host_mode_hub
    relays = _relays_to(hub)
    assert len(relays) == 1  # one app asks for OAuth: one relay
    status = dict(line.split(":", 1) for line in Path(f"/proc/{relays[0]}/status").read_text().splitlines())
    assert set(status["Uid"].split()) == set(status["Gid"].split()) == {"65534"}  # nobody, every id
    assert hub.http().post("/api/spaces/admin/oauth-app/pause").status_code == 200
    deadline = time.monotonic() + 30
    while _relays_to(hub):
        assert time.monotonic() < deadline, "the relay outlived its app"
        time.sleep(0.2)
