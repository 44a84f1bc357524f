"""Tests of Podium as a drop-in Hugging Face Hub: the real `huggingface_hub` client (and `git`) against a
real `podium serve`.

`hub` is one `podium serve` per test module (process backend, its own data folder), with the admin
token; `hub_api()` is `HfApi(endpoint=hub.url, token=...)` on it (the admin token by default, `token=False`
for an anonymous client). Other helpers add fixtures in their own `<area>_fixtures.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from huggingface_hub import HfApi

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServer]:
    """A `podium serve` of this module's own, so one module's spaces and refs never meet another's."""
    server = PodiumServer(tmp_path_factory.mktemp("hub") / "data", free_port(), free_port(), {})
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub_api(hub: PodiumServer) -> Callable[..., HfApi]:
    """`hub_api()` with the admin token, `hub_api(token)` with another, `hub_api(False)` anonymous."""

    def api(token: str | bool | None = None) -> HfApi:
        if token is False:
            return HfApi(endpoint=hub.url, token=False)
        return HfApi(endpoint=hub.url, token=token or hub.token)

    return api
