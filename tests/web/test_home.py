"""Story 1: a visitor opens Podium and finds the example spaces, by browsing, searching and filtering."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.web.conftest import push, static_folder

EXAMPLES = Path(__file__).resolve().parents[2] / "spaces_examples"
# Their cards are what the home page shows; their apps (transformers models) are the examples
# suite's business, so only the README travels here and nothing is built.
SHOWN_EXAMPLES = ("text-classification", "translation", "image-classification")


def _card_of(example: str) -> dict[str, str]:
    text = (EXAMPLES / example / "README.md").read_text()
    front = text.split("---")[1]
    return {
        key.strip(): value.strip().strip('"')
        for key, _, value in (line.partition(":") for line in front.splitlines())
        if value.strip()
    }


def test_home_lists_the_example_spaces(podium, browser: Browser, shot, tmp_path):
    for example in SHOWN_EXAMPLES:
        folder = tmp_path / example
        folder.mkdir()
        shutil.copy(EXAMPLES / example / "README.md", folder / "README.md")
        push(podium, folder, f"admin/example-{example}", sdk=_card_of(example)["sdk"])
    push(
        podium,
        static_folder(
            tmp_path / "tour",
            "title: Podium tour\nemoji: 🧭\npinned: true\nshort_description: Start here\ntags: [tour]",
            "<h1>Welcome</h1>",
        ),
        "admin/web-tour",
        sdk="static",
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(podium.url)
    cards = page.locator("li.card")
    for example in SHOWN_EXAMPLES:
        card_data = _card_of(example)
        card = page.locator(f'li.card[data-space="admin/example-{example}"]')
        expect(card).to_contain_text(card_data["title"])
        expect(card).to_contain_text(card_data["short_description"])
        expect(card.locator(".emoji")).to_have_text(card_data["emoji"])
        expect(card).to_contain_text(card_data["sdk"])
        expect(card.locator(".stage")).to_be_visible()
        # The gradient's ends are the README's colours from the palette (by class: no inline style).
        ends = card.evaluate("card => ['--from', '--to'].map(name => getComputedStyle(card).getPropertyValue(name))")
        palette = page.evaluate(
            """names => names.map(name =>
            getComputedStyle(document.documentElement).getPropertyValue(`--c-${name}`))""",
            [card_data["colorFrom"], card_data["colorTo"]],
        )
        assert ends == palette and all(ends), (ends, palette)
    order = cards.evaluate_all("cards => cards.map(card => card.dataset.space)")
    assert all(order.index("admin/web-tour") < order.index(f"admin/example-{e}") for e in SHOWN_EXAMPLES), (
        f"the pinned space is not listed before the others: {order}"
    )
    shot(page, "01-home")

    page.get_by_label("Search spaces").fill("translation")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('li.card[data-space="admin/example-translation"]')).to_be_visible()
    expect(page.locator('li.card[data-space="admin/example-text-classification"]')).to_have_count(0)

    page.goto(podium.url)
    page.get_by_label("Filter by SDK").select_option("static")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('li.card[data-space="admin/web-tour"]')).to_be_visible()
    expect(page.locator('li.card[data-space="admin/example-translation"]')).to_have_count(0)

    page.goto(podium.url)
    page.get_by_label("Filter by tag").select_option("text-classification")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('li.card[data-space="admin/example-text-classification"]')).to_be_visible()
    expect(page.locator('li.card[data-space="admin/example-image-classification"]')).to_have_count(0)

    # Keyboard only: the skip link comes first, then the search box takes a query and Enter.
    page.goto(podium.url)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_label("Search spaces").focus()
    page.keyboard.type("image")
    page.keyboard.press("Enter")
    expect(page.locator('li.card[data-space="admin/example-image-classification"]')).to_be_visible()
    expect(page.locator('li.card[data-space="admin/example-translation"]')).to_have_count(0)
    page.locator('li.card[data-space="admin/example-image-classification"] a.cover').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{podium.url}/spaces/admin/example-image-classification")
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True)
    page = phone.new_page()
    page.goto(podium.url)
    expect(page.locator('li.card[data-space="admin/example-translation"]')).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the home page is {width}px wide on a 390px phone: it scrolls sideways"
    shot(page, "01-home-phone-dark")
    phone.close()


def test_reading_works_with_javascript_off(podium, browser: Browser, shot, tmp_path):
    folder = static_folder(tmp_path / "notes", "title: Notes\nemoji: 📝", "<h1>Notes</h1><p>plain text</p>")
    push(podium, folder, "admin/web-notes", sdk="static")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(podium.url)
    expect(page.locator('li.card[data-space="admin/web-notes"]')).to_contain_text("Notes")
    page.locator('li.card[data-space="admin/web-notes"] a.cover').click()
    page.get_by_role("link", name="Files").click()
    expect(page.get_by_role("link", name="index.html")).to_be_visible()
    expect(page.locator(".commits li")).not_to_have_count(0)
    page.get_by_role("link", name="index.html").click()
    expect(page.locator("pre.source")).to_contain_text("<p>plain text</p>")
    shot(page, "01-files-no-js")
    page.get_by_role("link", name="Embed").click()
    expect(page.get_by_label("Iframe")).to_contain_text("/apps/admin/web-notes/")
    context.close()
