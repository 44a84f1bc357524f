"""Stories 2 and 6: make a Gradio space by dropping a folder in the browser, watch it build, use it;
then change its settings and see the app pick them up, while a secret is never shown back."""

from __future__ import annotations

import time

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import BUILD_TIMEOUT_MS, app_frame, greeter_folder, push, wait_running
from tests.web.drag import drop_paths


def greet_in_app(page: Page, name: str) -> None:
    frame = app_frame(page)
    frame.get_by_label("Name").fill(name)
    frame.get_by_role("button", name="Submit").click()


def test_create_a_gradio_space_by_dropping_a_folder_and_use_it(podium, owner: BrowserContext, browser, shot, tmp_path):
    folder = greeter_folder(tmp_path / "greeter", title="Folder greeter")
    (folder / "assets" / "icons").mkdir(parents=True)
    (folder / "assets" / "icons" / "hello.txt").write_text("hello\n")
    (folder / "assets" / "empty").mkdir()
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-greeter")
    page.get_by_label("Gradio").check()
    # Chromium drags the folder itself from the disk; the page walks it, subfolders included, and
    # the files keep their paths inside it.
    drop_paths(page.locator("[data-drop]"), folder)
    expect(page.locator("#picked")).to_contain_text("4 files")
    expect(page.locator("#picked")).to_contain_text("phrases/mark.txt")
    expect(page.get_by_label("My files")).to_be_checked()
    shot(page, "02-new-space")
    # The progress bar shows while the files travel (noted across the page change that follows).
    page.evaluate("""() => new MutationObserver(() => sessionStorage.setItem("progress", "shown"))
        .observe(document.querySelector("#progress-box"), { attributes: true })""")
    page.get_by_role("button", name="Create space").click()

    page.wait_for_url(f"{podium.url}/spaces/admin/web-greeter")
    assert page.evaluate("sessionStorage.getItem('progress')") == "shown"
    expect(page.locator("main > .flash")).to_contain_text("Created admin/web-greeter; it builds now.")
    log = page.locator("#stage-log")
    expect(log).to_contain_text("BUILDING", timeout=30_000)
    shot(page, "02-building")

    frame = app_frame(page)
    expect(frame.get_by_label("Name")).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    greet_in_app(page, "Ada")
    expect(frame.get_by_label("Greeting")).to_have_value("Hello, Ada!")
    expect(page.locator(".space-head .stage")).to_have_text("Running")
    shot(page, "02-gradio-app")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True)
    small = phone.new_page()
    small.goto(f"{podium.url}/spaces/admin/web-greeter")
    expect(app_frame(small).get_by_label("Name")).to_be_visible()
    shot(small, "02-gradio-app-phone-dark")
    phone.close()

    page.get_by_role("link", name="Files").click()
    expect(page.get_by_role("link", name="phrases/mark.txt")).to_be_visible()
    expect(page.get_by_role("link", name="assets/icons/hello.txt")).to_be_visible()
    page.get_by_role("link", name="Logs").click()
    expect(page.locator("#run-log")).not_to_be_empty()
    files = podium.api().list_repo_files("admin/web-greeter", repo_type="space")
    assert {"README.md", "app.py", "phrases/mark.txt", "assets/icons/hello.txt"} <= set(files), files
    assert not any(path.startswith("greeter/") for path in files), files


def test_a_folder_chosen_with_the_picker_keeps_its_paths(podium, owner: BrowserContext, tmp_path):
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-picked")
    page.get_by_label("Gradio").check()
    page.locator("#folder").set_input_files(str(greeter_folder(tmp_path / "picked")))
    expect(page.locator("#picked")).to_contain_text("phrases/mark.txt")
    expect(page.get_by_label("My files")).to_be_checked()
    page.get_by_role("button", name="Create space").click()
    page.wait_for_url(f"{podium.url}/spaces/admin/web-picked")
    files = podium.api().list_repo_files("admin/web-picked", repo_type="space")
    assert {"README.md", "app.py", "phrases/mark.txt"} <= set(files), files
    assert not any(path.startswith("picked/") for path in files), files


def test_dropping_an_empty_folder_chooses_nothing(podium, owner: BrowserContext, tmp_path):
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-empty-drop")
    (tmp_path / "empty").mkdir()
    drop_paths(page.locator("[data-drop]"), tmp_path / "empty")
    expect(page.locator("#picked")).to_have_text("Nothing chosen yet.")
    page.get_by_label("My files").check()
    page.get_by_role("button", name="Create space").click()
    expect(page.locator("#upload-error")).to_contain_text("Choose a folder or a .zip to upload")


def test_build_log_tail_reads_without_javascript(podium, browser, tmp_path):
    push(podium, greeter_folder(tmp_path / "g"), "admin/web-logs")
    wait_running(podium, "admin/web-logs")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-logs/logs")
    expect(page.locator("#build-log")).to_contain_text("BUILDING")
    expect(page.locator("#run-log")).not_to_be_empty()
    context.close()


def test_settings_variable_reaches_the_app_and_secret_stays_hidden(podium, owner: BrowserContext, shot, tmp_path):
    push(podium, greeter_folder(tmp_path / "g"), "admin/web-settings")
    wait_running(podium, "admin/web-settings")
    page = owner.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-settings/settings")

    variables = page.get_by_role("form", name="Add a variable")
    variables.get_by_label("Name").fill("GREETING")
    variables.get_by_label("Value").fill("Bonjour")
    variables.get_by_role("button", name="Save variable").click()
    expect(page.get_by_role("table", name="Variables")).to_contain_text("Bonjour")

    secrets = page.get_by_role("form", name="Add a secret")
    secrets.get_by_label("Name").fill("SECRET_WORD")
    secrets.get_by_label("Value").fill("swordfish-42")
    secrets.get_by_role("button", name="Save secret").click()
    expect(page.get_by_role("table", name="Secrets")).to_contain_text("SECRET_WORD")
    assert "swordfish-42" not in page.content()
    listing = podium.http().get("/api/spaces/admin/web-settings/secrets").json()
    assert "SECRET_WORD" in listing and "swordfish-42" not in str(listing)
    shot(page, "06-settings")

    page.get_by_role("button", name="Restart", exact=True).click()
    page.wait_for_url(f"{podium.url}/spaces/admin/web-settings")
    # The old instance serves until the restarted one is healthy; then the app greets in French.
    deadline = time.monotonic() + BUILD_TIMEOUT_MS / 1000
    while True:
        wait_running(podium, "admin/web-settings")
        page.reload()
        greet_in_app(page, "Ada")
        frame = app_frame(page)
        try:
            expect(frame.get_by_label("Greeting")).to_have_value("Bonjour, Ada!", timeout=5_000)
            break
        except AssertionError:
            assert time.monotonic() < deadline, "the restarted app never showed the new GREETING"
    shot(page, "06-after-restart")
    page.goto(f"{podium.url}/spaces/admin/web-settings/settings")
    assert "swordfish-42" not in page.content()
