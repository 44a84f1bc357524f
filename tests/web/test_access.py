"""Stories 7 and 8: what a visitor who is not signed in can reach, and what a hostile space's
script can do in the browser of a signed-in owner (nothing that matters)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import httpx
from playwright.sync_api import Browser, BrowserContext, expect

from tests.support.podium_server import PODIUM
from tests.web.conftest import greeter_folder, push, sign_in, static_folder, wait_running


def test_visitors_see_no_settings_and_no_private_space(podium, visitor: BrowserContext, owner, shot, tmp_path):
    push(
        podium,
        static_folder(tmp_path / "open", "title: Open house", "<h1>Everyone welcome</h1>"),
        "admin/web-open",
        sdk="static",
    )
    push(
        podium,
        static_folder(tmp_path / "diary", "title: Secret diary", "<h1>Dear diary</h1>"),
        "admin/web-diary",
        sdk="static",
        private=True,
    )
    wait_running(podium, "admin/web-diary")

    page = visitor.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-open")
    expect(page.get_by_role("link", name="Files")).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    response = page.goto(f"{podium.url}/spaces/admin/web-open/settings")
    assert response.status == 401
    expect(page.get_by_role("heading", name="Only the owner can change this space")).to_be_visible()

    page.goto(podium.url)
    expect(page.locator('li.card[data-space="admin/web-open"]')).to_be_visible()
    expect(page.locator('li.card[data-space="admin/web-diary"]')).to_have_count(0)
    diary = f"{podium.url}/spaces/admin/web-diary"
    for url in (
        diary,
        f"{diary}/files",
        f"{diary}/files/index.html",
        f"{diary}/logs",
        f"{diary}/badge.svg",
        f"{podium.spaces_url}/apps/admin/web-diary/",
    ):
        response = page.goto(url)
        assert response.status == 404, f"{url} answered {response.status} to a visitor"
        assert "Dear diary" not in page.content()
    page.goto(f"{podium.url}/spaces/admin/web-diary")
    expect(page.get_by_role("heading", name="Space not found")).to_be_visible()
    shot(page, "07-private-space-hidden")
    assert httpx.get(f"{podium.url}/api/spaces/admin/web-diary").status_code == 404

    own = owner.new_page()
    own.goto(podium.url)
    expect(own.locator('li.card[data-space="admin/web-diary"]')).to_contain_text("private")
    own.goto(f"{podium.url}/spaces/admin/web-diary")
    expect(own.get_by_text("This space is private")).to_be_visible()
    expect(own.get_by_role("link", name="Embed")).to_have_count(0)
    own.goto(f"{podium.url}/spaces/admin/web-diary/files/index.html")
    expect(own.locator("pre.source")).to_contain_text("Dear diary")


HOSTILE_PAGE = """<!doctype html><meta charset="utf-8"><title>Free wallpapers</title>
<h1>Free wallpapers</h1><pre id="report">running</pre>
<script>
const PAGES = "@PAGES@";
const report = {};
const BLIND = { method: "POST", mode: "no-cors", credentials: "include" };
async function attempt(name, action) {
  try { report[name] = await action(); } catch (error) { report[name] = "failed: " + error.name; }
}
(async () => {
  await attempt("cookie", async () => document.cookie.includes("podium_session") ? "read it" : "not visible");
  await attempt("parent", async () => window.parent.document.cookie);
  await attempt("settings", async () => {
    const response = await fetch(PAGES + "/spaces/admin/web-victim/settings", { credentials: "include" });
    return "read: " + (await response.text()).slice(0, 80);
  });
  await attempt("api_write", async () => {
    const response = await fetch(PAGES + "/api/spaces/admin/web-victim/variables", {
      method: "POST", credentials: "include", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key: "PWNED", value: "yes" }) });
    return "answered " + response.status;
  });
  // A "simple" request needs no preflight and carries the cookie (the spaces' port is same-site):
  // only the missing CSRF token stops it. The script cannot see the answer; the test checks.
  await attempt("blind_pause", async () => {
    await fetch(PAGES + "/api/spaces/admin/web-victim/pause", BLIND);
    return "sent";
  });
  await attempt("blind_create", async () => {
    const form = new FormData();
    const fields = { owner: "admin", name: "web-planted", sdk: "static", source: "template" };
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    await fetch(PAGES + "/new", { ...BLIND, body: form });
    return "sent";
  });
  document.getElementById("report").textContent = JSON.stringify(report);
})();
</script>
"""


def test_a_hostile_space_cannot_act_as_the_signed_in_owner(podium, owner: BrowserContext, shot, tmp_path):
    push(podium, greeter_folder(tmp_path / "victim"), "admin/web-victim")
    hostile = static_folder(tmp_path / "hostile", "title: Free wallpapers", HOSTILE_PAGE.replace("@PAGES@", podium.url))
    push(podium, hostile, "admin/web-hostile", sdk="static")
    wait_running(podium, "admin/web-victim")
    wait_running(podium, "admin/web-hostile")
    victim_head = podium.api().space_info("admin/web-victim").sha

    page = owner.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-hostile")
    report_box = page.frame_locator("iframe.app-frame").locator("#report")
    expect(report_box).not_to_have_text("running", timeout=20_000)
    report = json.loads(report_box.text_content())
    shot(page, "08-hostile-space")

    assert report["cookie"] == "not visible"
    assert report["parent"].startswith("failed: SecurityError")
    assert report["settings"].startswith("failed: TypeError"), report["settings"]
    assert report["api_write"].startswith("failed: TypeError"), report["api_write"]
    assert report["blind_pause"] == "sent" and report["blind_create"] == "sent"

    http = podium.http()
    assert "PWNED" not in http.get("/api/spaces/admin/web-victim/variables").json()
    assert http.get("/api/spaces/admin/web-victim/runtime").json()["stage"] == "RUNNING"
    assert podium.api().space_info("admin/web-victim").sha == victim_head
    assert http.get("/api/spaces/admin/web-planted").status_code == 404

    # The same changes made by Podium's own page, with its CSRF token, do work: the refusal above
    # was the token's doing, not a broken endpoint.
    page.goto(f"{podium.url}/spaces/admin/web-victim/settings")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".space-head .stage")).to_have_text("Paused")


def test_changes_without_the_csrf_token_are_refused_in_words(podium, owner: BrowserContext):
    cookie = next(c for c in owner.cookies() if c["name"] == "podium_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["domain"] == "127.0.0.1"
    forged = httpx.post(f"{podium.url}/api/spaces/admin/web-open/restart", cookies={"podium_session": cookie["value"]})
    assert forged.status_code == 403
    assert "CSRF token" in forged.json()["error"]
    tampered = httpx.get(f"{podium.url}/spaces/admin/web-diary", cookies={"podium_session": cookie["value"] + "x"})
    assert tampered.status_code == 404


COOKIE_ECHO = """
import html
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cookies = html.escape(self.headers.get("Cookie", ""))
        body = f"<!doctype html><title>Cookie echo</title><pre id='cookies'>{cookies}</pre>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)


