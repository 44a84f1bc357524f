"""Stories 4 and 5: another web site embeds spaces with the Embed dialog's snippets, and a space
with `disable_embedding: true` refuses every frame but Podium's own."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.support.process_spaces import write_space
from tests.web.conftest import BUILD_TIMEOUT_MS, counter_folder, push, static_folder, wait_running

TALL_APP = """
import gradio as gr


def lines(count: float) -> str:
    return "\\n\\n".join(f"Line {i}" for i in range(1, int(count) + 1))


with gr.Blocks() as demo:
    gr.Markdown("# Line maker")
    count = gr.Number(label="How many lines", value=2)
    show = gr.Button("Show lines")
    out = gr.Markdown()
    show.click(lines, count, out)

demo.launch()
"""


def embed_snippets(page: Page, podium, space_id: str) -> dict[str, str]:
    """What a visitor copies from the space page's Embed dialog."""
    page.goto(f"{podium.url}/spaces/{space_id}")
    page.get_by_role("link", name="Embed").click()
    dialog = page.get_by_role("dialog", name="Embed this space")
    expect(dialog).to_be_visible()
    return {
        "iframe": dialog.get_by_label("Iframe").input_value(),
        "script": dialog.get_by_label("Web component").input_value(),
        "badge": dialog.get_by_label("Status badge").input_value(),
    }


def test_another_site_embeds_spaces_and_visitors_use_them(podium, browser: Browser, other_site, shot, tmp_path):
    push(podium, write_space(tmp_path / "tall", "title: Line maker\nsdk: gradio", TALL_APP), "admin/web-tall")
    push(podium, counter_folder(tmp_path / "counter"), "admin/web-embed-st", sdk="streamlit")
    wait_running(podium, "admin/web-tall")
    wait_running(podium, "admin/web-embed-st")

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    gradio = embed_snippets(page, podium, "admin/web-tall")
    shot(page, "04-embed-dialog")
    streamlit = embed_snippets(page, podium, "admin/web-embed-st")
    assert f'src="{podium.spaces_url}/apps/admin/web-tall/"' in gradio["iframe"]
    assert "/apps/admin/web-embed-st/?embed=true" in streamlit["iframe"]
    assert f'src="{podium.url}/static/embed.js"' in gradio["script"]
    assert '<podium-space space="admin/web-tall">' in gradio["script"]

    badge = httpx.get(f"{podium.url}/spaces/admin/web-tall/badge.svg")
    assert badge.headers["content-type"].startswith("image/svg+xml")
    assert "running" in badge.text and f"{podium.url}/spaces/admin/web-tall/badge.svg" in gradio["badge"]

    site_url, site_root = other_site
    (site_root / "blog.html").write_text(
        "<!doctype html><meta charset=utf-8><title>My blog</title><h1>My blog</h1>"
        f"<h2>With an iframe</h2>{gradio['iframe']}"
        f"<h2>With the element</h2>{gradio['script']}"
        f"<h2>Streamlit too</h2>{streamlit['script'].replace('admin/web-tall', 'admin/web-embed-st')}"
    )
    page.goto(f"{site_url}/blog.html")

    plain = page.frame_locator("iframe").first
    plain.get_by_label("How many lines").fill("3")
    plain.get_by_role("button", name="Show lines").click()
    expect(plain.get_by_text("Line 3")).to_be_visible(timeout=BUILD_TIMEOUT_MS)

    element = page.locator('podium-space[space="admin/web-tall"]')
    framed = element.locator("iframe")
    expect(framed).to_be_visible()
    inside = page.frame_locator('podium-space[space="admin/web-tall"] iframe')
    expect(inside.get_by_text("Line maker")).to_be_visible()
    expect(element.locator(".loading")).to_be_hidden()
    # The element follows the app's height: first to its content, then as the content grows.
    page.wait_for_function("""() => {
        const element = document.querySelector('podium-space[space="admin/web-tall"]');
        const height = element.shadowRoot.querySelector('iframe').style.height;
        return height && height !== '300px';
    }""")
    before = framed.bounding_box()["height"]
    inside.get_by_label("How many lines").fill("30")
    inside.get_by_role("button", name="Show lines").click()
    expect(inside.get_by_text("Line 30")).to_be_visible()
    page.wait_for_function(f"""() => document.querySelector('podium-space[space="admin/web-tall"]')
        .shadowRoot.querySelector('iframe').getBoundingClientRect().height > {before + 300}""")

    # A visitor scrolls down to it; Chromium throttles the rendering of frames out of view, and with
    # it Playwright's check that the button stands still.
    page.locator('podium-space[space="admin/web-embed-st"]').scroll_into_view_if_needed()
    streamlit_frame = page.frame_locator('podium-space[space="admin/web-embed-st"] iframe')
    streamlit_frame.get_by_role("button", name="Add one").click()
    expect(streamlit_frame.get_by_text("Clicks: 1")).to_be_visible()
    page.locator("h2", has_text="With the element").scroll_into_view_if_needed()
    shot(page, "04-embedded-elsewhere")
    context.close()


