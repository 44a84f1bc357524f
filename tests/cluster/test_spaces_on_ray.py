"""An operator runs Podium on a Ray cluster: spaces are placed on the workers, answer through Podium's proxy
(HTTP, SSE, WebSocket), and their apps see nothing of Ray (no token, no route to its ports)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.cluster.ray_cluster import HEAD_ADDRESS, RayTestCluster
from tests.cluster.spaces import OWNER
from tests.support.podium_server import PODIUM
from tests.support.tokens import make_token, pages_session

pytest.importorskip("ray", reason="the cluster tests need Ray: pip install 'podium[ray]'")
pytestmark = pytest.mark.slow

SESSION_SCRIPT = Path(__file__).parents[1] / "proxy" / "apps" / "streamlit_session.py"
WORKERS = {"10.98.51.11", "10.98.51.12"}


def runtime_on_a_worker(podium, space_id: str) -> dict:
    runtime = podium.wait_for_stage(space_id, timeout=240)
    assert runtime["stage"] == "RUNNING", runtime
    status = podium.http().get("/api/cluster").json()
    where = {space["space_id"]: space["node_ip"] for space in status["spaces"]}
    assert where[space_id] in WORKERS, status
    return runtime


def test_a_gradio_space_runs_on_a_worker_and_answers_through_the_proxy(ray_podium, space_folders):
    space_id = f"{OWNER}/inspector"
    ray_podium.push(space_id, space_folders["inspector"])
    runtime_on_a_worker(ray_podium, space_id)
    page = httpx.get(f"{ray_podium.spaces_url}/apps/{space_id}/", timeout=30)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    client = Client(f"{ray_podium.spaces_url}/apps/{space_id}/", verbose=False)
    # Gradio's queue streams each result as Server-Sent Events, through the proxy, from the worker.
    assert client.predict("3", api_name="/count") == "tick 2"


def test_the_app_sees_no_ray_variable_and_not_the_token(ray_podium, ray_cluster: RayTestCluster):
    client = Client(f"{ray_podium.spaces_url}/apps/{OWNER}/inspector/", verbose=False)
    seen = json.loads(client.predict("", api_name="/inspect"))
    environ = seen["environ"]
    assert not [key for key in environ if key.startswith("RAY_")], environ
    assert not [key for key, value in environ.items() if ray_cluster.token in value]
    assert environ["SPACE_ID"] == f"{OWNER}/inspector"


def test_the_app_cannot_reach_any_ray_port(ray_podium, ray_cluster: RayTestCluster):
    """Every port Ray listens on, on the head (GCS, client server) and on both workers (raylets, object
    managers, agents): the app's namespace refuses every node's address."""
    targets = [f"{HEAD_ADDRESS}:{port}" for port in ray_cluster.ray_ports(HEAD_ADDRESS)]
    for worker in sorted(WORKERS):
        targets += [f"{worker}:{port}" for port in ray_cluster.ray_ports(worker)]
    assert any(target.endswith(":6379") for target in targets)
    client = Client(f"{ray_podium.spaces_url}/apps/{OWNER}/inspector/", verbose=False)
    reach = json.loads(client.predict(",".join(targets), api_name="/inspect"))["reach"]
    assert reach and not [target for target, said in reach.items() if said == "connected"], reach


def test_a_streamlit_space_answers_over_a_websocket_through_the_proxy(ray_podium, space_folders, warm_environments):
    streamlit_python = warm_environments["streamlit"][1] / "bin" / "python"
    space_id = f"{OWNER}/hello"
    ray_podium.push(space_id, space_folders["streamlit"], sdk="streamlit")
    runtime_on_a_worker(ray_podium, space_id)
    argv = [str(streamlit_python), str(SESSION_SCRIPT), f"ws://127.0.0.1:{ray_podium.spaces_port}/apps/{space_id}/_stcore/stream",
            "name=cluster", "--origin", ray_podium.spaces_url]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    session = json.loads(result.stdout)
    assert session["texts"] == ["Streamlit demo space", "Hello, cluster!"], session


def test_podium_cluster_status_shows_the_nodes_and_where_spaces_run(ray_podium):
    shown = subprocess.run(
        [str(PODIUM), "cluster", "status", "--endpoint", ray_podium.url, "--token", ray_podium.token],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "10.98.51.11" in shown.stdout and "10.98.51.12" in shown.stdout and "alive" in shown.stdout
    assert f"{OWNER}/inspector" in shown.stdout, shown.stdout


def test_the_cluster_page_shows_an_admin_the_nodes_and_refuses_others(ray_podium):
    page = pages_session(ray_podium, ray_podium.token).get("/cluster")
    assert page.status_code == 200, page.text
    assert "10.98.51.11" in page.text and f"/spaces/{OWNER}/inspector" in page.text
    _, alice = make_token(ray_podium, user="alice")
    assert pages_session(ray_podium, alice).get("/cluster").status_code == 403
    peek = httpx.get(f"{ray_podium.url}/api/cluster", headers={"Authorization": f"Bearer {alice}"})
    assert peek.status_code == 403 and "admin" in peek.text
