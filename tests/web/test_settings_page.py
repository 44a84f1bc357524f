"""The owner's other Settings: hardware, sleep time, removing a variable, and deleting the space,
which asks for its name first."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.web.conftest import delete_from_settings, push, static_folder, wait_running


def test_owner_changes_hardware_and_sleep_then_deletes_the_space(podium, owner: BrowserContext, tmp_path):
    push(
        podium,
        static_folder(tmp_path / "scratch", "title: Scratch pad", "<h1>Scratch</h1>"),
        "admin/web-scratch",
        sdk="static",
    )
    wait_running(podium, "admin/web-scratch")
    page = owner.new_page()
    page.goto(f"{podium.url}/spaces/admin/web-scratch/settings")

    page.get_by_label("Hardware", exact=True).select_option("cpu-upgrade")
    page.get_by_role("button", name="Change hardware").click()
    expect(page.locator(".space-head")).to_contain_text("cpu-upgrade")

    page.get_by_label("Sleep after").fill("600")
    page.get_by_role("button", name="Set sleep time").click()
    expect(page.get_by_label("Sleep after")).to_have_value("600")
    assert podium.api().get_space_runtime("admin/web-scratch").raw["gcTimeout"] == 600

    variables = page.get_by_role("form", name="Add a variable")
    variables.get_by_label("Name").fill("MOOD")
    variables.get_by_label("Value").fill("sunny")
    variables.get_by_role("button", name="Save variable").click()
    expect(page.get_by_role("table", name="Variables")).to_contain_text("sunny")
    page.get_by_role("button", name="Delete variable MOOD").click()
    expect(page.get_by_role("table", name="Variables")).to_contain_text("No variables")

    delete_from_settings(page, podium, "admin/web-scratch")
