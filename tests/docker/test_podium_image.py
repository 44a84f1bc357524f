"""Podium's own image: an operator builds it, runs it with the engine's socket, and serves a space."""

from __future__ import annotations

import re
import time
from pathlib import Path

import docker
import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi

from tests.platform.spaces import echo_space
from tests.support.process_spaces import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
IMAGE = "podium:test"
_TOKEN = re.compile(r"admin token \(shown once, keep it\): (\S+)")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def podium_container(docker_client: docker.DockerClient, base_image: str):
    docker_client.images.build(path=str(ROOT), tag=IMAGE, buildargs={"BASE_IMAGE": base_image}, rm=True)
    port, spaces_port = free_port(), free_port()
    socket_group = str(Path("/var/run/docker.sock").stat().st_gid)
    container = docker_client.containers.run(
        IMAGE,
        detach=True,
        group_add=[socket_group],
        volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
        ports={"7860/tcp": ("127.0.0.1", port), "7861/tcp": ("127.0.0.1", spaces_port)},
        environment={
            "PODIUM_DOCKER_BASE_IMAGE": base_image,
            "PODIUM_STOP_SPACES_ON_EXIT": "true",
            "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "PODIUM_SPACES_PUBLIC_URL": f"http://127.0.0.1:{spaces_port}",
        },
    )
    try:
        deadline = time.monotonic() + 60
        while not (match := _TOKEN.search(container.logs().decode())) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert match, container.logs().decode()
        # The token is printed before the server listens: wait for the API itself.
        while not _answers(f"http://127.0.0.1:{port}/api/spaces") and time.monotonic() < deadline:
            time.sleep(0.5)
        yield container, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{spaces_port}", match.group(1)
    finally:
        container.stop(timeout=30)
        print(container.logs().decode()[-3000:])
        container.remove(force=True)


def test_the_image_runs_podium_unprivileged_and_healthy(podium_container):
    container, url, *_ = podium_container
    assert container.attrs["Config"]["User"] == "podium"
    assert container.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD"
    assert _answers(f"{url}/api/spaces")


def test_the_containerised_podium_builds_and_serves_a_space(podium_container, tmp_path, docker_client):
    container, url, spaces_url, token = podium_container
    api = HfApi(endpoint=url, token=token)
    api.create_repo("admin/echo", repo_type="space", space_sdk="gradio")
    api.upload_folder(repo_id="admin/echo", folder_path=echo_space(tmp_path / "echo"), repo_type="space")
    deadline = time.monotonic() + 600
    while (stage := api.get_space_runtime("admin/echo").stage) in ("BUILDING", "APP_STARTING"):
        assert time.monotonic() < deadline, container.logs().decode()[-3000:]
        time.sleep(1)
    assert stage == "RUNNING", container.logs().decode()[-3000:]
    client = Client(f"{spaces_url}/apps/admin/echo/", verbose=False)
    assert client.predict("from the image", api_name="/echo") == "echo: from the image"
    (space,) = docker_client.containers.list(filters={"label": "org.podium.space=admin/echo"})
    assert space.attrs["HostConfig"]["PortBindings"] in ({}, None)  # reached by its IP, published nowhere
