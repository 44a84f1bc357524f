"""A real `podium serve` for tests of every area (see tests/support/podium_server.py).

`start_podium(...)` starts one with a temporary data folder (options: extra environment such as
`{"PODIUM_BACKEND": "docker"}`, or `like=` an earlier server to restart on its data and ports);
`podium` is one shared by the whole session. A module's servers stop after its last test.
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


class PodiumServers:
    """Every `podium serve` the session started. Those a module started stop after its last test, with their
    apps: left running to the session's end, dozens of idle servers and their apps slowed every later test."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self.started: list[PodiumServer] = []
        self._shared: set[int] = set()

    def start(
        self, env: dict[str, str] | None = None, like: PodiumServer | None = None, shared: bool = False
    ) -> PodiumServer:
        """`shared`: a package's or the session's server, which outlives the module that started it."""
        if like is not None:
            server = PodiumServer(
                like.data_dir, like.port, like.spaces_port, {**like.env, **(env or {})}, token=like.token
            )
        else:
            data_dir = self._tmp_path_factory.mktemp("podium") / "data"
            server = PodiumServer(data_dir, free_port(), free_port(), env or {})
        self.started.append(server)
        if shared:
            self._shared.add(id(server))
        return server.start()

    def stop(self, since: int = 0, *, shared_too: bool = False) -> None:
        """Stop the servers started since the `since`-th, the shared ones only with `shared_too` (the
        session's end: a session's first module also starts counting at 0)."""
        for server in self.started[since:]:
            if shared_too or id(server) not in self._shared:
                server.stop()


@pytest.fixture(scope="session")
def podium_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServers]:
    servers = PodiumServers(tmp_path_factory)
    yield servers
    servers.stop(shared_too=True)


@pytest.fixture(scope="module", autouse=True)
def stop_the_modules_podiums(podium_servers: PodiumServers) -> Iterator[None]:
    before = len(podium_servers.started)
    yield
    podium_servers.stop(since=before)


@pytest.fixture(scope="session")
def start_podium(podium_servers: PodiumServers) -> Callable[..., PodiumServer]:
    """Start a `podium serve`: `start_podium(env={"PODIUM_BACKEND": "docker"})`, or on an existing
    server's data folder and ports after it stopped: `start_podium(like=old)`. It stops after the module's
    last test; `shared=True` keeps it for later modules (a package's or the session's server)."""
    return podium_servers.start


@pytest.fixture(scope="session")
def podium(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    """The session's shared Podium (process backend)."""
    return start_podium(shared=True)
