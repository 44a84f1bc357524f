"""A private space in its owner's browser: with each space on a host of its own (PODIUM_DOMAIN), the
pages hand the owner a ticket that the space's host swaps for a cookie of its own. Nobody else gets
in, the cookie works on no other host, and a sibling space's script cannot use it to act on the app."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.web.conftest import app_frame, push, sign_in, static_folder, wait_running

# Chromium resolves every *.localhost name to this machine: pages at podium.localhost, each space at
# {owner}-{name}.podium.localhost. Pages and spaces are one site, as Podium's default layout puts them.
DOMAIN = "podium.localhost"
NOTES = "admin/web-notes"

NOTES_APP = """
import html
import http.server
import os

pokes = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        seen = html.escape(f"{self.path}\\n{self.headers.get('Cookie', '')}")
        body = ("<!doctype html><title>Private notes</title><h1>Private notes</h1>"
                f"<p>Pokes: <output id='pokes'>{pokes}</output></p><pre id='request'>{seen}</pre>"
                "<button onclick=\\"fetch('poke', {method: 'POST'}).then(() => location.reload())\\">"
                "Poke</button>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global pokes
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        pokes += self.path.endswith("/poke")  # under the root path Podium gives the app
        self.send_response(204)
        self.end_headers()


address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
http.server.ThreadingHTTPServer(address, Handler).serve_forever()
"""

LURE_PAGE = """<!doctype html><meta charset="utf-8"><title>Free fonts</title>
<h1>Free fonts</h1><pre id="report">running</pre>
<form id="sneak" method="post" action="@NOTES@/poke" target="hidden"></form>
<iframe name="hidden" hidden></iframe>
<script>
const NOTES = "@NOTES@";
const report = {};
async function attempt(name, action) {
  try { report[name] = await action(); } catch (error) { report[name] = "failed: " + error.name; }
}
(async () => {
  await attempt("read", async () => {
    const response = await fetch(NOTES + "/", { credentials: "include" });
    return "read: " + (await response.text()).slice(0, 60);
  });
  // Same-site requests carry the notes host's Lax cookie: only Podium's Fetch Metadata rule stops them.
  await attempt("blind_post", async () => {
    await fetch(NOTES + "/poke", { method: "POST", mode: "no-cors", credentials: "include" });
    return "sent";
  });
  await attempt("form_post", async () => {
    const landed = new Promise((resolve) => document.querySelector("iframe").onload = resolve);
    document.getElementById("sneak").submit();
    await Promise.race([landed, new Promise((resolve) => setTimeout(resolve, 3000))]);  // a 204 never loads
    return "sent";
  });
  document.getElementById("report").textContent = JSON.stringify(report);
})();
</script>
"""


@pytest.fixture(scope="module")
def hosted(start_podium):
    """A Podium in host mode: each space on a host of its own."""
    return start_podium(env={"PODIUM_DOMAIN": DOMAIN})


def space_origin(server, space_id: str) -> str:
    return f"http://{space_id.replace('/', '-')}.{DOMAIN}:{server.spaces_port}"


def notes_folder(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("---\ntitle: Private notes\nsdk: gradio\n---\n")
    (root / "app.py").write_text(NOTES_APP)
    return root


@pytest.fixture(scope="module")
def owner_browser(browser: Browser, hosted) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    sign_in(context.new_page(), hosted)
    yield context
    context.close()


def pokes_seen_by(page, origin: str) -> str:
    page.goto(f"{origin}/")
    return page.locator("#pokes").text_content()


def test_the_owner_uses_a_private_space_in_the_browser(hosted, owner_browser, visitor, shot, tmp_path):
    push(hosted, notes_folder(tmp_path / "notes"), NOTES, private=True)
    wait_running(hosted, NOTES)
    notes = space_origin(hosted, NOTES)

    page = owner_browser.new_page()
    page.goto(f"{hosted.pages_url}/spaces/{NOTES}")
    frame = app_frame(page)
    expect(frame.get_by_role("heading", name="Private notes")).to_be_visible()
    seen = frame.locator("#request").text_content()
    assert "__podium_ticket" not in seen, seen  # the app never sees the ticket
    assert "podium_space_access" not in seen and "podium_session" not in seen, seen
    frame.get_by_role("button", name="Poke").click()  # the app's own POST: admitted by the cookie
    expect(frame.locator("#pokes")).to_have_text("1")
    shot(page, "10-private-space-owner")

    with page.expect_popup() as popup:
        page.get_by_role("link", name="Open ↗").click()
    expect(popup.value.get_by_role("heading", name="Private notes")).to_be_visible()
    cookie = next(c for c in owner_browser.cookies() if c["name"] == "podium_space_access")
    assert cookie["domain"] == f"admin-web-notes.{DOMAIN}" and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    stranger = visitor.new_page()
    for url in (f"{notes}/", f"{notes}/?__podium_ticket=forged.ticket", f"{hosted.pages_url}/spaces/{NOTES}/open"):
        response = stranger.goto(url)
        assert response.status == 404, f"{url} answered {response.status} to a stranger"
        assert "Private notes" not in stranger.content()

    # The cookie opens this space on its own host and nowhere else: not on the shared path-mode origin.
    host = {"Host": f"admin-web-notes.{DOMAIN}:{hosted.spaces_port}"}
    with httpx.Client(base_url=hosted.spaces_url, cookies={"podium_space_access": cookie["value"]}) as client:
        assert "Private notes" in client.get("/", headers=host).text
        assert client.get(f"/apps/{NOTES}/").status_code == 404
        assert client.get("/", headers={"Host": f"admin-web-other.{DOMAIN}:{hosted.spaces_port}"}).status_code == 404


def test_a_sibling_space_cannot_use_the_owners_cookie(hosted, owner_browser, shot, tmp_path):
    notes = space_origin(hosted, NOTES)
    lure = static_folder(tmp_path / "lure", "title: Free fonts", LURE_PAGE.replace("@NOTES@", notes))
    push(hosted, lure, "admin/web-lure", sdk="static")
    wait_running(hosted, "admin/web-lure")
    page = owner_browser.new_page()
    before = pokes_seen_by(page, notes)  # also proves the owner holds the notes host's cookie

    page.goto(f"{hosted.pages_url}/spaces/admin/web-lure")
    report_box = app_frame(page).locator("#report")
    expect(report_box).not_to_have_text("running", timeout=20_000)
    report = json.loads(report_box.text_content())
    shot(page, "11-sibling-space")

    assert report["read"].startswith("failed: TypeError"), report["read"]
    assert report["blind_post"] == "sent" and report["form_post"] == "sent", report
    assert pokes_seen_by(page, notes) == before
