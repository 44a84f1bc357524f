"""Story 9: with JavaScript off, the owner still makes spaces and changes their settings: every form
is a plain HTML form, answered by a page that says what happened; a form that did not come from
Podium's own page is refused."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import delete_from_settings, greeter_folder, sign_in, static_folder, wait_running
from tests.web.test_streamlit_story import zipped


@pytest.fixture
def owner_without_js(browser: Browser, podium) -> Iterator[BrowserContext]:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    sign_in(context.new_page(), podium)
    yield context
    context.close()


def said(page: Page, text: str) -> None:
    """The page the form led to says `text` in its flash."""
    expect(page.locator("main > .flash")).to_contain_text(text)


def evil_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.py", "print('out of the space')")
    return buffer.getvalue()


def new_space(page: Page, podium, name: str, sdk: str) -> None:
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label(sdk).check()


def test_without_javascript_the_owner_starts_from_a_template_and_changes_every_setting(
    podium, owner_without_js: BrowserContext, shot
):
    page = owner_without_js.new_page()
    new_space(page, podium, "web-nojs", "Static")
    page.get_by_role("button", name="Create space").click()
    expect(page).to_have_url(f"{podium.url}/spaces/admin/web-nojs")
    said(page, "Created admin/web-nojs")
    wait_running(podium, "admin/web-nojs")
    assert {"README.md", "index.html"} <= set(podium.api().list_repo_files("admin/web-nojs", repo_type="space"))

    settings = f"{podium.url}/spaces/admin/web-nojs/settings"
    page.goto(settings)
    variables = page.get_by_role("form", name="Add a variable")
    variables.get_by_label("Name").fill("MOOD")
    variables.get_by_label("Value").fill("sunny")
    variables.get_by_label("Value").press("Enter")  # from the keyboard: Enter sends the form
    expect(page).to_have_url(settings)
    said(page, "Saved variable MOOD")
    expect(page.get_by_role("table", name="Variables")).to_contain_text("sunny")
    variables.get_by_label("Name").fill("2 MOODS")
    variables.get_by_role("button", name="Save variable").click()
    expect(page.get_by_role("alert")).to_contain_text("'2 MOODS' is not a valid variable name")

    secrets = page.get_by_role("form", name="Add a secret")
    secrets.get_by_label("Name").fill("SECRET_WORD")
    secrets.get_by_label("Value").fill("swordfish-42")
    secrets.get_by_role("button", name="Save secret").click()
    said(page, "Saved secret SECRET_WORD (its value is not shown again)")
    expect(page.get_by_role("table", name="Secrets")).to_contain_text("SECRET_WORD")
    assert "swordfish-42" not in page.content()
    shot(page, "09-settings-without-javascript")

    page.get_by_label("Sleep after").fill("600")
    page.get_by_role("button", name="Set sleep time").click()
    said(page, "admin/web-nojs sleeps after 600 seconds without visitors")
    expect(page.get_by_label("Sleep after")).to_have_value("600")
    assert podium.api().get_space_runtime("admin/web-nojs").raw["gcTimeout"] == 600

    page.get_by_label("Hardware", exact=True).select_option("cpu-upgrade")
    page.get_by_role("button", name="Change hardware").click()
    said(page, "admin/web-nojs is set to cpu-upgrade")
    expect(page.locator(".space-head")).to_contain_text("cpu-upgrade")
    # A flavor the list does not offer, sent by hand with the page's token: refused in words.
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post(f"{settings}/hardware", form={"flavor": "gpu-9000", "csrf_token": token})
    assert "hardware &#39;gpu-9000&#39; is unknown; use one of" in answer.text()

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("alert")).to_contain_text("admin/web-nojs is a static space; it has no process to pause")

    page.get_by_role("button", name="Restart", exact=True).click()
    expect(page).to_have_url(f"{podium.url}/spaces/admin/web-nojs")
    said(page, "Restarting admin/web-nojs")

    # Deleting asks for the space's name, typed, without JavaScript too.
    delete_from_settings(page, podium, "admin/web-nojs")
    said(page, "Deleted admin/web-nojs")


def test_without_javascript_a_zip_or_a_folder_becomes_a_space_and_forged_forms_are_refused(
    podium, owner_without_js: BrowserContext, shot, tmp_path
):
    page = owner_without_js.new_page()
    new_space(page, podium, "web-nojs-zip", "Gradio")
    page.get_by_label("My files").check()
    archive = tmp_path / "greeter.zip"
    # A zip of the folder itself: its top folder goes, as when the script sends it.
    archive.write_bytes(zipped(greeter_folder(tmp_path / "zip" / "greeter").parent))
    page.get_by_label("Choose files or a .zip").set_input_files(archive)
    page.get_by_role("button", name="Create space").click()
    expect(page).to_have_url(f"{podium.url}/spaces/admin/web-nojs-zip")
    said(page, "Created admin/web-nojs-zip")
    files = set(podium.api().list_repo_files("admin/web-nojs-zip", repo_type="space"))
    assert {"README.md", "app.py", "phrases/mark.txt"} <= files, files
    wait_running(podium, "admin/web-nojs-zip")
    page.goto(f"{podium.url}/spaces/admin/web-nojs-zip/settings")
    page.get_by_role("button", name="Pause").click()
    said(page, "Paused admin/web-nojs-zip")
    expect(page.locator(".space-head .stage")).to_have_text("Paused")

    # Chromium sends a chosen folder's files with their paths in a plain form post too.
    new_space(page, podium, "web-nojs-folder", "Static")
    page.get_by_label("My files").check()
    folder = static_folder(tmp_path / "site", "title: Folder site", "<h1>From a folder</h1>")
    (folder / "css").mkdir()
    (folder / "css" / "site.css").write_text("h1 { color: teal; }\n")
    page.get_by_label("Choose a folder").set_input_files(folder)
    page.get_by_role("button", name="Create space").click()
    said(page, "Created admin/web-nojs-folder")
    files = set(podium.api().list_repo_files("admin/web-nojs-folder", repo_type="space"))
    assert {"README.md", "index.html", "css/site.css"} <= files, files

    # The upload is checked before the space is made: a refused one leaves nothing behind.
    new_space(page, podium, "web-nojs-bad", "Static")
    page.get_by_label("My files").check()
    page.get_by_role("button", name="Create space").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a folder or a .zip to upload")
    expect(page.get_by_label("Name", exact=True)).to_have_value("web-nojs-bad")
    shot(page, "09-new-space-without-javascript")
    page.get_by_label("Choose files or a .zip").set_input_files(
        {"name": "evil.zip", "mimeType": "application/zip", "buffer": evil_zip()}
    )
    page.get_by_role("button", name="Create space").click()
    expect(page.get_by_role("alert")).to_contain_text("climbs out with '..'")
    assert podium.http().get("/api/spaces/admin/web-nojs-bad").status_code == 404

    # The same forms without the page's CSRF token: refused, in words, and nothing changes.
    cookie = next(c["value"] for c in owner_without_js.cookies() if c["name"] == "podium_session")
    with httpx.Client(base_url=podium.url, cookies={"podium_session": cookie}) as forged:
        for path, data in (
            ("/spaces/admin/web-nojs-folder/settings/delete", {"confirm": "admin/web-nojs-folder"}),
            ("/spaces/admin/web-nojs-folder/settings/variables", {"key": "PWNED", "value": "yes"}),
            ("/spaces/admin/web-nojs-zip/settings/restart", {"csrf_token": "guessed"}),
            ("/new", {"owner": "admin", "name": "web-nojs-forged", "sdk": "static"}),
        ):
            refused = forged.post(path, data=data, files={"files": ("", b"")} if path == "/new" else None)
            assert refused.status_code == 403, path
            assert "did not carry a valid csrf_token" in refused.text, path
    assert podium.http().get("/api/spaces/admin/web-nojs-folder").status_code == 200
    assert "PWNED" not in podium.http().get("/api/spaces/admin/web-nojs-folder/variables").json()
    assert podium.http().get("/api/spaces/admin/web-nojs-forged").status_code == 404
    assert podium.http().get("/api/spaces/admin/web-nojs-zip/runtime").json()["stage"] == "PAUSED"
