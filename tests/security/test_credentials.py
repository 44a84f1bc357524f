"""A space's owner, mallory, tries to get Podium's credentials out of the people who use her spaces:
the token an API client or gradio_client sends, the pages' session (by planting her own: cookie
tossing, which signs the visitor in as her), and another owner's visitors (by taking their space's
host-mode address). Each attempt fails, as seen from the app, the raw response and Chromium's jar;
where it helps, the same attack against an unguarded server shows it would have worked."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, sync_playwright
from podium.db import Database, Space, host_label
from podium.spaces_origin import _space_named

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port, write_space

DOMAIN = "podium.localhost"
ECHO, PRIVATE_ECHO, WHO = "mallory/echo", "mallory/echo-private", "mallory/who"
pytestmark = pytest.mark.timeout(900)

# Cookies mallory's app answers with: her own session on Podium's pages (directly, for the pages'
# domain, and under a prefixed spelling), a forged space ticket cookie, and two cookies of her app's.
TOSSED = [
    "podium_session=mallorys-session; Path=/",
    f"podium_session=mallorys-session; Domain={DOMAIN}; Path=/",
    "__Host-podium_session=mallorys-session; Path=/; Secure",
    "podium_space_access=forged; Path=/; HttpOnly",
    f"theme=dark; Domain={DOMAIN}; Path=/",
    "own=1; Path=/",
]
# What a browser may keep of them: her app's own cookies, host-only.
KEPT = ["theme=dark; Path=/", "own=1; Path=/"]

# mallory's app: reports the request headers it got as JSON, and tosses the cookies above.
ECHO_APP = f"""
import http.server, json, os

TOSSED = {TOSSED!r}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"headers": [[k.lower(), v] for k, v in self.headers.items()]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for cookie in TOSSED:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)


address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
http.server.ThreadingHTTPServer(address, Handler).serve_forever()
"""

WHO_APP = """
import gradio as gr


def who(request: gr.Request) -> dict:
    return {"headers": dict(request.headers)}


with gr.Blocks() as demo:
    seen = gr.JSON()
    gr.Button("Who am I talking to?").click(who, None, seen, api_name="who")

demo.launch()
"""


@pytest.fixture(scope="module")
def hosted(start_podium) -> PodiumServer:
    """A Podium with each space on a host of its own (and on its path, as always)."""
    return start_podium(env={"PODIUM_DOMAIN": DOMAIN})


@pytest.fixture(scope="module")
def mallorys_spaces(hosted: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("mallory")
    echo = write_space(root / "echo", "sdk: gradio", ECHO_APP)
    who = write_space(root / "who", "sdk: gradio", WHO_APP)
    for space_id, folder, private in ((ECHO, echo, False), (PRIVATE_ECHO, echo, True), (WHO, who, True)):
        hosted.push(space_id, folder, private=private)
    for space_id in (ECHO, PRIVATE_ECHO, WHO):
        runtime = hosted.wait_for_stage(space_id, timeout=600)
        assert runtime["stage"] == "RUNNING", (space_id, runtime)


def on_host(server: PodiumServer, space_id: str, path: str = "/", **headers: str) -> httpx.Response:
    """A request to the space's own host, as a browser or an API client sends it."""
    host = f"{space_id.replace('/', '-')}.{DOMAIN}:{server.spaces_port}"
    return httpx.get(f"{server.spaces_url}{path}", headers={"Host": host, **headers}, timeout=60)


def on_path(server: PodiumServer, space_id: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.spaces_url}/apps/{space_id}/", headers=headers, timeout=60)


