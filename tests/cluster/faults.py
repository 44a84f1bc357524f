"""Finding a space's processes on this machine's cluster nodes, and timing its way back after a fault (for
the fault stories and benchmarks/cluster.py)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import httpx

BACK_WITHIN_S = 120  # loose: seconds on a quiet machine (printed), more on a busy one


def app_pids(space_id: str) -> list[int]:
    """The host pids of the space's app (its Python under the sandbox), found by the SPACE_ID it runs with."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and f"SPACE_ID={space_id}\0".encode() in (entry / "environ").read_bytes():
                if b"app.py" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def app_cgroups(app_pid: int) -> list[Path]:
    """The cgroups Podium made for the app (one per controller on cgroup v1, one on v2)."""
    found = []
    for line in Path(f"/proc/{app_pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if path.startswith("/podium/"):
            found.append(Path("/sys/fs/cgroup", controllers, path.lstrip("/")))
    return found


def actor_pid(app_pid: int) -> int:
    """The space's actor: the first `ray::` process above its app."""
    pid = app_pid
    while pid > 1:
        if Path(f"/proc/{pid}/comm").read_text().startswith("ray::"):
            return pid
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    raise LookupError(f"no ray:: process above {app_pid}")


def placement(podium, space_id: str) -> dict:
    """Where Podium runs the space now: its node_ip and the url its proxy sends the space's traffic to."""
    return {s["space_id"]: s for s in podium.http().get("/api/cluster").json()["spaces"]}[space_id]


def node_of(podium, space_id: str) -> str:
    return placement(podium, space_id)["node_ip"]


def answers(podium, space_id: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{podium.spaces_url}/apps/{space_id}/", timeout=5).status_code == 200
    return False


def back_after(podium, space_id: str, old_pids: list[int], *, old_gone: bool = True) -> float:
    """Seconds until the space answers through the proxy while a new app process runs, and (`old_gone`) none
    of `old_pids` does any more (a copy on a node cut off from the cluster runs on until the link heals)."""
    started = time.monotonic()
    while time.monotonic() - started < BACK_WITHIN_S:
        pids = set(app_pids(space_id))  # first: the proxy may wait seconds on a cut-off node
        if pids - set(old_pids) and not (old_gone and pids & set(old_pids)) and answers(podium, space_id):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{space_id} did not answer again within {BACK_WITHIN_S} s")


def run_log(podium, space_id: str) -> str:
    path = podium.data_dir / "logs" / space_id / "run.log"
    return "\n".join(json.loads(line)["data"] for line in path.read_text().splitlines() if line.strip())