address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
http.server.HTTPServer(address, Handler).serve_forever()
"""


def test_a_space_server_never_receives_podiums_cookies(podium, owner: BrowserContext, tmp_path):
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "README.md").write_text("---\ntitle: Cookie echo\nsdk: gradio\n---\n")
    (folder / "app.py").write_text(COOKIE_ECHO)
    push(podium, folder, "admin/web-cookie-echo")
    wait_running(podium, "admin/web-cookie-echo")
    # Cookies ignore ports: the browser sends the pages' cookies to the spaces' origin as well.
    owner.add_cookies(
        [
            {"name": "space_theme", "value": "dark", "url": podium.spaces_url},
            {"name": "podium_flash", "value": "a-message", "url": podium.url},
        ]
    )
    page = owner.new_page()
    page.goto(f"{podium.spaces_url}/apps/admin/web-cookie-echo/")
    received = page.locator("#cookies").text_content()
    assert "space_theme=dark" in received
    assert "podium_session" not in received and "podium_flash" not in received


def test_signing_in_with_a_wrong_token_says_what_to_do(podium, visitor: BrowserContext):
    page = visitor.new_page()
    page.goto(f"{podium.url}/signin?next=//evil.example/")
    page.get_by_label("Podium token").fill("hf_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That token is not known here")
    expect(page.get_by_role("alert")).to_contain_text("podium token")
    assert not any(c["name"] == "podium_session" for c in visitor.cookies())
    # A sign-in link cannot send people to another site afterwards.
    page.get_by_label("Podium token").fill(podium.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{podium.url}/")
    page.goto(f"{podium.url}/new")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert not any(c["name"] == "podium_session" for c in visitor.cookies())


def test_no_other_page_can_sign_a_visitor_in(podium, visitor: BrowserContext, other_site):
    """Login CSRF: another site's form posting someone's valid token must not sign the visitor in
    (they would then work, unaware, in the other person's account)."""
    site_url, site_root = other_site
    (site_root / "signin-trap.html").write_text(
        f'<!doctype html><form method="post" action="{podium.url}/signin">'
        f'<input name="token" value="{podium.token}"><input name="csrf_token" value="guessed"></form>'
        "<script>document.forms[0].submit()</script>"
    )
    page = visitor.new_page()
    page.goto(f"{podium.url}/signin")  # the visitor even holds a sign-in nonce of their own
    page.goto(f"{site_url}/signin-trap.html")
    expect(page.get_by_role("alert")).to_contain_text("did not come from this Podium's sign-in form")
    assert not any(c["name"] == "podium_session" for c in visitor.cookies())
    # A script without the page's token fares no better; the form itself, read and sent back, works.
    with httpx.Client(base_url=podium.url) as client:
        form = client.get("/signin")
        assert client.post("/signin", data={"token": podium.token}).status_code == 403
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        signed_in = client.post("/signin", data={"token": podium.token, "csrf_token": token})
        assert signed_in.status_code == 303 and "podium_session" in signed_in.cookies


def test_a_user_token_from_the_cli_signs_in_but_owns_only_its_own_spaces(podium, browser: Browser, tmp_path):
    made = subprocess.run(
        [str(PODIUM), "token", "alice"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PODIUM_URL": podium.url, "PODIUM_TOKEN": podium.token},
    )
    alice_token = made.stdout.strip()
    push(
        podium,
        static_folder(tmp_path / "admins", "title: Admin's page", "<h1>Admin's</h1>"),
        "admin/web-admins-page",
        sdk="static",
    )
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, podium, alice_token)
    expect(page.get_by_text("Signed in as alice")).to_be_visible()
    page.goto(f"{podium.url}/spaces/admin/web-admins-page")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    response = page.goto(f"{podium.url}/spaces/admin/web-admins-page/settings")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Only the owner can change this space")).to_be_visible()

    page.goto(f"{podium.url}/new")
    expect(page.get_by_label("Owner")).to_have_value("alice")
    page.get_by_label("Owner").fill("admin")
    page.get_by_label("Name", exact=True).fill("web-not-alices")
    page.get_by_role("button", name="Create space").click()
    expect(page.locator("#upload-error")).to_contain_text("'alice' may not create spaces under 'admin'")
    page.get_by_label("Owner").fill("alice")
    page.get_by_label("Name", exact=True).fill("web-hello")
    page.get_by_role("button", name="Create space").click()
    page.wait_for_url(f"{podium.url}/spaces/alice/web-hello")
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    context.close()
