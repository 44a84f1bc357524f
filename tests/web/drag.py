"""Drag real files and folders from the machine onto a page, as a person does from a file manager.

Page-level JavaScript can put Files in a DataTransfer but never a directory, so a dropped folder is
made by Chromium itself through the DevTools Protocol: `Input.dispatchDragEvent` with the paths in
its drag data. The page then sees what a real drop gives it, `webkitGetAsEntry()` directories
included.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator

DRAG_OPERATION_COPY = 1


def drop_paths(target: Locator, *paths: Path) -> None:
    """Drag `paths` (files or folders, as the OS holds them) onto the middle of `target` and drop them."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None, f"{target} is not shown, so nothing can be dropped on it"
    cdp = target.page.context.new_cdp_session(target.page)
    data = {"items": [], "files": [str(path.resolve()) for path in paths], "dragOperationsMask": DRAG_OPERATION_COPY}
    where = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    try:
        for kind in ("dragEnter", "dragOver", "drop"):
            cdp.send("Input.dispatchDragEvent", {"type": kind, **where, "data": data})
    finally:
        cdp.detach()
