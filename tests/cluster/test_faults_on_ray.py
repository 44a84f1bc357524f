"""Things break on a cluster: the app is killed, its actor is killed, its node's raylet dies, `podium serve`
restarts. Each time the space comes back by itself (on a healthy node when its own is gone), the proxy
follows it, the run log says what happened, and a restart of Podium restarts nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.cluster.faults import actor_pid, app_pids, back_after, node_of, run_log
from tests.cluster.ray_cluster import RayTestCluster
from tests.cluster.spaces import OWNER

pytest.importorskip("ray", reason="the cluster tests need Ray: pip install 'podium[ray]'")
pytestmark = pytest.mark.slow

SPACE = f"{OWNER}/sturdy"


@pytest.fixture(scope="module")
def sturdy(ray_podium, space_folders) -> str:
    runtime = ray_podium.push(SPACE, space_folders["inspector"])
    assert runtime["stage"] == "RUNNING", runtime
    return SPACE


def test_the_app_killed_comes_back_on_its_node(ray_podium, sturdy):
    node, pids = node_of(ray_podium, sturdy), app_pids(sturdy)
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    took = back_after(ray_podium, sturdy, pids)
    print(f"app kill -9: answering again after {took:.1f} s")
    assert node_of(ray_podium, sturdy) == node
    assert "the app exited (killed by signal SIGKILL); starting it again" in run_log(ray_podium, sturdy)
    assert ray_podium.api().get_space_runtime(sturdy).stage == "RUNNING"


def test_the_actor_killed_is_started_again_by_ray(ray_podium, sturdy):
    pids = app_pids(sturdy)
    os.kill(actor_pid(pids[0]), signal.SIGKILL)
    took = back_after(ray_podium, sturdy, pids)
    print(f"actor kill -9: answering again after {took:.1f} s")
    assert "died; Ray started the space again on node" in run_log(ray_podium, sturdy)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]  # the old app died with its actor


def test_podium_restarted_adopts_the_space_and_restarts_nothing(ray_podium, sturdy, start_podium):
    pids = app_pids(sturdy)
    ray_podium.stop()
    assert app_pids(sturdy) == pids  # it runs on without Podium
    again = start_podium(like=ray_podium, shared=True)  # the package's other modules use it too
    assert again.wait_for_stage(sturdy, timeout=60)["stage"] == "RUNNING"
    assert httpx.get(f"{again.spaces_url}/apps/{sturdy}/", timeout=30).status_code == 200
    assert app_pids(sturdy) == pids
    ray_podium.process = again.process  # the module's later stories use the restarted one


def test_a_worker_lost_moves_the_space_to_the_other_worker(ray_podium, sturdy, ray_cluster: RayTestCluster):
    """/data follows: the nodes share the folder PODIUM_RAY_DATA_DIR names (here one filesystem)."""
    lost, pids = node_of(ray_podium, sturdy), app_pids(sturdy)
    Client(f"{ray_podium.spaces_url}/apps/{sturdy}/", verbose=False).predict(f"written on {lost}", api_name="/keep")
    os.kill(ray_cluster.raylet_pid(lost), signal.SIGKILL)
    try:
        took = back_after(ray_podium, sturdy, pids)
        print(f"raylet of {lost} kill -9: answering again from another node after {took:.1f} s")
        assert node_of(ray_podium, sturdy) != lost
        said = run_log(ray_podium, sturdy)
        assert f"node {lost} was lost" in said, said[-2000:]
        assert ray_podium.api().get_space_runtime(sturdy).stage == "RUNNING"
        client = Client(f"{ray_podium.spaces_url}/apps/{sturdy}/", verbose=False)
        assert client.predict("", api_name="/keep") == f"written on {lost}\n"
    finally:
        ray_cluster.restart_node(lost)  # for the stories after this one
