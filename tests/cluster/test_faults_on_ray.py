"""Things break on a cluster: the app is killed, its actor is killed, its node's raylet dies, `podium serve`
restarts, its node is cut off from the cluster and comes back. Each time the space comes back by itself (on
a healthy node when its own is gone), the proxy follows it, the run log says what happened, a restart of
Podium restarts nothing, and once a cut heals only one copy is left."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.cluster.faults import actor_pid, answers, app_cgroups, app_pids, back_after, node_of, placement, run_log
from tests.cluster.ray_cluster import RayTestCluster
from tests.cluster.spaces import OWNER

pytest.importorskip("ray", reason="the cluster tests need Ray: pip install 'podium[ray]'")
pytestmark = pytest.mark.slow

SPACE = f"{OWNER}/sturdy"
GONE_WITHIN_S = 60  # after a cut heals, until the cut-off copy is gone (seconds on a quiet machine, printed)


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


def test_the_actor_killed_is_started_again_by_ray(ray_podium, sturdy, ray_env):
    """The new actor frees what the killed one left on this machine: its instance folder, the app's cgroups."""
    pids = app_pids(sturdy)
    instances = Path(ray_env["PODIUM_RAY_NODE_HOME"]) / "instances" / OWNER
    folders, cgroups = list(instances.glob("sturdy@*")), app_cgroups(pids[0])
    assert folders and cgroups
    os.kill(actor_pid(pids[0]), signal.SIGKILL)
    took = back_after(ray_podium, sturdy, pids)
    print(f"actor kill -9: answering again after {took:.1f} s")
    assert "died; Ray started the space again on node" in run_log(ray_podium, sturdy)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]  # the old app died with its actor
    assert not [folder for folder in folders if folder.exists()], list(instances.iterdir())
    assert not [group for group in cgroups if group.exists()]
    assert list(instances.glob("sturdy@*"))  # the new actor's


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


def test_a_healed_partition_leaves_one_copy_answering(ray_podium, sturdy, ray_cluster: RayTestCluster):
    """The space's node is cut off from the cluster and from Podium; the head declares it dead within seconds
    (health checks 1 s x 3) and Ray starts the actor on the other worker, where the proxy finds it. The cut-off
    copy runs on, unaware, until the link is back: then its raylet learns it was declared dead and exits, and
    the copy goes with it, while the space answers on from the other worker."""
    cut_off, pids, old_url = node_of(ray_podium, sturdy), app_pids(sturdy), placement(ray_podium, sturdy)["url"]
    ray_cluster.cut(cut_off)
    try:
        try:
            moved = back_after(ray_podium, sturdy, pids, old_gone=False)
            now = placement(ray_podium, sturdy)
            assert now["node_ip"] != cut_off and now["url"] != old_url, now
            assert all(Path(f"/proc/{pid}").exists() for pid in pids)  # two copies: the cut one runs on
        finally:
            ray_cluster.heal(cut_off)
        healed = time.monotonic()
        while (old := _still_there(pids, old_url)) and time.monotonic() - healed < GONE_WITHIN_S:
            assert answers(ray_podium, sturdy) and placement(ray_podium, sturdy)["url"] == now["url"]
            time.sleep(0.25)
        gone = time.monotonic() - healed
        assert not old, f"{GONE_WITHIN_S} s after the cut healed the old copy on {cut_off} is still there: {old}"
        try:
            raylet = f"its raylet {ray_cluster.raylet_pid(cut_off)} runs on"
        except LookupError:
            raylet = "its raylet exited"
        print(f"{cut_off} cut off: answering from {now['node_ip']} after {moved:.1f} s")
        print(f"the link back: the cut-off copy gone after {gone:.1f} s ({raylet})")
        assert answers(ray_podium, sturdy) and placement(ray_podium, sturdy)["url"] == now["url"]
    finally:
        ray_cluster.restart_node(cut_off)  # its raylet exited (or is stale): the later tests need both workers


def _still_there(pids: list[int], url: str) -> str:
    """What is left of a copy of the space: its app's processes, or an answer at its address ("" when none)."""
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    if alive:
        return f"its app processes {alive}"
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return ""
    return f"an answer at {url}"
