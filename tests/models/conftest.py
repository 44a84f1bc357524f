"""Models and datasets on Podium (issue 12): one `podium serve` per module, as tests/hub's, with the git
fixtures of tests/hub, and tokens of two users."""

from __future__ import annotations

import pytest

from tests.hub.conftest import hub, hub_api  # noqa: F401 (fixtures shared with tests/hub)
from tests.hub.git_fixtures import git, new_clone  # noqa: F401 (fixtures shared with tests/hub)
from tests.support.podium_server import PodiumServer


@pytest.fixture(scope="module")
def tokens(hub: PodiumServer) -> dict[str, str]:  # noqa: F811 (the shared fixture)
    """Write tokens of alice and bob, and a read-only one of alice."""
    with hub.http() as http:
        made = {
            name: http.post("/api/tokens", json={"name": name, "user": user, "role": role}).json()["token"]
            for name, user, role in (
                ("alice", "alice", "write"),
                ("bob", "bob", "write"),
                ("alice-read", "alice", "read"),
            )
        }
    return made
