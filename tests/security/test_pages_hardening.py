"""Podium's own pages against another site and against a space's README: every page route sends a
Content-Security-Policy (own scripts and styles only, frames only from the spaces' origin, framed by
nobody), a Settings page framed by another site stays blank in Chromium, and the pages themselves
run without a single CSP violation, in path mode and in host mode."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from podium.web import templating
from podium.web.routes import router as page_router

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port
from tests.support.tokens import pages_session

pytestmark = pytest.mark.browser

SPACE = "admin/hardened"
# Every violation a page causes, as the browser reports it to the page itself.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def page_routes(router=page_router) -> Iterator[str]:
    """The path of every GET page route, as the pages' router lists them (new pages included)."""
    for route in router.routes:
        if included := getattr(route, "original_router", None):
            yield from page_routes(included)
        elif "GET" in getattr(route, "methods", ()):
            yield route.path


def filled(path: str) -> str:
    if path.startswith("/static/"):
        return "/static/podium.css"
    return path.replace("{owner}", "admin").replace("{name}", SPACE.split("/")[1]).replace("{path:path}", "index.html")


def static_space(server: PodiumServer, space_id: str = SPACE, private: bool = False) -> None:
    server.api().create_repo(space_id, repo_type="space", space_sdk="static", exist_ok=True, private=private)
    response = server.http().post(
        f"/api/spaces/{space_id}/upload",
        files=[
            ("files", ("README.md", b"---\ntitle: Hardened\nsdk: static\ncolorFrom: red\ncolorTo: blue\n---\n")),
            ("files", ("index.html", b"<h1>Inside the frame</h1>")),
        ],
    )
    assert response.status_code == 200, response.text
    assert server.wait_for_stage(space_id, timeout=60)["stage"] == "RUNNING"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def attacker_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The attacker's own web site on another port of this host: another origin, the same site."""
    root = tmp_path_factory.mktemp("attacker")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def signed_in(chromium: Browser, server: PodiumServer) -> BrowserContext:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{server.pages_url}/signin")
    page.get_by_label("Podium token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()
    page.close()
    return context


def test_every_page_route_sends_the_policy_and_framing_headers(podium: PodiumServer) -> None:
    static_space(podium)
    session = pages_session(podium, podium.token)
    paths = sorted({filled(path) for path in page_routes()})
    assert "/spaces/admin/hardened/settings" in paths and "/" in paths
    for path in [*paths, "/spaces/nobody/nothing", "/api/spaces"]:
        answer = session.get(path)
        assert answer.status_code < 500, (path, answer.status_code)
        policy = answer.headers.get("content-security-policy", "")
        for directive in (
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-src 'self' {podium.spaces_url}",
        ):
            assert directive in policy, (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff", path
        if path.endswith("/embed/frame"):  # <podium-space> frames it on any site
            assert "frame-ancestors" not in policy and "x-frame-options" not in answer.headers
        elif path.endswith("/open"):  # the App tab frames it on the pages
            assert "frame-ancestors 'self'" in policy and answer.headers["x-frame-options"] == "SAMEORIGIN"
        else:
            assert "frame-ancestors 'none'" in policy and answer.headers["x-frame-options"] == "DENY", path
    # FastAPI's API docs load Swagger UI from its CDN: that page alone allows it, and is framed by nobody.
    docs = session.get("/api/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in docs and "frame-ancestors 'none'" in docs and "object-src 'none'" in docs
    # A page a form post renders (a forged sign-in) carries it too.
    forged = httpx.post(f"{podium.url}/signin", data={"token": "x", "csrf_token": "forged"}, timeout=30)
    assert forged.status_code == 403 and "frame-ancestors 'none'" in forged.headers["content-security-policy"]


def test_no_template_holds_an_inline_script_style_or_event_handler() -> None:
    # The CSP would refuse them in the browser: each would be a page part that silently stops working.
    inline = re.compile(r"\sstyle=|<style|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+=|javascript:", re.I)
    templates = sorted((Path(templating.__file__).parent / "templates").glob("*.html"))
    assert templates
    found = [
        f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for path in templates
        for text in [path.read_text()]
        for match in inline.finditer(text)
    ]
    assert found == []


def test_another_site_cannot_frame_the_settings_page(
    podium: PodiumServer, chromium: Browser, attacker_site: tuple[str, Path]
) -> None:
    static_space(podium)
    site, root = attacker_site
    # The clickjacking page: the victim's own Settings page, see-through, under a tempting button.
    (root / "prize.html").write_text(
        f"<button>Claim your prize</button>"
        f'<iframe id="settings" src="{podium.url}/spaces/{SPACE}/settings" width="900" height="700"></iframe>'
        f'<iframe id="embed" src="{podium.url}/spaces/{SPACE}/embed/frame" width="600" height="200"></iframe>'
    )
    context = signed_in(chromium, podium)
    # The negative control: signed in, the Settings page shows its buttons (the session reaches it).
    own = context.new_page()
    own.goto(f"{podium.url}/spaces/{SPACE}/settings")
    assert own.get_by_role("button", name="Delete forever").is_visible()

    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text) if "frame-ancestors" in message.text else None)
    page.goto(f"{site}/prize.html")
    page.wait_for_load_state("load")
    embedded = page.frame_locator("#embed").get_by_role("heading", name="Inside the frame")
    embedded.wait_for()  # frames from another site do load here: the embed route, and the space itself
    settings = page.locator("#settings").content_frame
    assert settings.get_by_role("button", name="Delete forever").count() == 0
    assert "Settings" not in settings.locator("body").inner_text()
    assert any("frame-ancestors 'none'" in text for text in refusals), refusals
    context.close()


def visit_every_page(page: Page, server: PodiumServer) -> list[str]:
    """The owner's tour of the pages, with the scripts' own work done on each; the violations seen."""
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on(
        "console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None
    )
    violations: list[str] = []

    def collect(where: str) -> None:
        page.wait_for_load_state("load")
        violations.extend(f"{where}: {v}" for v in page.evaluate("window.__violations || []"))

    base = server.pages_url
    page.goto(base)
    assert "from-red" in page.locator(f'li.card[data-space="{SPACE}"]').get_attribute("class")
    collect("home")
    page.goto(f"{base}/spaces/{SPACE}")
    page.frame_locator("iframe.app-frame").get_by_role("heading", name="Inside the frame").wait_for()
    page.get_by_role("link", name="Embed").click()
    page.get_by_role("dialog", name="Embed this space").wait_for()
    collect("app tab")
    for tab in ("files", "files/index.html", "logs", "settings", "embed"):
        page.goto(f"{base}/spaces/{SPACE}/{tab}")
        collect(tab)
    page.goto(f"{base}/new")
    page.locator("#archive").set_input_files({"name": "index.html", "mimeType": "text/html", "buffer": b"<p>x</p>"})
    assert "index.html" in page.locator("#picked").inner_text()
    collect("new")
    for path in re.findall(r'href="(/[a-z]+)"', page.content()):  # the top bar's own pages (Tokens, ...)
        page.goto(base + path)
        collect(path)
    return violations + console


def test_the_pages_run_without_a_policy_violation(podium: PodiumServer, chromium: Browser) -> None:
    static_space(podium)
    context = signed_in(chromium, podium)
    assert visit_every_page(context.new_page(), podium) == []
    context.close()


def test_in_host_mode_the_app_tab_frames_the_spaces_host_without_a_violation(start_podium, chromium: Browser) -> None:
    hosted = start_podium(env={"PODIUM_DOMAIN": "podium.localhost"})
    static_space(hosted)
    policy = httpx.get(hosted.url, timeout=30).headers["content-security-policy"]
    assert f"frame-src 'self' http://*.podium.localhost:{hosted.spaces_port}" in policy
    context = signed_in(chromium, hosted)
    page = context.new_page()
    assert visit_every_page(page, hosted) == []
    # A private space's frame goes through /open on the pages, then its ticket on the space's host.
    static_space(hosted, "admin/hardened-private", private=True)
    page.goto(f"{hosted.pages_url}/spaces/admin/hardened-private")
    page.frame_locator("iframe.app-frame").get_by_role("heading", name="Inside the frame").wait_for()
    assert page.evaluate("window.__violations") == []
    context.close()
