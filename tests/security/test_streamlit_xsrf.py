"""Streamlit keeps its own defences behind Podium: XSRF protection and its CORS check are on, and the
upload endpoint still works from the app's page: top level, in the App tab, and embedded in another
site's page, in path and host mode. Another site's page that knows a visitor's session id cannot put a
file into it; the same attack on an app whose owner turned both off (`.streamlit/config.toml`, as
Podium itself did before) succeeds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Frame, Page, expect, sync_playwright

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port, write_space

DOMAIN = "podium.localhost"
GUARDED, OPEN = "alice/uploads", "bob/uploads"
pytestmark = pytest.mark.timeout(900)

UPLOADER_APP = """
import streamlit as st

st.title("Uploads")
upload = st.file_uploader("Your file")
if upload is not None:
    st.write("Got: " + upload.read().decode())
"""
XSRF_OFF = "[server]\nenableXsrfProtection = false\nenableCORS = false\n"
# The attacker's page: a PUT of its own file into the visitor's upload session, without credentials
# (the session id in the URL is all the unguarded endpoint wants), then with them.
ATTACK = """async (url) => {
    const results = [];
    for (const credentials of ["omit", "include"]) {
        const form = new FormData();
        form.append("file", new Blob(["mallory was here"]), "evil.txt");
        try {
            results.push((await fetch(url, {method: "PUT", body: form, credentials})).status);
        } catch (error) {
            results.push("refused");
        }
    }
    return results;
}"""


@pytest.fixture(scope="module")
def hosted(start_podium) -> PodiumServer:
    return start_podium(env={"PODIUM_DOMAIN": DOMAIN})


@pytest.fixture(scope="module")
def uploaders(hosted: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("uploaders")
    guarded = write_space(root / "guarded", "sdk: streamlit", UPLOADER_APP)
    unguarded = write_space(root / "open", "sdk: streamlit", UPLOADER_APP, files={".streamlit/config.toml": XSRF_OFF})
    for space_id, folder in ((GUARDED, guarded), (OPEN, unguarded)):
        runtime = hosted.push(space_id, folder, sdk="streamlit")
        assert runtime["stage"] == "RUNNING", (space_id, runtime)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """Someone else's web site on 127.0.0.1: (its port, the folder it serves)."""
    root = tmp_path_factory.mktemp("another-site")
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), lambda *args: SimpleHTTPRequestHandler(*args, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], root
    server.shutdown()


@pytest.fixture(scope="module")
def mallorys_site(web_site: tuple[int, Path]) -> str:
    """An empty page on another site (127.0.0.1 is not *.podium.localhost) for mallory's script to run in."""
    port, root = web_site
    (root / "cats.html").write_text("<!doctype html><title>Cute cats</title><h1>Cute cats</h1>")
    return f"http://127.0.0.1:{port}/cats.html"


def host_url(server: PodiumServer, space_id: str) -> str:
    return f"http://{space_id.replace('/', '-')}.{DOMAIN}:{server.spaces_port}/"


def upload(page: Page, where: Page | Frame, file: Path) -> str:
    """Upload `file` with the app's uploader as a visitor does; the upload's URL (it names the session)."""
    with page.expect_request(
        lambda request: "/_stcore/upload_file/" in request.url and request.method == "PUT"
    ) as sent:
        where.locator("input[type=file]").set_input_files(str(file))
    expect(where.get_by_text(f"Got: {file.read_text()}")).to_be_visible(timeout=30_000)
    return sent.value.url


@pytest.fixture
def visitor_file(tmp_path: Path) -> Path:
    file = tmp_path / "notes.txt"
    file.write_text("my own notes")
    return file


def test_a_visitor_uploads_in_every_way_the_app_is_shown(hosted, uploaders, browser, visitor_file):
    context = browser.new_context()
    page = context.new_page()
    for url in (host_url(hosted, GUARDED), f"{hosted.spaces_url}/apps/{GUARDED}/"):
        page.goto(url)
        upload(page, page, visitor_file)
    page.goto(f"http://{DOMAIN}:{hosted.port}/spaces/{GUARDED}")  # the App tab, in host mode
    expect(page.frame_locator("iframe.app-frame").get_by_text("Uploads")).to_be_visible(timeout=30_000)
    upload(page, next(f for f in page.frames if f"alice-uploads.{DOMAIN}" in f.url), visitor_file)
    assert [c["name"] for c in context.cookies(host_url(hosted, GUARDED))].count("_streamlit_xsrf") == 1
    context.close()


def test_a_visitor_uploads_in_an_app_embedded_on_another_site(hosted, uploaders, browser, visitor_file, web_site):
    """A blog (blog.localhost, another site to both addresses of the space) embeds the app by path and
    by host. Chromium keeps no SameSite=Lax cookie in those frames; the XSRF cookie, partitioned for
    the blog, is kept and the uploads work."""
    port, root = web_site
    for mode, url in (("host", host_url(hosted, GUARDED)), ("path", f"{hosted.spaces_url}/apps/{GUARDED}/")):
        (root / f"{mode}.html").write_text(
            f'<!doctype html><h1>My blog</h1><iframe src="{url}" width=900 height=600></iframe>'
        )
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://blog.localhost:{port}/{mode}.html")
        expect(page.frame_locator("iframe").get_by_text("Uploads")).to_be_visible(timeout=30_000)
        upload(page, page.frames[1], visitor_file)
        context.close()


def put_file(url: str, **headers: str) -> httpx.Response:
    return httpx.put(url, files={"file": ("evil.txt", b"mallory was here")}, headers=headers, timeout=30)


def test_another_site_cannot_put_a_file_into_a_visitors_session(
    hosted, uploaders, browser, visitor_file, mallorys_site
):
    """mallory's page (another site: 127.0.0.1 is not *.podium.localhost) learned the upload URL of a
    visitor's session. Her PUT is refused, in Chromium and as a bare HTTP client; her POST too."""
    context = browser.new_context()
    victim = context.new_page()
    targets = {}
    for space_id in (GUARDED, OPEN):
        victim.goto(host_url(hosted, space_id))
        targets[space_id] = upload(victim, victim, visitor_file)

    attacker = context.new_page()
    attacker.goto(mallorys_site)
    assert attacker.evaluate(ATTACK, targets[GUARDED]) == ["refused", "refused"]
    guarded_host = {"Host": f"alice-uploads.{DOMAIN}:{hosted.spaces_port}"}
    direct = targets[GUARDED].replace(f"alice-uploads.{DOMAIN}", "127.0.0.1")
    assert put_file(direct, **guarded_host).status_code == 403
    assert put_file(direct, Cookie="_streamlit_xsrf=2|00|00|0", **guarded_host).status_code == 403
    assert httpx.post(direct, headers=guarded_host, files={"file": ("e", b"x")}).status_code in (403, 405)
    # The negative control: with Streamlit's defences off, the same page puts its file in.
    assert 200 <= attacker.evaluate(ATTACK, targets[OPEN])[0] < 300
    context.close()