def test_disable_embedding_refuses_other_sites_but_not_podium(podium, browser: Browser, other_site, shot, tmp_path):
    folder = static_folder(
        tmp_path / "private-look", "title: No frames\ndisable_embedding: true", "<h1>Framed content</h1>"
    )
    push(podium, folder, "admin/web-noembed", sdk="static")
    wait_running(podium, "admin/web-noembed")
    url = f"{podium.spaces_url}/apps/admin/web-noembed/"
    policy = httpx.get(url).headers["content-security-policy"]
    assert policy == f"frame-ancestors 'self' {podium.url}"

    site_url, site_root = other_site
    (site_root / "thief.html").write_text(f'<!doctype html><h1>Elsewhere</h1><iframe src="{url}"></iframe>')
    context = browser.new_context()
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text))
    page.goto(f"{site_url}/thief.html")
    page.wait_for_timeout(1500)
    frame = next(f for f in page.frames if f != page.main_frame)
    assert "Framed content" not in frame.content()
    assert any("frame-ancestors" in text for text in refusals), refusals

    page.goto(f"{podium.url}/spaces/admin/web-noembed")
    expect(page.frame_locator("iframe.app-frame").get_by_text("Framed content")).to_be_visible()
    page.get_by_role("link", name="Embed").click()
    expect(page.get_by_role("dialog")).to_contain_text("disable_embedding: true")
    shot(page, "05-own-page-still-shows-it")
    context.close()


def test_the_frame_allow_list_lets_only_listed_sites_embed(start_podium, browser: Browser, web_site, tmp_path):
    friend_url, friend_root = web_site()
    stranger_url, stranger_root = web_site()
    podium = start_podium(env={"PODIUM_FRAME_ANCESTORS": f'["{friend_url}"]'})
    folder = static_folder(tmp_path / "shared", "title: Shared", "<h1>Shared with friends</h1>")
    push(podium, folder, "admin/web-shared", sdk="static")
    wait_running(podium, "admin/web-shared")
    frame_tag = f'<iframe src="{podium.spaces_url}/apps/admin/web-shared/"></iframe>'
    for root in (friend_root, stranger_root):
        (root / "page.html").write_text(f"<!doctype html><h1>A site</h1>{frame_tag}")

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{friend_url}/page.html")
    expect(page.frame_locator("iframe").get_by_text("Shared with friends")).to_be_visible()
    page.goto(f"{stranger_url}/page.html")
    page.wait_for_timeout(1500)
    frame = next(f for f in page.frames if f != page.main_frame)
    assert "Shared with friends" not in frame.content()
    page.goto(f"{podium.url}/spaces/admin/web-shared")
    expect(page.frame_locator("iframe.app-frame").get_by_text("Shared with friends")).to_be_visible()
    context.close()
