"""Tokens as an attacker holds them: a read-only one, one scoped to another owner, one that expired,
one that was revoked. Each tries what it must not do, at the API, at the pages' session and at the
private-space proxy, and gets a clear 4xx while the victim's space stays as it was; the same requests
with a token that may (the negative control) succeed, so the refusals are the scopes' doing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.platform.spaces import static_space
from tests.support.podium_server import PodiumServer
from tests.support.tokens import csrf_of, expire_now, make_token, pages_session

DOMAIN = "podium.localhost"
NOTES = "alice/notes"  # alice's private static space
SITE = "alice/site"  # alice's public static space


@pytest.fixture(scope="module")
def hosted(start_podium) -> PodiumServer:
    """A Podium with each space on a host of its own, where private spaces open in a browser."""
    return start_podium(env={"PODIUM_DOMAIN": DOMAIN})


@pytest.fixture(scope="module")
def alice(hosted: PodiumServer, tmp_path_factory) -> str:
    """alice's own write token, and her two spaces, uploaded with it."""
    _, token = make_token(hosted, user="alice", name="alice's laptop")
    api = HfApi(endpoint=hosted.url, token=token)
    for space_id, private in ((NOTES, True), (SITE, False)):
        api.create_repo(space_id, repo_type="space", space_sdk="static", private=private)
        api.upload_folder(
            repo_id=space_id,
            repo_type="space",
            folder_path=static_space(tmp_path_factory.mktemp(space_id.replace("/", "-"))),
        )
        assert hosted.wait_for_stage(space_id, token=token)["stage"] == "RUNNING"
    return token


def head_of(server: PodiumServer, space_id: str) -> str:
    return server.api().space_info(space_id).sha


def proxied(server: PodiumServer, space_id: str, **headers: str) -> httpx.Response:
    """The space's own host, as a browser or an API client reaches it."""
    host = f"{space_id.replace('/', '-')}.{DOMAIN}:{server.spaces_port}"
    return httpx.get(f"{server.spaces_url}/", headers={"Host": host, **headers}, timeout=30)


def ticket_cookie(server: PodiumServer, pages: httpx.Client, space_id: str) -> str:
    """What the App tab does: the pages hand out a ticket, the space's host swaps it for its cookie."""
    opened = pages.get(f"/spaces/{space_id}/open")
    assert opened.status_code == 303, opened.text
    url = httpx.URL(opened.headers["location"])
    redeemed = httpx.get(url.copy_with(host="127.0.0.1"), headers={"Host": url.netloc.decode()}, timeout=30)
    assert redeemed.status_code == 303, redeemed.text
    return redeemed.headers["set-cookie"].split(";")[0]


def test_a_read_token_cannot_push_or_change_anything(hosted, alice, tmp_path):
    _, read = make_token(hosted, by=alice, name="dashboard", role="read")
    api = HfApi(endpoint=hosted.url, token=read)
    before = head_of(hosted, SITE)
    evil = static_space(tmp_path / "evil")
    (evil / "index.html").write_text("<h1>defaced</h1>")
    with pytest.raises(HfHubHTTPError) as pushed:
        api.upload_folder(repo_id=SITE, repo_type="space", folder_path=evil)
    assert pushed.value.response.status_code == 403
    assert "read-only" in pushed.value.response.json()["error"]
    for attempt in (
        lambda: api.add_space_variable(SITE, "X", "1"),
        lambda: api.pause_space(SITE),
        lambda: api.delete_repo(SITE, repo_type="space"),
        lambda: api.create_repo("alice/new", repo_type="space", space_sdk="static"),
    ):
        with pytest.raises(HfHubHTTPError) as refused:
            attempt()
        assert refused.value.response.status_code == 403, attempt
    assert head_of(hosted, SITE) == before
    assert "A static space" in proxied(hosted, SITE).text
    assert hosted.api().get_space_variables(SITE) == {}
    # What a read token is for: it reads, private spaces of its owner too.
    assert api.space_info(NOTES).private
    assert proxied(hosted, NOTES, Authorization=f"Bearer {read}").status_code == 200


def test_a_read_session_cannot_change_anything_from_the_pages(hosted, alice):
    _, read = make_token(hosted, by=alice, name="read in a browser", role="read")
    pages = pages_session(hosted, read)
    csrf = csrf_of(pages.get("/tokens").text)
    paused = pages.post(f"/spaces/{SITE}/settings/pause", data={"csrf_token": csrf})
    assert paused.status_code == 403 and "read-only" in paused.text
    api_pause = pages.post(f"/api/spaces/{SITE}/pause", headers={"X-CSRF-Token": csrf})
    assert api_pause.status_code == 403 and "read-only" in api_pause.json()["error"]
    made = pages.post("/tokens", data={"name": "wider", "role": "write", "csrf_token": csrf})
    assert made.status_code == 403 and "may not manage tokens" in made.text
    pages.close()
    assert hosted.api().get_space_runtime(SITE).stage == "RUNNING"


