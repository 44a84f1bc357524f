"""The Tokens page in a browser: a user makes a read token for a dashboard, copies it from the page
that shows it once, sees it listed without its secret, and revokes it; revoking the token the page
was signed in with ends the session."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.support.tokens import make_token
from tests.web.conftest import sign_in


def test_a_user_makes_copies_and_revokes_a_token_on_the_tokens_page(podium, browser: Browser):
    laptop_id, laptop = make_token(podium, user="hana", name="hana's laptop")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, podium, laptop)
    page.get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="Your tokens")).to_be_visible()

    form = page.get_by_role("form", name="New token")
    form.get_by_label("Name").fill("dashboard")
    form.get_by_label("Role").select_option("read")
    form.get_by_label("Expires after").select_option(label="7 days")
    form.get_by_role("button", name="Create token").click()
    dashboard = page.get_by_label("Your new token").input_value()
    assert dashboard.startswith("hf_")
    whoami = podium.api(dashboard).whoami()
    assert whoami["name"] == "hana" and whoami["auth"]["accessToken"]["role"] == "read"

    page.goto(f"{podium.url}/tokens")  # listed, never shown again
    table = page.get_by_role("table", name="Tokens")
    expect(table).to_contain_text("dashboard")
    assert dashboard not in page.content()
    dashboard_row = table.get_by_role("row").filter(has_text="dashboard")
    expect(dashboard_row).to_contain_text("read")
    dashboard_row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked token 'dashboard' of hana")
    expect(table.get_by_role("row").filter(has_text="dashboard")).to_contain_text("revoked")

    page.get_by_role("button", name=f"Revoke token {laptop_id} hana's laptop").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # its session ended with it
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    context.close()
