"""A real `podium serve` for tests of every area (see tests/support/podium_server.py).

`start_podium(...)` starts one with a temporary data folder (options: extra environment such as
`{"PODIUM_BACKEND": "docker"}`, or `like=` an earlier server to restart on its data and ports);
`podium` is one shared by the whole session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port
from tests.support.volumes import unmount_under


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (`@pytest.mark.anyio`) run on asyncio, the loop Podium and its backends run on."""
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def unmount_space_volumes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Spaces' /data volumes a test's Podium left mounted go with the session (tests/support/volumes.py)."""
    yield
    unmount_under(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def start_podium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PodiumServer]]:
    """Start a `podium serve`: `start_podium(env={"PODIUM_BACKEND": "docker"})`, or on an existing
    server's data folder and ports after it stopped: `start_podium(like=old)`."""
    started: list[PodiumServer] = []

    def start(env: dict[str, str] | None = None, like: PodiumServer | None = None) -> PodiumServer:
        if like is not None:
            server = PodiumServer(
                like.data_dir, like.port, like.spaces_port, {**like.env, **(env or {})}, token=like.token
            )
        else:
            server = PodiumServer(tmp_path_factory.mktemp("podium") / "data", free_port(), free_port(), env or {})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def podium(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    """The session's shared Podium (process backend)."""
    return start_podium()