def test_a_token_scoped_to_bob_cannot_touch_alices_spaces(hosted, alice, tmp_path):
    # An admin's deploy token for bob's spaces: admin rights narrowed to one owner.
    _, deploy = make_token(hosted, name="bob's deploys", user="admin", owner="bob")
    api = HfApi(endpoint=hosted.url, token=deploy)
    before = head_of(hosted, SITE)
    with pytest.raises(HfHubHTTPError) as pushed:
        api.upload_folder(repo_id=SITE, repo_type="space", folder_path=static_space(tmp_path / "evil"))
    assert pushed.value.response.status_code == 403 and "scoped to bob" in pushed.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as deleted:
        api.delete_repo(SITE, repo_type="space")
    assert deleted.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):  # alice's private space does not exist for it
        api.space_info(NOTES)
    assert (
        httpx.get(
            f"{hosted.url}/api/spaces/{NOTES}/secrets", timeout=30, headers={"Authorization": f"Bearer {deploy}"}
        ).status_code
        == 404
    )
    assert proxied(hosted, NOTES, Authorization=f"Bearer {deploy}").status_code == 404
    assert NOTES not in [space.id for space in api.list_spaces(author="alice")]
    assert head_of(hosted, SITE) == before
    # Negative control: the admin's unscoped token reads alice's private space, and the deploy token
    # does its job on bob's.
    assert proxied(hosted, NOTES, Authorization=f"Bearer {hosted.token}").status_code == 200
    api.create_repo("bob/site", repo_type="space", space_sdk="static")
    api.upload_folder(repo_id="bob/site", repo_type="space", folder_path=static_space(tmp_path / "bob"))
    assert api.whoami()["auth"]["accessToken"]["role"] == "fineGrained"


def test_a_scoped_read_or_short_lived_token_cannot_make_itself_a_wider_one(hosted, alice):
    _, read = make_token(hosted, by=alice, name="reader", role="read")
    _, scoped = make_token(hosted, name="scoped admin", user="admin", owner="bob")
    _, brief = make_token(hosted, by=alice, name="a day", expires_in="1d")
    attempts = [
        (read, {"name": "write", "role": "write"}, "may not manage tokens"),
        (scoped, {"name": "everything", "user": "admin", "admin": True}, "may not manage tokens"),
        (brief, {"name": "forever"}, "must expire by then"),
        (alice, {"name": "admin", "admin": True}, "only an admin"),
        (alice, {"name": "bob's", "owner": "bob"}, "own spaces only"),
        (alice, {"name": "for bob", "user": "bob"}, "only an admin"),
    ]
    for token, body, why in attempts:
        response = httpx.post(
            f"{hosted.url}/api/tokens", json=body, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403 and why in response.json()["error"], (body, response.text)
    # alice revokes only her own tokens; another's id is a 404, as if it did not exist.
    admins = httpx.delete(f"{hosted.url}/api/tokens/1", headers={"Authorization": f"Bearer {alice}"}, timeout=30)
    assert admins.status_code == 404
    assert hosted.api().whoami()["name"] == "admin"


def _revoke(server: PodiumServer, token_id: int, token: str) -> None:
    """The token's own user revokes it, as `podium token revoke ID` does."""
    response = httpx.delete(
        f"{server.url}/api/tokens/{token_id}", timeout=30, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.json()["state"] == "revoked"


def _expire(server: PodiumServer, token_id: int, token: str) -> None:
    expire_now(server, token_id)


@pytest.mark.parametrize(("end", "said"), [(_revoke, "was revoked"), (_expire, "expired")], ids=["revoked", "expired"])
def test_a_token_that_ended_is_refused_at_the_api_the_pages_and_the_proxy(
    hosted, alice, end: Callable[[PodiumServer, int, str], None], said: str
):
    token_id, token = make_token(hosted, by=alice, name=f"laptop ({said})", expires_in="30d")
    pages = pages_session(hosted, token)
    cookie = ticket_cookie(hosted, pages, NOTES)
    # Negative control: while the token holds, each way in works.
    assert HfApi(endpoint=hosted.url, token=token).whoami()["name"] == "alice"
    assert pages.get(f"/spaces/{SITE}/settings").status_code == 200
    assert proxied(hosted, NOTES, Authorization=f"Bearer {token}").status_code == 200
    assert proxied(hosted, NOTES, Cookie=cookie).status_code == 200

    end(hosted, token_id, token)

    api = httpx.get(f"{hosted.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert api.status_code == 401
    assert said in api.json()["error"] and "podium token create" in api.json()["error"]
    assert pages.get(f"/spaces/{SITE}/settings").status_code == 401  # the session ended with the token
    assert pages.get(f"/spaces/{NOTES}").status_code == 404
    assert "Signed in as" not in pages.get("/").text
    with httpx.Client(base_url=hosted.url, timeout=30) as fresh:
        again = fresh.post("/signin", data={"token": token, "csrf_token": csrf_of(fresh.get("/signin").text)})
        assert again.status_code == 401 and said in again.text
    assert proxied(hosted, NOTES, Authorization=f"Bearer {token}").status_code == 404
    assert proxied(hosted, NOTES, Cookie=cookie).status_code == 404
    pages.close()


def test_the_last_admin_token_cannot_be_revoked(start_podium):
    fresh = start_podium()
    # The admin revokes the token printed at first start: nobody could make tokens after that.
    first = httpx.delete(f"{fresh.url}/api/tokens/1", headers={"Authorization": f"Bearer {fresh.token}"}, timeout=30)
    assert first.status_code == 409 and "last admin token" in first.json()["error"]
    assert fresh.api().whoami()["name"] == "admin"
    # With another lasting admin token, the first one goes, and the new one carries on.
    _, spare = make_token(fresh, name="spare admin", admin=True)
    assert (
        httpx.delete(f"{fresh.url}/api/tokens/1", headers={"Authorization": f"Bearer {spare}"}, timeout=30).status_code
        == 200
    )
    assert (
        httpx.get(
            f"{fresh.url}/api/whoami-v2", headers={"Authorization": f"Bearer {fresh.token}"}, timeout=30
        ).status_code
        == 401
    )
    assert fresh.api(spare).whoami()["name"] == "admin"
    fresh.stop()


def test_only_a_hash_of_each_token_is_stored(hosted, alice):
    _, token = make_token(hosted, name="look for me")
    stored = b"".join(path.read_bytes() for path in hosted.data_dir.glob("podium.db*"))
    assert token.encode() not in stored and alice.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored  # what is stored instead
