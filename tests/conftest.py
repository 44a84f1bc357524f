"""A real `podium serve` for tests of every area (see tests/support/podium_server.py).

`start_podium(...)` starts one with a temporary data folder (options: extra environment such as
`{"PODIUM_BACKEND": "docker"}`, or `like=` an earlier server to restart on its data and ports);
`podium` is one shared by the whole session. A module's servers stop after its last test.

`scripts/test` runs the tests in two worker processes (pytest-xdist): most of a test's time is spent waiting
for apps to build and start, not on the CPU. `MACHINE_WIDE` below names what runs alone afterwards, and why.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port
from tests.support.volumes import unmount_under

# A pytest-xdist worker starts with COLUMNS=80 and LINES=24 in its environment (pytest-xdist 3.8; a run in one
# process has neither). The tools the tests run would then wrap what they print at 80 columns, for workers alone:
# uv cut an attacker's one-line report into several in tests/security/test_build_and_privilege.py.
if "PYTEST_XDIST_WORKER" in os.environ:
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


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


# Test modules that hold something there is one of on this machine. `scripts/test` runs them alone, in one process,
# after the others (`--machine-wide`), for two reasons seen in runs with everything in two processes:
# - Docker builds and starts beside other tests failed at random (a container whose image had no python, while
#   another worker started the examples' 31 sandboxed spaces; its cause is not found).
# - Chromium fails every request it has in flight with net::ERR_NETWORK_CHANGED when the host's network
#   interfaces change: a Docker container's veth, the fake outside hosts' addresses, the Ray cluster's veth. The
#   browser tests (Playwright) then saw pages without their scripts. Whatever changes the host's interfaces is
#   listed here, so no browser runs beside it.
# Under plain `pytest -n 2 --dist loadfile` they at least run one after another on one worker (`machine_group`).
MACHINE_WIDE = {
    "tests/docker/": "the Docker engine: each Podium on it adopts and stops every container Podium made",
    "tests/reliability/test_engine_restart.py": "the Docker engine (a second one, on a bridge of its own)",
    "tests/security/test_docker_build_cache.py": "the Docker engine's build cache",
    "tests/security/test_docker_metadata.py": "the Docker engine and the fake outside hosts (network_hosts.py)",
    "tests/security/test_resource_bounds.py": "the Docker engine (one test of it)",
    "tests/security/test_network_isolation.py": "the fake outside hosts: addresses and routes of the host's network",
    "tests/security/test_build_and_privilege.py": "the fake outside hosts, and port 7887 (no sandbox: see below)",
    "tests/security/test_reload_server.py": "port 7887 of the host: a process backend without the sandbox holds it",
    "tests/runner/test_process_backend.py": "port 7887 (process backends without the sandbox)",
    "tests/runner/test_instance_state_upgrade.py": "port 7887 (process backends without the sandbox)",
    "tests/firstrun/": "the README's ports, 7860 and 7861 (and 8000 of its `podium run` block)",
    # test_podium_image.py (tests/docker/) listens on the README's ports too: the README runs the image on the
    # host's network.
    "tests/cluster/": "the Ray cluster: /tmp/ray, its addresses, and a veth on the host's network",
}


def machine_group(module: str) -> str:
    """The unit of work a test module is scheduled in: its own path, or the group it shares the machine with."""
    return "machine-wide" if module.startswith(tuple(MACHINE_WIDE)) else module


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: scripts/test runs `-n 2 --dist loadfile`
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`, with the modules of one group in one unit (`machine_group`). pytest-xdist's own
    `loadgroup` would do this from marks, but under pytest 9.2 its group names are lost (pytest-xdist#1386)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class MachineGroupScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return machine_group(nodeid.split("::", 1)[0])

    return MachineGroupScheduling(config, log)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--machine-wide",
        choices=("with", "without", "only"),
        default="with",
        help="run the MACHINE_WIDE modules (tests/conftest.py) with the rest, without them, or only them. "
        "scripts/test runs the rest in two processes, then these alone in one",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A module that uses the Docker engine (mark `docker`) and is not in MACHINE_WIDE would run beside other
    tests and break at random: refuse the run instead. Then keep what `--machine-wide` asks for."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if item.get_closest_marker("docker") and machine_group(module) != "machine-wide":
            raise pytest.UsageError(
                f"{module} uses the Docker engine (mark docker) but tests/conftest.py's MACHINE_WIDE does not list "
                "it, so it would run beside other tests: add it there"
            )
    wanted = config.getoption("machine_wide")
    if wanted == "with":
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        alone = machine_group(item.nodeid.split("::", 1)[0]) == "machine-wide"
        (keep if alone == (wanted == "only") else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep
