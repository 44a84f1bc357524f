"""Story 3: drop a Streamlit space's .zip on the New space page, watch it build, and use the app;
its WebSocket runs inside Podium's iframe, through the proxy."""

from __future__ import annotations

import base64
import io
import zipfile

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import BUILD_TIMEOUT_MS, app_frame, counter_folder

DROP_FILE = """([name, data]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type: "application/zip" }));
    const zone = document.querySelector("[data-drop]");
    for (const type of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
}"""


def drop_file(page: Page, name: str, data: bytes) -> None:
    page.evaluate(DROP_FILE, [name, base64.b64encode(data).decode()])


def zipped(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def test_create_a_streamlit_space_by_dropping_a_zip_and_use_it(podium, owner: BrowserContext, shot, tmp_path):
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-counter")
    page.get_by_label("Streamlit").check()
    drop_file(page, "counter.zip", zipped(counter_folder(tmp_path / "counter")))
    expect(page.locator("#picked")).to_contain_text("counter.zip")
    expect(page.get_by_label("My files")).to_be_checked()
    page.get_by_role("button", name="Create space").click()

    page.wait_for_url(f"{podium.url}/spaces/admin/web-counter")
    expect(page.locator("#stage-log")).to_contain_text("BUILDING", timeout=30_000)
    frame = app_frame(page)
    expect(frame.get_by_text("Counter from Streamlit")).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    name = frame.get_by_label("Your name")
    name.fill("Grace")
    name.press("Enter")
    expect(frame.get_by_text("Hi Grace!")).to_be_visible()
    frame.get_by_role("button", name="Add one").click()
    expect(frame.get_by_text("Clicks: 1")).to_be_visible()
    shot(page, "03-streamlit-app")


def test_upload_errors_are_shown_in_words(podium, owner: BrowserContext, tmp_path):
    page = owner.new_page()
    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web bad name")
    page.get_by_role("button", name="Create space").click()
    error = page.locator("#upload-error")
    expect(error).to_contain_text("not a valid space name")

    page.get_by_label("Name", exact=True).fill("web-bad-zip")
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.py", "print('out of the space')")
    drop_file(page, "evil.zip", evil.getvalue())
    page.get_by_role("button", name="Create space").click()
    expect(error).to_contain_text("admin/web-bad-zip: the path '../escape.py' is absolute or climbs out with '..'")
    # The upload was refused before the space was made: no empty space stays behind.
    assert podium.http().get("/api/spaces/admin/web-bad-zip").status_code == 404

    page.goto(f"{podium.url}/new")
    page.get_by_label("Name", exact=True).fill("web-nothing")
    page.get_by_label("My files").check()
    page.get_by_role("button", name="Create space").click()
    expect(error).to_contain_text("Choose a folder or a .zip")
