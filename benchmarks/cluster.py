"""Spaces on a Ray cluster against the process backend, measured from outside through Podium's API and proxy.

Starts the cluster tests' cluster on this machine (a head and two workers, each a Ray node in a network
namespace of its own: tests/cluster/ray_cluster.py), one `podium serve` with the process backend and one
with the ray backend, and prints in one run:
- push to RUNNING of the same Gradio space (its environment warm on both);
- after `kill -9` of the app, of its actor and of its worker's raylet, seconds until it answers again;
- requests per second through the proxy to the space on another node (ray) and on this host (process).

    .venv/bin/python -m benchmarks.cluster          (as root; about 5 minutes)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podium_runner.plan import make_plan  # noqa: E402
from podium_runner.process import ProcessBackend  # noqa: E402
from podium_runner.spec import load_spec  # noqa: E402

from tests.cluster.faults import actor_pid, app_pids, back_after, node_of  # noqa: E402
from tests.cluster.ray_cluster import RayTestCluster  # noqa: E402
from tests.cluster.spaces import inspector_space  # noqa: E402
from tests.support import podium_server  # noqa: E402
from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import TEST_CACHE, free_port, shared_folders  # noqa: E402

OWNER = "bench"
REQUESTS = 300
THREADS = 8


def push(server: PodiumServer, space: str, folder: Path) -> float:
    api = server.api()
    api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
    started = time.perf_counter()
    api.upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    runtime = server.wait_for_stage(space, timeout=600)
    if runtime["stage"] != "RUNNING":
        sys.exit(f"{space} ended in {runtime['stage']}: {runtime['errorMessage']}")
    return time.perf_counter() - started


def throughput(server: PodiumServer, space: str) -> float:
    """Requests per second for Gradio's /config through the proxy, `THREADS` clients at once."""
    url = f"{server.spaces_url}/apps/{space}/config"

    def client(count: int) -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(count):
                http.get(url).raise_for_status()

    client(5)  # connections and the app's first answers warm
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(client, [REQUESTS // THREADS] * THREADS))
    return (REQUESTS // THREADS * THREADS) / (time.perf_counter() - started)


def main() -> None:
    podium_server.START_TIMEOUT_S = 180  # the ray backend's Podium answers once its Ray Client connected
    root = Path(tempfile.mkdtemp(prefix="podium-bench-cluster-"))
    folder = inspector_space(root / "inspector")
    warm = ProcessBackend(shared_folders(root / "warm"))
    asyncio.run(warm.prepare(make_plan(load_spec(folder)), lambda _line: None, space_id=f"{OWNER}/warm"))
    cluster = RayTestCluster(Path("/tmp/pdmc"))
    started = time.perf_counter()
    cluster.up()
    print(f"cluster up (head + 2 workers): {time.perf_counter() - started:.1f} s", flush=True)
    ray_env = {
        "PODIUM_BACKEND": "ray",
        "PODIUM_RAY_ADDRESS": cluster.client_address,
        "PODIUM_RAY_TOKEN": cluster.token,
        "PODIUM_RAY_NODE_HOME": str(root / "nodes"),
        "PODIUM_RAY_DATA_DIR": str(root / "nodes-data"),
        "PODIUM_RAY_ENVIRONMENTS_DIR": str(TEST_CACHE),
    }
    servers = {
        "process": PodiumServer(root / "process", free_port(), free_port(), {}),
        "ray": PodiumServer(root / "ray", free_port(), free_port(), ray_env),
    }
    rows: list[tuple[str, str, str]] = []
    try:
        for server in servers.values():
            server.start()
        space = f"{OWNER}/inspector"
        to_running = {name: push(server, space, folder) for name, server in servers.items()}
        rows.append(("push to RUNNING (warm env)", f"{to_running['ray']:.1f} s", f"{to_running['process']:.1f} s"))
        rates = {name: throughput(server, space) for name, server in servers.items()}
        rows.append((f"proxy /config, {THREADS} clients", f"{rates['ray']:.0f}/s", f"{rates['process']:.0f}/s"))
        ray = servers["ray"]
        pids = ray_app_pids(space)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        rows.append(("app kill -9: answering again", f"{back_after(ray, space, pids):.1f} s", "no restart"))
        pids = ray_app_pids(space)
        os.kill(actor_pid(pids[0]), signal.SIGKILL)
        rows.append(("actor kill -9: answering again", f"{back_after(ray, space, pids):.1f} s", "-"))
        lost, pids = node_of(ray, space), ray_app_pids(space)
        os.kill(cluster.raylet_pid(lost), signal.SIGKILL)
        took = back_after(ray, space, pids)
        rows.append((f"raylet of {lost} kill -9: answering from {node_of(ray, space)}", f"{took:.1f} s", "-"))
    finally:
        for server in servers.values():
            server.stop()
        cluster.down()
    width = max(len(row[0]) for row in rows)
    print(f"\n{'':<{width}}  {'ray (other node)':>18}  {'process (this host)':>26}")
    for what, on_ray, on_host in rows:
        print(f"{what:<{width}}  {on_ray:>18}  {on_host:>26}")


def ray_app_pids(space: str) -> list[int]:
    """The space's app under a Ray actor (the process backend runs an app of the same name on this host)."""

    def under_ray(pid: int) -> bool:
        try:
            actor_pid(pid)
        except (LookupError, OSError):
            return False
        return True

    return [pid for pid in app_pids(space) if under_ray(pid)]


if __name__ == "__main__":
    main()