def seen_by_the_app(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.text
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


def test_a_callers_token_never_reaches_the_app(hosted, mallorys_spaces):
    """The admin opens mallory's private space with a token, as curl and huggingface_hub send it, with
    a session cookie from the pages and a forged X-Podium-User. The app learns who came, nothing more."""
    token = hosted.token
    for response in (
        on_path(
            hosted,
            PRIVATE_ECHO,
            Authorization=f"Bearer {token}",
            Cookie="podium_session=admins; a=1",
            **{"X-Podium-User": "someone-else"},
        ),
        on_host(hosted, PRIVATE_ECHO, **{"X-HF-Authorization": f"Bearer {token}", "X-Podium-User": "x"}),
        on_path(hosted, ECHO, Authorization=f"Bearer {token}"),
    ):
        seen = seen_by_the_app(response)
        assert token not in json.dumps(seen) and "admins" not in json.dumps(seen)
        assert not {"authorization", "x-hf-authorization"} & set(seen)
    assert seen_by_the_app(on_path(hosted, PRIVATE_ECHO, Authorization=f"Bearer {token}"))["x-podium-user"] == ["admin"]
    # A public space is told no one's name: the caller did not choose to tell mallory who they are.
    assert "x-podium-user" not in seen_by_the_app(on_path(hosted, ECHO, Authorization=f"Bearer {token}"))
    # Without the token the private space does not exist, for the proxy's 404 tells nothing.
    assert on_path(hosted, PRIVATE_ECHO).status_code == 404


def test_gradio_client_opens_a_private_space_and_its_token_stays_with_podium(hosted, mallorys_spaces, tmp_path):
    client = Client(f"{hosted.spaces_url}/apps/{WHO}/", token=hosted.token, verbose=False, download_files=str(tmp_path))
    seen = client.predict(api_name="/who")
    if isinstance(seen, str):  # an older gradio_client hands JSON back as a file
        seen = json.loads(Path(seen).read_text())
    headers = {name.lower(): value for name, value in seen["headers"].items()}
    assert hosted.token not in json.dumps(headers)
    assert not {"authorization", "x-hf-authorization"} & set(headers)
    assert headers["x-podium-user"] == "admin"


def cookies_of(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_no_cookie_of_podiums_or_for_the_pages_domain_leaves_a_space(hosted, mallorys_spaces):
    token = hosted.token
    for response in (
        on_host(hosted, ECHO),
        on_path(hosted, ECHO),
        on_host(hosted, PRIVATE_ECHO, Authorization=f"Bearer {token}"),
    ):
        assert response.status_code == 200
        tossed = [c for c in cookies_of(response) if not c.startswith("podium_instance=")]
        assert tossed == KEPT
        assert all("mallorys-session" not in c and "forged" not in c for c in cookies_of(response))


class _Unguarded(BaseHTTPRequestHandler):
    """mallory's app with no Podium in front: the negative control."""

    def do_GET(self) -> None:
        self.send_response(200)
        for cookie in TOSSED:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def browser() -> Iterator[Browser]:
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_chromium_keeps_no_cookie_a_space_tosses_at_the_pages(hosted, mallorys_spaces, browser):
    """A visitor opens mallory's space on its host, then Podium's pages: the pages get no session of
    mallory's. Served without Podium from a sibling host, the same answer plants it (negative control)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://mallory-echo.{DOMAIN}:{hosted.spaces_port}/")
    jar = context.cookies()
    assert {(c["name"], c["domain"]) for c in jar if c["name"] != "podium_instance"} == {
        ("theme", f"mallory-echo.{DOMAIN}"),
        ("own", f"mallory-echo.{DOMAIN}"),
    }
    assert not [c for c in context.cookies(f"http://{DOMAIN}:{hosted.port}/") if c["name"].startswith("podium")]
    context.close()

    unguarded = ThreadingHTTPServer(("127.0.0.1", free_port()), _Unguarded)
    threading.Thread(target=unguarded.serve_forever, daemon=True).start()
    try:
        context = browser.new_context()
        context.new_page().goto(f"http://evil.{DOMAIN}:{unguarded.server_address[1]}/")
        planted = {c["name"] for c in context.cookies(f"http://{DOMAIN}:{hosted.port}/")}
        assert "podium_session" in planted  # what the filter stops
        context.close()
    finally:
        unguarded.shutdown()


def create(server: PodiumServer, space_id: str) -> httpx.Response:
    owner, _, name = space_id.partition("/")
    return httpx.post(
        f"{server.url}/api/repos/create",
        timeout=60,
        headers={"Authorization": f"Bearer {server.token}"},
        json={"name": name, "organization": owner, "type": "space", "sdk": "static"},
    )


def test_two_spaces_never_share_a_host_address(hosted):
    """mallory, seeing alice's `alice/smith-demo`, registers as `alice-smith` and makes `demo`: both
    would be alice-smith-demo.{domain}, where the shorter owner used to win. Now the second is refused,
    in either order, and the address keeps answering for the space that holds it."""
    assert create(hosted, "alice/smith-demo").status_code == 200
    for twin in ("alice-smith/demo", "Alice-Smith/Demo", "alice_smith/demo", "alice.smith/demo"):
        refused = create(hosted, twin)
        assert refused.status_code == 409, refused.text
        assert "alice/smith-demo" in refused.text and "alice-smith-demo" in refused.text
    assert create(hosted, "bob-x/y").status_code == 200
    assert create(hosted, "bob/x-y").status_code == 409
    spaces = {space["id"] for space in httpx.get(f"{hosted.url}/api/spaces", params={"limit": 1000}).json()}
    assert {"alice/smith-demo", "bob-x/y"} <= spaces and not {"alice-smith/demo", "bob/x-y"} & spaces


def test_an_address_two_older_spaces_share_stays_with_the_older_one(tmp_path):
    """Data from a Podium that let both in: the older space keeps the host, the other answers by path."""
    db = Database(f"sqlite:///{tmp_path / 'podium.db'}")
    with db.session() as session:
        session.add(Space(owner="alice", name="smith-demo"))
        session.flush()
        session.add(Space(owner="alice-smith", name="demo"))
    with db.session() as session:
        assert db.find_space_by_host_label(session, "alice-smith-demo").space_id == "alice/smith-demo"
        on_host = [
            _space_named(db, session, owner, name, True)
            for owner, name in (("alice", "smith-demo"), ("alice-smith", "demo"))
        ]
        assert [space and space.space_id for space in on_host] == ["alice/smith-demo", None]
        assert _space_named(db, session, "alice-smith", "demo", False).space_id == "alice-smith/demo"


def test_concurrent_creates_of_one_address_make_one_space(hosted):
    """Eight colliding creates at once, as a script racing the check would send them: one wins."""
    twins = [
        "race/x-demo",
        "race-x/demo",
        "race/x_demo",
        "race/x.demo",
        "Race/X-Demo",
        "race_x/demo",
        "race.x/demo",
        "RACE-X/DEMO",
    ]
    barrier = threading.Barrier(len(twins))
    results: dict[str, int] = {}

    def attempt(space_id: str) -> None:
        barrier.wait()
        results[space_id] = create(hosted, space_id).status_code

    threads = [threading.Thread(target=attempt, args=(space_id,)) for space_id in twins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values()) == [200] + [409] * (len(twins) - 1), results


# Owners and names from the characters that fold together in a host name, so that ids collide often.
_NAME = "^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"
_owner = st.text(st.sampled_from("aA-_."), min_size=0, max_size=3).map(lambda s: f"p{s}")
_name = st.text(st.sampled_from("bB-_."), min_size=0, max_size=3).map(lambda s: f"{s}z")
_space_id = (
    st.tuples(_owner, _name)
    .map("/".join)
    .filter(lambda i: all(re.match(_NAME, part) and "--" not in part and ".." not in part for part in i.split("/")))
)
_holders: dict[str, str] = {}  # host label -> the space that holds it, across examples


@settings(max_examples=25, deadline=None)
@given(st.lists(_space_id, min_size=1, max_size=5))
def test_creation_never_gives_two_spaces_one_host_address(hosted, space_ids):
    for space_id in space_ids:
        label = host_label(space_id)
        response = create(hosted, space_id)
        if label in _holders:
            assert response.status_code == 409 and _holders[label] in response.text, (space_id, response.text)
        else:
            assert response.status_code == 200, (space_id, response.text)
            _holders[label] = space_id
