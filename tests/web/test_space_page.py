"""The App tab in its other states: a failed build shows why, a sleeping space wakes when opened,
and the README's `fullWidth` and `base_path` shape the frame."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import BrowserContext, expect

from tests.support.process_spaces import write_space
from tests.web.conftest import app_frame, push, static_folder, wait_running

QUICK_PAGE = """
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Night owl</title><h1>Awake and serving</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)


address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
http.server.HTTPServer(address, Handler).serve_forever()
"""


def test_a_failed_build_shows_its_stage_and_last_log_lines(podium, visitor: BrowserContext, shot, tmp_path):
    folder = write_space(
        tmp_path / "broken",
        "title: Broken\nsdk: gradio",
        "print('never runs')\n",
        requirements="podium-surely-no-such-package-4711\n",
    )
    push(podium, folder, "admin/web-broken")
    runtime = podium.wait_for_stage("admin/web-broken")
    assert runtime["stage"] == "BUILD_ERROR"
    page = visitor.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-broken")
    expect(page.locator("iframe.app-frame")).to_have_count(0)
    expect(page.locator(".waiting .stage")).to_have_text("Build error")
    expect(page.get_by_text("The build failed.")).to_be_visible()
    expect(page.locator("#stage-log")).to_contain_text("podium-surely-no-such-package-4711")
    shot(page, "app-tab-build-error")


def test_a_sleeping_space_wakes_when_its_page_is_opened(podium, visitor: BrowserContext, tmp_path):
    folder = write_space(tmp_path / "owl", "title: Night owl\nsdk: gradio", QUICK_PAGE)
    push(podium, folder, "admin/web-owl")
    wait_running(podium, "admin/web-owl")
    http, api = podium.http(), podium.api()
    # The API directly: huggingface_hub warns that cpu-basic sleep times are fixed on its own Hub.
    http.post("/api/spaces/admin/web-owl/sleeptime", json={"seconds": 1}).raise_for_status()
    deadline = time.monotonic() + 60
    while api.get_space_runtime("admin/web-owl").stage != "STOPPED":
        assert time.monotonic() < deadline, "the space never went to sleep"
        time.sleep(0.5)
    # Asleep; from now on it stays up once woken (a 1 s sleep time would doze off between reloads).
    http.post("/api/spaces/admin/web-owl/sleeptime", json={"seconds": -1}).raise_for_status()
    assert api.get_space_runtime("admin/web-owl").stage == "STOPPED"
    page = visitor.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-owl")
    expect(app_frame(page).get_by_text("Awake and serving")).to_be_visible(timeout=60_000)
    assert api.get_space_runtime("admin/web-owl").stage == "RUNNING"


def test_full_width_and_base_path_shape_the_frame(podium, visitor: BrowserContext, tmp_path):
    card = "title: Handbook\nfullWidth: false\nbase_path: /docs/start.html"
    folder = static_folder(tmp_path / "docs", card, "<h1>Root page</h1>")
    (folder / "docs").mkdir()
    (folder / "docs" / "start.html").write_text("<h1>Handbook start</h1>")
    push(podium, folder, "admin/web-handbook", sdk="static")
    wait_running(podium, "admin/web-handbook")
    page = visitor.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-handbook")
    frame = page.locator("iframe.app-frame")
    assert frame.get_attribute("src") == f"{podium.spaces_url}/apps/admin/web-handbook/docs/start.html"
    expect(frame).to_have_class("app-frame contained")
    expect(app_frame(page).get_by_text("Handbook start")).to_be_visible()


def test_home_badges_follow_the_stage_live(podium, visitor: BrowserContext, tmp_path):
    folder = write_space(tmp_path / "lark", "title: Early lark\nsdk: gradio", QUICK_PAGE)
    push(podium, folder, "admin/web-lark")
    wait_running(podium, "admin/web-lark")
    api = podium.api()
    api.pause_space("admin/web-lark")
    page = visitor.new_page()
    page.goto(podium.url)
    badge = page.locator('li.card[data-space="admin/web-lark"] .stage')
    expect(badge).to_have_text("Paused")
    page.evaluate("window.sameDocument = true")
    api.restart_space("admin/web-lark")
    expect(badge).to_have_text("Running", timeout=60_000)
    assert page.evaluate("window.sameDocument === true"), "the page reloaded instead of updating the badge"


def test_a_new_empty_space_says_it_needs_an_app_file(podium, visitor: BrowserContext):
    podium.api().create_repo("admin/web-empty", repo_type="space", space_sdk="gradio")
    page = visitor.new_page()
    for tab in ("", "/logs", "/files"):
        response = page.goto(f"{podium.url}/spaces/admin/web-empty{tab}")
        assert response.status == 200, f"{tab or 'App'} tab answered {response.status}"
    page.goto(f"{podium.url}/spaces/admin/web-empty")
    expect(page.locator(".waiting .stage")).to_have_text("No app file")
    expect(page.get_by_text("Upload one (app.py by default)")).to_be_visible()


def test_the_logs_tab_streams_new_lines_live(podium, visitor: BrowserContext, tmp_path):
    # http.server logs every request on stderr: a request made now must show up on the open page.
    folder = write_space(tmp_path / "chatty", "title: Chatty\nsdk: gradio", QUICK_PAGE)
    push(podium, folder, "admin/web-chatty")
    wait_running(podium, "admin/web-chatty")
    page = visitor.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-chatty/logs")
    expect(page.get_by_label("Follow").first).to_be_checked()
    page.evaluate("window.sameDocument = true")
    httpx.get(f"{podium.spaces_url}/apps/admin/web-chatty/?hello-from-the-test").raise_for_status()
    expect(page.locator("#run-log")).to_contain_text("hello-from-the-test", timeout=20_000)
    assert page.evaluate("window.sameDocument === true"), "the line came by reloading, not by the stream"
