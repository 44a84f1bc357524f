"""Stories 2 and 6: make a Gradio space from a folder in the browser, watch it build, use it; then
change its settings and see the app pick them up, while a secret is never shown back."""

from __future__ import annotations

import time

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import BUILD_TIMEOUT_MS, app_frame, greeter_folder, push, wait_running


def greet_in_app(page: Page, name: str) -> None:
    frame = app_frame(page)
    frame.get_by_label("Name").fill(name)
    frame.get_by_role("button", name="Submit").click()


def test_create_a_gradio_space_from_a_folder_and_use_it(podium, owner: BrowserContext, browser, shot,
                                                        tmp_path):
    folder = greeter_folder(tmp_path / "greeter", title="Folder greeter")
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-greeter")
    page.get_by_label("Gradio").check()
    page.get_by_label("My files").check()
    # The folder picker gives each file its path inside the folder (phrases/mark.txt included).
    page.locator("#folder").set_input_files(str(folder))
    expect(page.locator("#picked")).to_contain_text("phrases/mark.txt")
    shot(page, "02-new-space")
    # The progress bar shows while the files travel (noted across the page change that follows).
    page.evaluate("""() => new MutationObserver(() => sessionStorage.setItem("progress", "shown"))
        .observe(document.querySelector("#progress-box"), { attributes: true })""")
    page.get_by_role("button", name="Create space").click()

    page.wait_for_url(f"{podium.url}/spaces/admin/web-greeter")
    assert page.evaluate("sessionStorage.getItem('progress')") == "shown"
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
    page.get_by_role("link", name="Logs").click()
    expect(page.locator("#run-log")).not_to_be_empty()


def test_build_log_tail_reads_without_javascript(podium, browser, tmp_path):
    push(podium, greeter_folder(tmp_path / "g"), "admin/web-logs")
    wait_running(podium, "admin/web-logs")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-logs/logs")
    expect(page.locator("#build-log")).to_contain_text("BUILDING")
    expect(page.locator("#run-log")).not_to_be_empty()
    context.close()


def test_settings_variable_reaches_the_app_and_secret_stays_hidden(podium, owner: BrowserContext, shot,
                                                                   tmp_path):
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
