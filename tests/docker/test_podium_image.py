"""Podium's own image: an operator builds it, runs it with the engine's socket, and serves a space."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time

import docker
import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi

from tests.platform.spaces import echo_space
from tests.support.as_written import ROOT, environment_without_podium_settings, port_taken, readme_blocks

pytestmark = pytest.mark.slow

_TOKEN = re.compile(r"admin token \(shown once, keep it\): (\S+)")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


README_BLOCK = "tests/docker/test_podium_image.py runs this block"
NAME, VOLUME = "podium", "podium-data"  # the README's names
SPACE = "admin/echo"


def _remove_what_the_readme_made(client: docker.DockerClient) -> None:
    """The README's container and volume, and the space container and volume this module's Podium started
    (the README does not ask Podium to stop its spaces when it stops)."""
    for container in [*client.containers.list(all=True, filters={"name": f"^{NAME}$"}),
                      *client.containers.list(all=True, filters={"label": f"org.podium.space={SPACE}"})]:  # fmt: skip
        container.remove(force=True)
    for volume in (VOLUME, "podium-data-admin--echo"):
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(volume).remove(force=True)


@pytest.fixture(scope="module")
def podium_container(docker_client: docker.DockerClient):
    """Podium's image built and started by the README's block, typed as written in the checkout."""
    for port in (7860, 7861):
        assert not port_taken(port), f"port {port} is taken: stop whatever listens there (another Podium?)"
    _remove_what_the_readme_made(docker_client)
    (block,) = readme_blocks(README_BLOCK)
    env = environment_without_podium_settings(PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}")
    typed = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block[1]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert typed.returncode == 0, f"the README's image block failed:\n{(typed.stdout + typed.stderr)[-6000:]}"
    container = docker_client.containers.get(NAME)
    url, spaces_url = "http://127.0.0.1:7860", "http://127.0.0.1:7861"
    try:
        deadline = time.monotonic() + 60
        logs = typed.stdout  # `docker logs podium`, as written, may run before the token is printed
        while not (match := _TOKEN.search(logs)) and time.monotonic() < deadline:
            time.sleep(0.5)
            logs = subprocess.run(["docker", "logs", NAME], capture_output=True, text=True).stdout
        assert match, container.logs().decode()
        # The token is printed before the server listens: wait for the API itself.
        while not _answers(f"{url}/api/spaces") and time.monotonic() < deadline:
            time.sleep(0.5)
        yield container, url, spaces_url, match.group(1)
    finally:
        container.stop(timeout=30)
        print(container.logs().decode()[-3000:])
        _remove_what_the_readme_made(docker_client)


def test_the_image_runs_podium_unprivileged_and_healthy(podium_container):
    container, url, *_ = podium_container
    assert container.attrs["Config"]["User"] == "podium"
    assert container.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD"
    assert _answers(f"{url}/api/spaces")


def test_the_containerised_podium_builds_and_serves_a_space(podium_container, tmp_path, docker_client):
    container, url, spaces_url, token = podium_container
    api = HfApi(endpoint=url, token=token)
    api.create_repo(SPACE, repo_type="space", space_sdk="gradio")
    api.upload_folder(repo_id=SPACE, folder_path=echo_space(tmp_path / "echo"), repo_type="space")
    deadline = time.monotonic() + 600
    while (stage := api.get_space_runtime(SPACE).stage) in ("BUILDING", "APP_STARTING"):
        assert time.monotonic() < deadline, container.logs().decode()[-3000:]
        time.sleep(1)
    assert stage == "RUNNING", container.logs().decode()[-3000:]
    client = Client(f"{spaces_url}/apps/admin/echo/", verbose=False)
    assert client.predict("from the image", api_name="/echo") == "echo: from the image"
    (space,) = docker_client.containers.list(filters={"label": f"org.podium.space={SPACE}"})
    # On the host's network Podium reaches the space on the host's loopback, and nowhere else.
    bindings = space.attrs["HostConfig"]["PortBindings"]
    assert bindings and {b["HostIp"] for published in bindings.values() for b in published} == {"127.0.0.1"}
    assert "reaches spaces by their IPs" not in container.logs().decode()
    # The space reads models from the containerised Podium too: HF_ENDPOINT is its relay on the spaces network.
    api.create_repo("admin/weights", repo_type="model")
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="admin/weights", repo_type="model")
    fetch = (
        "import os, urllib.request; "
        "print(urllib.request.urlopen(os.environ['HF_ENDPOINT'] + '/admin/weights/resolve/main/config.json').read())"
    )
    ran = space.exec_run(["python", "-c", fetch], user="1000:1000")
    assert (ran.exit_code, ran.output.strip()) == (0, b"b'{}'"), ran.output.decode(errors="replace")


# What another space, on the spaces' network, tries against the space: a TCP connection to an address.
_CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except OSError as exc:
    print("refused:", exc)
"""


def test_spaces_of_the_containerised_podium_cannot_reach_each_other(podium_container, docker_client):
    """The attack the README's way of running the image stops: a space connecting to another space's app (a
    private space's, past Podium's access check) or to its Gradio reload server (7887: code for its app, with
    its secrets). A container on the spaces' network, from the space's own image, stands in for that space."""
    (space,) = docker_client.containers.list(filters={"label": f"org.podium.space={SPACE}"})
    network = next(iter(space.attrs["NetworkSettings"]["Networks"]))
    address = space.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    app_port = int(next(v for k, _, v in (e.partition("=") for e in space.attrs["Config"]["Env"]) if k == "PORT"))
    for port in (app_port, 7887):
        ran = docker_client.containers.run(
            space.image.id,
            ["python", "-c", _CONNECT, address, str(port)],
            network=network,
            user="1000:1000",
            remove=True,
        )
        assert ran.decode().startswith("refused"), (network, port, ran)
    # The control: both answer on that address from inside the space itself.
    for port in (app_port, 7887):
        ran = space.exec_run(["python", "-c", _CONNECT, address, str(port)], user="1000:1000")
        assert ran.output.decode().startswith("connected"), (port, ran.output)
