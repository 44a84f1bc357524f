"""A static space's files are served by Podium itself (podium_runner/recipes.py says why), so a hostile
checkout must not reach past its own folder: a symlink to a file outside it is a 404, not the file (and a
missing file a 404, not a 500)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from podium.spaces_origin import _StaticSpace


@pytest.mark.anyio
async def test_a_static_space_serves_its_files_with_its_csp_and_nothing_a_symlink_leads_out_to(tmp_path: Path) -> None:
    secret = tmp_path / "podium-data" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the host's secret")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>Home</h1>")
    (site / "leak.txt").symlink_to(secret)
    (site / "up").symlink_to(tmp_path / "podium-data")
    (site / "home.html").symlink_to(site / "index.html")  # inside the checkout: fine

    transport = httpx.ASGITransport(app=_StaticSpace(site, "'self' http://pages.test"))
    async with httpx.AsyncClient(transport=transport, base_url="http://spaces.test") as client:
        home = await client.get("/apps/alice/site/")
        assert home.status_code == 200 and home.text == "<h1>Home</h1>"
        assert home.headers["content-security-policy"] == "frame-ancestors 'self' http://pages.test"
        assert (await client.get("/apps/alice/site/home.html")).text == "<h1>Home</h1>"
        for path in (
            "nope.html",
            "leak.txt",
            "up/secret.txt",
            "../podium-data/secret.txt",
            "%2e%2e/podium-data/secret.txt",
        ):
            answer = await client.get(f"/apps/alice/site/{path}")
            assert answer.status_code == 404 and "secret" not in answer.text, path
        assert (await client.post("/apps/alice/site/index.html")).status_code == 405
