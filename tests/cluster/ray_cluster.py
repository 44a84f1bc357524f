"""A real Ray cluster on this machine for the cluster tests: a head and two workers, each a Ray node in a
network namespace of its own with its own address (ray.md: Ray's services listen on 0.0.0.0, so nodes on
one host need namespaces to be apart), token auth on, logical GPUs on the first worker.

The namespaces hang on a bridge in a namespace of its own; the host reaches them through one veth at
`HOST_ADDRESS`, so the host's own interfaces, routes and firewall are never touched. `podium serve`
runs on the host and reaches the cluster as a Ray Client (`ray://head:10001`), and its proxy reaches the
apps at the worker addresses the space actors report. Everything is torn down by killing the processes
inside these namespaces (never a Ray process elsewhere) and deleting the namespaces.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from podium_runner.process import procs

SUBNET = "10.98.51"
HOST_ADDRESS = f"{SUBNET}.1"
HEAD_ADDRESS = f"{SUBNET}.10"
GCS_PORT = 6379
CLIENT_PORT = 10001
BRIDGE_NS = "pdmc-br"
RAY = Path(sys.executable).with_name("ray")
# Node loss noticed within seconds rather than Ray's default ~17 s (5 health checks 3 s apart).
HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@dataclass(frozen=True)
class Node:
    name: str  # its namespace
    address: str
    ray_args: tuple[str, ...]


def _bridge_port(node: Node) -> str:
    """The node's veth on the bridge (the other end is its eth0)."""
    return f"pdmc-v{node.address.rsplit('.', 1)[1]}"


def network_namespace_of(pid: int) -> str:
    """The network namespace (`net:[inode]`) that `pid`, an `unshare --net` just started, has entered once it has
    (it starts in ours)."""
    deadline = time.monotonic() + 10
    while (namespace := os.readlink(f"/proc/{pid}/ns/net")) == os.readlink("/proc/self/ns/net"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"unshare (pid {pid}) did not enter a new network namespace within 10 s")
        time.sleep(0.01)
    return namespace


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


