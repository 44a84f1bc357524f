"""The platform's story on the docker backend: `podium serve` with PODIUM_BACKEND=docker builds each
uploaded space into an image, serves it through its proxy, lets its app read models from Podium (HF_ENDPOINT),
and re-adopts it after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import Client
from podium_runner.docker.containers import LABEL_SPACE

from tests.models.cache_fixtures import publish_model
from tests.platform.spaces import echo_space, hello_space
from tests.support.hub_loader import LOADER_APP
from tests.support.process_spaces import write_space

pytestmark = pytest.mark.slow

PRIVATE_WEIGHTS = '{"model_type": "admin-only"}'
SESSION_SCRIPT = Path(__file__).parents[1] / "proxy" / "apps" / "streamlit_session.py"


@pytest.fixture(scope="module")
def served(start_podium, base_image, tmp_path_factory):
    """A docker-backed Podium that leaves its containers up when it stops (for the restart story)."""
    server = start_podium(
        env={"PODIUM_BACKEND": "docker", "PODIUM_DOCKER_BASE_IMAGE": base_image, "PODIUM_STOP_SPACES_ON_EXIT": "false"}
    )
    api = server.api()
    echo = echo_space(tmp_path_factory.mktemp("echo"))
    # websockets rides along so that the Streamlit session script can run with the app's Python.
    hello = hello_space(tmp_path_factory.mktemp("hello"))
    (hello / "requirements.txt").write_text("websockets\n")
    loader = write_space(tmp_path_factory.mktemp("loader"), "sdk: gradio", LOADER_APP)
    publish_model(api, "admin/weights", {"config.json": PRIVATE_WEIGHTS.encode()}, private=True)
    spaces = (("admin/echo", "gradio", echo), ("admin/hello", "streamlit", hello), ("admin/loader", "gradio", loader))
    for space, sdk, folder in spaces:
        api.create_repo(space, repo_type="space", space_sdk=sdk)
        api.upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    for space, _, _ in spaces:
        runtime = server.wait_for_stage(space, timeout=600)
        assert runtime["stage"] == "RUNNING", (runtime, server.log()[-3000:])
    return server


def _container(docker_client, space_id: str):
    (container,) = docker_client.containers.list(filters={"label": f"{LABEL_SPACE}={space_id}"})
    return container


def test_gradio_client_calls_the_containerised_space_through_the_proxy(served, docker_client):
    client = Client(f"{served.spaces_url}/apps/admin/echo/", verbose=False)
    assert client.predict("from docker", api_name="/echo") == "echo: from docker"
    assert _container(docker_client, "admin/echo").attrs["Config"]["User"] == "1000:1000"


def test_a_streamlit_session_runs_over_the_websocket_through_the_proxy(served, docker_client):
    image = _container(docker_client, "admin/hello").image.tags[0]
    url = f"ws://127.0.0.1:{served.spaces_port}/apps/admin/hello/_stcore/stream"
    output = docker_client.containers.run(
        image,
        ["python", "/session.py", url, "name=docker", "--origin", served.spaces_url],
        network_mode="host",
        volumes={str(SESSION_SCRIPT): {"bind": "/session.py", "mode": "ro"}},
        remove=True,
        user="1000:1000",
    )
    result = json.loads(output)
    assert result["subprotocol"] == "streamlit"
    assert result["texts"] == ["Streamlit demo space", "Hello, docker!"]


def test_a_containerised_space_loads_its_owners_private_model_from_podium(served, docker_client):
    """Through the relay on the spaces network's gateway (not PODIUM_PUBLIC_URL, which names the host's
    loopback here, out of the container's reach), and only the door's read routes."""
    loader = Client(f"{served.spaces_url}/apps/admin/loader/", verbose=False)
    endpoint = loader.predict("HF_ENDPOINT", api_name="/variable")
    gateway = docker_client.api.inspect_network("podium-spaces")["IPAM"]["Config"][0]["Gateway"]
    assert endpoint.startswith(f"http://{gateway}:"), endpoint
    assert loader.predict("admin/weights:config.json", api_name="/fetch") == PRIVATE_WEIGHTS
    assert loader.predict("/api/models/admin/weights", api_name="/reach") == "200"
    for path in ("/api/spaces/admin/loader", "/api/whoami-v2", "/api/tokens"):
        assert loader.predict(path, api_name="/reach") == "404", path


def test_a_restarted_podium_re_adopts_the_running_containers(served, start_podium, docker_client):
    before = {space: _container(docker_client, space) for space in ("admin/echo", "admin/hello")}
    served.stop()
    again = start_podium(like=served, env={"PODIUM_STOP_SPACES_ON_EXIT": "true"})
    assert again.api().get_space_runtime("admin/echo").stage == "RUNNING"
    assert "admin/echo: re-adopted its running instance" in again.log()
    for space, container in before.items():
        after = _container(docker_client, space)
        assert after.id == container.id
        assert after.attrs["State"]["StartedAt"] == container.attrs["State"]["StartedAt"]
    client = Client(f"{again.spaces_url}/apps/admin/echo/", verbose=False)
    assert client.predict("still here", api_name="/echo") == "echo: still here"
    # The adopted loader still reaches Podium where it was told to: the relay is open there again.
    loader = Client(f"{again.spaces_url}/apps/admin/loader/", verbose=False)
    assert loader.predict("/api/models/admin/weights", api_name="/reach") == "200"
    again.stop()  # this one stops its spaces on exit
    assert docker_client.containers.list(filters={"label": f"{LABEL_SPACE}=admin/echo"}) == []
