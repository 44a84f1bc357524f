"""Debian's Chromium as every browser test launches it: never a downloaded browser, nothing that
reaches out on its own (updates, sync, background networking)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