@dataclass
class RayTestCluster:
    root: Path  # Ray's temp folders (short: Ray's socket paths must fit in 107 bytes)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    nodes_by_name: dict[str, Node] = field(default_factory=dict)
    _holders: dict[str, int] = field(default_factory=dict)  # namespace: the pid holding it open

    @property
    def client_address(self) -> str:
        return f"ray://{HEAD_ADDRESS}:{CLIENT_PORT}"

    @property
    def auth_env(self) -> dict[str, str]:
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def up(self) -> RayTestCluster:
        """The cluster, started once more from scratch if a first try fails (on a busy machine a node may
        miss Ray's start-up deadlines)."""
        for _ in range(2):
            try:
                return self._up()
            except (RuntimeError, subprocess.SubprocessError) as exc:
                print(f"the test cluster did not come up, trying again: {str(exc)[:300]}")
        return self._up()

    def _up(self) -> RayTestCluster:
        self.down()
        self.root.mkdir(parents=True, exist_ok=True)
        self._new_namespace(BRIDGE_NS)
        self._in(BRIDGE_NS, "ip", "link", "add", "br0", "type", "bridge")
        self._in(BRIDGE_NS, "ip", "link", "set", "br0", "up")
        # The host's side: one veth with an address on the subnet, nothing else on the host changes.
        _run("ip", "link", "add", "pdmc-host", "type", "veth", "peer", "name", "pdmc-hostp")
        _run("ip", "link", "set", "pdmc-hostp", "netns", str(self._holders[BRIDGE_NS]))
        _run("ip", "addr", "add", f"{HOST_ADDRESS}/24", "dev", "pdmc-host")
        _run("ip", "link", "set", "pdmc-host", "up")
        self._in(BRIDGE_NS, "ip", "link", "set", "pdmc-hostp", "master", "br0", "up")
        head = ("--head", f"--port={GCS_PORT}", f"--ray-client-server-port={CLIENT_PORT}", "--num-cpus=0")
        self.start_node(Node("pdmc-head", HEAD_ADDRESS, (*head, "--num-gpus=0", "--include-dashboard=false")))
        big = ("--num-cpus=16", f"--memory={128 * 2**30}")  # logical: room for several flavors' memory
        self.start_node(Node("pdmc-w1", f"{SUBNET}.11", (*big, "--num-gpus=2")))
        self.start_node(Node("pdmc-w2", f"{SUBNET}.12", (*big, "--num-gpus=0")))
        return self

    def _new_namespace(self, name: str) -> None:
        """A network namespace held open by a process of its own (`unshare --net sleep`), named by that
        process rather than under /run/netns: other shells' `ip netns` calls may hide those mounts."""
        holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"], start_new_session=True)
        network_namespace_of(holder.pid)
        self._holders[name] = holder.pid
        record = {"inode": os.stat(f"/proc/{holder.pid}/ns/net").st_ino, "holder": holder.pid}
        record["ticks"] = procs.start_ticks(holder.pid)
        (self.root / "namespaces.json").write_text(json.dumps(self._recorded() | {name: record}))

    def _in(self, namespace: str, *argv: str, **options: object) -> subprocess.CompletedProcess[str]:
        """Run `argv` in the namespace (nsenter switches the network alone: the node keeps the host's /sys
        and its cgroups, which `ip netns exec` would hide)."""
        command = ["nsenter", f"--net=/proc/{self._holders[namespace]}/ns/net", *argv]
        if options:
            return subprocess.run(command, capture_output=True, text=True, **options)  # type: ignore[call-overload]
        return _run(*command)

    def start_node(self, node: Node) -> None:
        if node.name not in self.nodes_by_name:
            port = _bridge_port(node)
            self._new_namespace(node.name)
            holder = str(self._holders[node.name])
            _run("ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", holder)
            _run("ip", "link", "set", port, "netns", str(self._holders[BRIDGE_NS]))
            self._in(BRIDGE_NS, "ip", "link", "set", port, "master", "br0", "up")
            self._in(node.name, "ip", "addr", "add", f"{node.address}/24", "dev", "eth0")
            self._in(node.name, "ip", "link", "set", "eth0", "up")
            self._in(node.name, "ip", "link", "set", "lo", "up")
        temp = self.root / node.name.removeprefix("pdmc-")
        temp.mkdir(parents=True, exist_ok=True)
        (temp / "ray_current_cluster").unlink(missing_ok=True)  # ray.md: else a restarted head refuses
        join = () if "--head" in node.ray_args else (f"--address={HEAD_ADDRESS}:{GCS_PORT}",)
        result = self._in(
            node.name, str(RAY), "start", *join, *node.ray_args, f"--node-ip-address={node.address}",
            f"--temp-dir={temp}", "--object-store-memory=80000000", "--disable-usage-stats",
            env={**os.environ, **self.auth_env, **HEALTH_CHECKS}, timeout=90,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"ray start in {node.name} failed:\n{result.stdout}\n{result.stderr}")
        self.nodes_by_name[node.name] = node

    def node(self, address: str) -> Node:
        return next(node for node in self.nodes_by_name.values() if node.address == address)

    def pids(self, namespace: str) -> list[int]:
        """The processes in the namespace, found by its inode (also those of an earlier run's namespaces),
        while the process holding it open lives. Once that is gone the namespace may be freed, and the kernel
        gives its inode number to the next new namespace at once (a Docker build step's, a sandboxed app's):
        their processes are not the cluster's, and killing them broke other tests' builds."""
        record = self._recorded().get(namespace)
        if record is None or not procs.is_same_process(record["holder"], record["ticks"]):
            return []
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if entry.name.isdigit() and os.readlink(entry / "ns" / "net") == f"net:[{record['inode']}]":
                    found.append(int(entry.name))
        return found

    def _recorded(self) -> dict[str, dict[str, int]]:
        """Each namespace made (this run's or an earlier one's): its inode, and its holder's pid and start."""
        path = self.root / "namespaces.json"
        recorded = json.loads(path.read_text()) if path.exists() else {}
        return {name: record for name, record in recorded.items() if isinstance(record, dict)}  # not an old form

    def raylet_pid(self, address: str) -> int:
        for pid in self.pids(self.node(address).name):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "raylet":
                    return pid
        raise LookupError(f"no raylet runs in {self.node(address).name}")

    def restart_node(self, address: str) -> None:
        """The node's Ray processes killed (those left), then the node started again in its namespace."""
        node = self.node(address)
        for _ in range(3):
            for pid in self.pids(node.name):
                if pid != self._holders[node.name]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        self.start_node(node)

    def cut(self, address: str) -> None:
        """Cut the node off from the other nodes and the host: its port on the bridge goes down (in the
        bridge's namespace), so nothing crosses either way while the node and its processes run on."""
        self._in(BRIDGE_NS, "ip", "link", "set", _bridge_port(self.node(address)), "down")

    def heal(self, address: str) -> None:
        """The node's port on the bridge up again: the link the cut took is back."""
        self._in(BRIDGE_NS, "ip", "link", "set", _bridge_port(self.node(address)), "up")

    def ray_ports(self, address: str) -> list[int]:
        """The TCP ports Ray's processes listen on in the node's namespace (GCS, raylet, object manager,
        client server, metrics and agents)."""
        listing = self._in(self.node(address).name, "ss", "-Hltn").stdout
        return sorted({int(line.split()[3].rsplit(":", 1)[1]) for line in listing.splitlines() if line.strip()})

    def keep_logs(self, target: Path) -> None:
        """Copy every node's Ray logs to `target` (before `down`), to read after a failed run."""
        for node in self.root.glob("*/session_latest/logs"):
            shutil.copytree(node, target / node.parents[1].name, dirs_exist_ok=True, ignore_dangling_symlinks=True)

    def down(self) -> None:
        """Kill every process in the namespaces, their holders last, which ends the namespaces (pids says why
        not before)."""
        for namespace, record in self._recorded().items():
            for _ in range(3):  # processes that forked meanwhile are caught by the next round
                for pid in self.pids(namespace):
                    if pid != record["holder"]:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
            if procs.is_same_process(record["holder"], record["ticks"]):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(record["holder"], signal.SIGKILL)
        _run("ip", "link", "delete", "pdmc-host", check=False)
        self.nodes_by_name.clear()
        self._holders.clear()
        shutil.rmtree(self.root, ignore_errors=True)
