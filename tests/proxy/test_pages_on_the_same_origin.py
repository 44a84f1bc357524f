"""With PODIUM_SPACES_ON_PAGES_ORIGIN, one server answers both Podium's pages and its spaces: the proxy
serves /apps/... and hands everything else, lifespan included, to the pages' FastAPI app."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import AsyncIterator

from fastapi import FastAPI
from podium.proxy import ProxyApp

from tests.proxy.proxy_harness import ServerThread


def test_pages_and_spaces_share_one_server(spaces, probe):
    lifespan_events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifespan_events.append("startup")
        yield
        lifespan_events.append("shutdown")

    pages = FastAPI(lifespan=lifespan)

    @pages.get("/api/whoami-v2")
    def whoami() -> dict:
        return {"name": "pages"}

    proxy = ProxyApp(spaces.resolve, fallback=pages)
    with ServerThread(proxy) as server:
        assert lifespan_events == ["startup"]
        with urllib.request.urlopen(f"{server.url}/api/whoami-v2", timeout=10) as response:
            assert json.load(response) == {"name": "pages"}
        with urllib.request.urlopen(f"{server.url}/apps/lab/probe/headers", timeout=10) as response:
            assert json.load(response)["path"] == "/apps/lab/probe/headers"
    assert lifespan_events == ["startup", "shutdown"]
