"""What the docker tests share: a real engine, the bootstrapped base, one backend with small flavors.

Every space here has the same dependency set (Gradio at Podium's default version, nothing else), so
the dependency image is built once per machine and each test adds only its app's layer.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from podium_runner.docker import DockerBackend
from podium_runner.docker.bases import BOOTSTRAP_BASE
from podium_runner.docker.bootstrap import bootstrap_base
from podium_runner.docker.engine import Engine

from tests.docker.spaces import TEST_FLAVORS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/docker/" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()  # CI starts dockerd; a missing engine is a failure here, not a skip
    yield client
    # The /data volumes of this session's test spaces (all owned by "alice").
    for volume in client.volumes.list(filters={"name": "podium-data-alice--"}):
        try:
            volume.remove()
        except docker.errors.APIError:
            pass  # still in use by a container another test left running; the next session removes it
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """The bootstrapped base (scripts/test makes it before pytest; this only checks, or builds it)."""
    engine = Engine()
    bootstrap_base(engine, lambda _line: None)
    engine.close()
    return BOOTSTRAP_BASE


@pytest.fixture(scope="session")
def backend(base_image: str) -> DockerBackend:
    return DockerBackend(base_image=base_image, flavors=TEST_FLAVORS)


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Container ids a test started; removed after it whatever happened."""
    ids: list[str] = []
    yield ids
    for container_id in ids:
        try:
            docker_client.containers.get(container_id).remove(force=True)
        except docker.errors.NotFound:
            pass
