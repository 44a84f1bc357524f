"""The browser stories share one Podium (tests/conftest.py `podium`) and one Chromium: Debian's,
at /usr/bin/chromium, never a downloaded one. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.process_spaces import free_port, write_space

if TYPE_CHECKING:
    from tests.support.podium_server import PodiumServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
# Building an environment the first time on a cold machine is the slow part of a story.
BUILD_TIMEOUT_MS = 300_000

pytestmark = pytest.mark.browser


# Each module's, not the session's: a sync Playwright driver holds an asyncio loop on the main thread while
# it runs, so every later module's own `sync_playwright()` or asyncio test failed ("Sync API inside the
# asyncio loop") in a run that took tests/web first. ("package" is the session here: tests/web is no package.)
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def visitor(browser: Browser) -> Iterator[BrowserContext]:
    """A browser nobody has signed in with."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    yield context
    context.close()


def sign_in(page: Page, podium: PodiumServer, token: str | None = None) -> None:
    page.goto(f"{podium.pages_url}/signin")
    page.get_by_label("Podium token").fill(token or podium.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


@pytest.fixture
def owner(browser: Browser, podium: PodiumServer) -> Iterator[BrowserContext]:
    """A browser signed in with the admin token, as the person who owns the test spaces."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    sign_in(context.new_page(), podium)
    yield context
    context.close()


@pytest.fixture(scope="session")
def shot() -> Callable[[Page, str], None]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return save


def app_frame(page: Page):
    """The space's own frame inside a Podium page."""
    return page.frame_locator("iframe.app-frame")


@pytest.fixture(scope="session")
def web_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], tuple[str, Path]]]:
    """Someone else's web sites, each on its own port (its own origin): (its URL, the folder it serves)."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> tuple[str, Path]:
        root = tmp_path_factory.mktemp("other-site")
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(SimpleHTTPRequestHandler, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", root

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def other_site(web_site: Callable[[], tuple[str, Path]]) -> tuple[str, Path]:
    return web_site()


GREETER_APP = """
import os
from pathlib import Path

import gradio as gr

GREETING = os.environ.get("GREETING", "Hello")
# A file from a subfolder: proof that an upload keeps relative paths.
MARK = (Path(__file__).parent / "phrases" / "mark.txt").read_text().strip()


def greet(name: str) -> str:
    return f"{GREETING}, {name}{MARK}"


demo = gr.Interface(greet, gr.Textbox(label="Name"), gr.Textbox(label="Greeting"))
demo.launch()
"""

COUNTER_APP = """
import streamlit as st

st.title("Counter from Streamlit")
name = st.text_input("Your name", "world")
st.write(f"Hi {name}!")
if "clicks" not in st.session_state:
    st.session_state.clicks = 0
if st.button("Add one"):
    st.session_state.clicks += 1
st.write(f"Clicks: {st.session_state.clicks}")
"""


def greeter_folder(root: Path, title: str = "Greeter") -> Path:
    return write_space(
        root,
        f"""
        title: {title}
        emoji: 👋
        colorFrom: indigo
        colorTo: pink
        sdk: gradio
        short_description: Greets whoever types their name
        tags: [demo, text]
    """,
        GREETER_APP,
        files={"phrases/mark.txt": "!\n"},
    )


def counter_folder(root: Path) -> Path:
    return write_space(
        root,
        """
        title: Counter
        emoji: 🎈
        colorFrom: red
        colorTo: yellow
        sdk: streamlit
        short_description: Counts button presses over a WebSocket
    """,
        COUNTER_APP,
    )


def static_folder(root: Path, front_matter: str, html: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text(f"---\n{front_matter.strip()}\nsdk: static\n---\n")
    (root / "index.html").write_text(html)
    return root


def push(podium: PodiumServer, folder: Path, space_id: str, *, private: bool = False, sdk: str = "gradio") -> None:
    """Create a space and upload a folder with the Hugging Face client, as a user's script would."""
    api = podium.api()
    api.create_repo(space_id, repo_type="space", space_sdk=sdk, private=private, exist_ok=True)
    api.upload_folder(repo_id=space_id, repo_type="space", folder_path=str(folder))


def wait_running(podium: PodiumServer, space_id: str) -> None:
    runtime = podium.wait_for_stage(space_id, timeout=BUILD_TIMEOUT_MS / 1000)
    assert runtime["stage"] == "RUNNING", f"{space_id}: {runtime['stage']}, {runtime.get('errorMessage')}"


def delete_from_settings(page: Page, podium: PodiumServer, space_id: str) -> None:
    """Delete a space on its Settings tab as a person does: a wrong name typed to confirm is refused
    and deletes nothing; the right one, sent from the keyboard, deletes it and leads home."""
    page.goto(f"{podium.url}/spaces/{space_id}/settings")
    danger = page.locator(".danger-zone")
    danger.get_by_label("to confirm").fill("admin/something-else")
    danger.get_by_role("button", name="Delete forever").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Type {space_id} exactly")
    assert podium.http().get(f"/api/spaces/{space_id}").status_code == 200
    danger.get_by_label("to confirm").fill(space_id)
    danger.get_by_label("to confirm").press("Enter")
    expect(page).to_have_url(f"{podium.url}/")
    expect(page.locator(f'li.card[data-space="{space_id}"]')).to_have_count(0)
    assert podium.http().get(f"/api/spaces/{space_id}").status_code == 404
