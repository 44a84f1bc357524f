"""Debian's Chromium as every browser test launches it: never a downloaded browser, nothing that
reaches out on its own (updates, sync, background networking)."""

from __future__ import annotations

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def failed_requests(page: Page) -> list[str]:
    """The page's requests that failed from now on, each with why (a network error such as
    `net::ERR_EMPTY_RESPONSE`, or an HTTP status of 400 or more), to show beside what a failing test saw:
    a script that would not load shows in the page only as `Failed to fetch dynamically imported module`."""
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.method} {request.url}: {request.failure}"))
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.request.method} {response.url}: HTTP {response.status}")
            if response.status >= 400
            else None
        ),
    )
    return failed
