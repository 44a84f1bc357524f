"""The platform's stories again, with PostgreSQL as Podium's database (`PODIUM_DATABASE_URL`).

One throwaway cluster per session (tests/postgres/cluster.py); every `podium serve` these tests start,
and every test's own `Settings`, gets a new, empty database of it. Skipped where Debian's `postgresql`
package is missing (scripts/test installs it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres.cluster import PostgresCluster, server_binaries
from tests.support.podium_server import PodiumServer


@pytest.fixture(scope="package")
def postgres() -> Iterator[PostgresCluster]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's server is not installed (Debian: apt-get install postgresql; scripts/test does)")
    # Not under pytest's temporary folder: that is root's alone, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="podium-postgres-"))
    cluster = PostgresCluster(root, binaries)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def database_url(postgres: PostgresCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database of the test's own, for the `Settings` it makes itself (supervisor stories, migrations)."""
    url = postgres.database_url()
    monkeypatch.setenv("PODIUM_DATABASE_URL", url)
    return url


@pytest.fixture(scope="package")
def start_podium(
    postgres: PostgresCluster, start_podium: Callable[..., PodiumServer]
) -> Iterator[Callable[..., PodiumServer]]:
    """tests/conftest.py's `start_podium`, each new server on a new database (a restart `like=` an
    earlier one keeps its database, as it keeps its data folder). Its servers stop with the package's last
    test, before PostgreSQL does."""
    started: list[PodiumServer] = []

    def start(
        env: dict[str, str] | None = None, like: PodiumServer | None = None, shared: bool = False
    ) -> PodiumServer:
        if like is None:
            env = {"PODIUM_DATABASE_URL": postgres.database_url(), **(env or {})}
        started.append(start_podium(env=env, like=like, shared=shared))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="package")
def podium(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    """The PostgreSQL package's shared Podium (process backend)."""
    return start_podium(shared=True)


@pytest.fixture(scope="module")
def hub(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    """tests/hub's `podium serve` of one module, on PostgreSQL."""
    return start_podium()
