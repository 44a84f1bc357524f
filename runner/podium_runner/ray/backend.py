"""`RayBackend`: each space instance a detached, named Ray actor (actor.py) that Ray places on a node with the
space's CPUs, memory and GPUs, and starts again elsewhere when the actor or its node dies.

Podium reaches the cluster as a Ray Client (`ray://head:10001`) or as a driver on a Ray node of its own
(`head:6379`), with the cluster's token. It watches every instance once a second (`SpaceActor.report`):
it forwards the app's log lines, follows the address the actor reports (the proxy reads `Instance.url`
on every request, so traffic follows a space to its new node), and tells the platform through the
backend's notices what happened meanwhile (waiting for a free GPU, a node lost, the app restarted).

The actor's name is the instance's identity. Ray keeps at most one live actor per name in the cluster,
so `podium serve` restarted finds every instance again by name (`adopt`), and a node cut off by a network
partition cannot keep a second copy: the GCS declares the node dead and starts the actor on another one,
and the cut-off node's raylet, told it is dead once the link is back, exits and takes its actors with it
(their apps die with them, `--die-with-parent`). Podium only ever sends traffic to the address the live
actor reports, so during the cut the old copy answers nobody who comes through Podium.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from podium_runner.backend import (
    Backend,
    BackendUnavailable,
    Environment,
    Exit,
    Instance,
    LogSink,
    LogTail,
    Notice,
    StartError,
)
from podium_runner.hardware import flavor
from podium_runner.plan import BuildPlan, RunContext
from podium_runner.ray.job import NodeFolders, SpaceJob, pack
from podium_runner.ray.resources import actor_options, why_pending
from podium_runner.stages import Stage

logger = logging.getLogger("podium_runner.ray")

NAMESPACE = "podium"
WATCH_INTERVAL_S = 1.0
REPORT_TIMEOUT_S = 3.0
# A Ray Client waits this long for the head's client server (which starts a process per client) and
# reconnects within this grace period: Ray's defaults (5 s, 30 s) give up on a busy head.
CLIENT_PATIENCE = {
    "RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S": "15",
    "RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S": "30",
    "RAY_CLIENT_RECONNECT_GRACE_PERIOD": "120",
}


class NodeBuildError(StartError):
    """The space's environment could not be built on the node Ray chose."""

    stage = Stage.BUILD_ERROR


@dataclass(frozen=True)
class RayDetails:
    actor: str  # its name in the `podium` namespace
    node_ip: str = ""
    incarnation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"actor": self.actor, "node_ip": self.node_ip, "incarnation": self.incarnation}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> RayDetails:
        return cls(actor=state["actor"], node_ip=state.get("node_ip", ""), incarnation=state.get("incarnation", ""))


@dataclass
class _Watched:
    """What Podium keeps of an instance between two reports."""

    handle: Any
    instance: Instance
    written: int = 0  # log lines forwarded
    incarnation: str = ""
    node_ip: str = ""
    said: str | None = None  # the last notice, so each is given once
    exit: Exit | None = None
    task: asyncio.Task[None] | None = None


def _ray() -> Any:
    import ray  # imported on first use: Podium without the `ray` extra never needs it

    return ray


class RayBackend(Backend):
    name: ClassVar[str] = "ray"
    schedules_gpus: ClassVar[bool] = True

    def __init__(
        self,
        address: str,
        folders: NodeFolders,
        *,
        token: str | None = None,
        refused_networks: tuple[str, ...] = (),
        logical_gpus: bool = False,
        gpu_fraction: float | None = None,
    ):
        self.address = address
        self.folders = folders
        self.token = token
        self.refused_networks = refused_networks
        self.logical_gpus = logical_gpus
        self.gpu_fraction = gpu_fraction
        self._watched: dict[str, _Watched] = {}
        self._connect_lock = threading.Lock()
        self._notice: Notice = lambda *_: None

    def watch_notices(self, notice: Notice) -> None:
        self._notice = notice

    # -- the cluster ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.token:  # before Ray is imported: it reads them once
            os.environ["RAY_AUTH_MODE"], os.environ["RAY_AUTH_TOKEN"] = "token", self.token
        for variable, seconds in CLIENT_PATIENCE.items():
            os.environ.setdefault(variable, seconds)
        ray = _ray()
        with self._connect_lock:
            if not ray.is_initialized():
                try:
                    ray.init(address=self.address, namespace=NAMESPACE, logging_level=logging.WARNING)
                except Exception as exc:  # Ray raises ConnectionError, RuntimeError and its own kinds
                    raise BackendUnavailable(
                        f"the Ray cluster at {self.address} cannot be reached ({exc}); check PODIUM_RAY_ADDRESS, "
                        f"the token (PODIUM_RAY_TOKEN) and that the head node runs"
                    ) from None
        return ray

    async def _call(self, method: Any, *args: Any, timeout: float = REPORT_TIMEOUT_S) -> Any:
        def call() -> Any:
            ray = self._connect()
            return ray.get(method.remote(*args), timeout=timeout)

        return await asyncio.to_thread(call)

    def _alive_nodes(self) -> list[dict[str, Any]]:
        return [node for node in self._connect().nodes() if node.get("Alive")]

    # -- the Backend interface -----------------------------------------------------------------

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        """Nothing here: the environment is built on the node Ray places the space on (it is not known yet),
        and again on each node it moves to, from that node's own uv cache."""
        self.check(plan)
        log("The environment is built on the Ray node that runs the space (per-node uv cache)")
        return Environment(backend=self.name, key=plan.build_key, location="on the node that runs it")

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        from podium_runner.ray.actor import SpaceActor

        ray = await asyncio.to_thread(self._connect)
        name = f"{ctx.space_id}@{time.time_ns() // 1_000_000}"
        options = actor_options(flavor(ctx.hardware), self.gpu_fraction)
        nodes = await asyncio.to_thread(self._alive_nodes)
        # Podium's own node (when it is one, not a Ray Client) must stay reachable: its proxy's requests come
        # from there, and the app's replies would be refused with the other nodes' traffic.
        own_address = await asyncio.to_thread(ray.util.get_node_ip_address)
        job = SpaceJob(
            name=name,
            plan=plan,
            files=await asyncio.to_thread(pack, plan.space_root),
            context=ctx,
            folders=self.folders,
            refused=tuple(sorted({node["NodeManagerAddress"] for node in nodes} - {own_address}))
            + self.refused_networks,
            logical_gpus=self.logical_gpus,
        )
        actor_class = ray.remote(SpaceActor)
        handle = await asyncio.to_thread(
            lambda: actor_class.options(
                name=name,
                namespace=NAMESPACE,
                lifetime="detached",
                max_restarts=-1,
                max_task_retries=-1,
                max_concurrency=4,
                **options,
            ).remote(job)
        )
        instance = Instance(
            backend=self.name,
            instance_id=name,
            space_id=ctx.space_id,
            url="",
            details=RayDetails(actor=name),
            logs=LogTail(log),
        )
        watched = _Watched(handle, instance)
        self._watched[name] = watched
        try:
            await self._until_running(watched, options)
        except BaseException:
            await self._kill(watched)
            raise
        watched.task = asyncio.get_running_loop().create_task(self._watch(watched))
        return instance

    async def _until_running(self, watched: _Watched, options: dict[str, Any]) -> None:
        """Wait until the actor is placed and its app answers; say why meanwhile (a placement that waits
        for a free GPU waits as long as it takes)."""
        ray = _ray()
        space_id = watched.instance.space_id
        while True:
            try:
                report = await self._call(watched.handle.report, watched.written, watched.incarnation, timeout=1.0)
            except ray.exceptions.GetTimeoutError:
                total, free = await asyncio.to_thread(lambda: (ray.cluster_resources(), ray.available_resources()))
                self._say(watched, None, why_pending(options, total, free))
                continue
            self._take(watched, report)
            if report["phase"] == "failed":
                error = f"{space_id}: {report['error']}"
                raise (NodeBuildError if report["stage"] == Stage.BUILD_ERROR else StartError)(error)
            if report["phase"] == "running":
                self._say(watched, None, None)
                return
            if watched.said and watched.said.startswith("waiting for Ray"):
                self._say(watched, None, f"placed on node {report['node_ip']}: building and starting the app")
            await asyncio.sleep(0.5)

    def _take(self, watched: _Watched, report: dict[str, Any]) -> None:
        """Forward new log lines and follow the address the actor reports."""
        for line in report["lines"]:
            watched.instance.logs(line)
        watched.written = report["written"]
        watched.node_ip, watched.incarnation = report["node_ip"], report["incarnation"]
        if report["phase"] == "running" and report["url"]:
            watched.instance.url = report["url"]
            watched.instance.gpu_ids = tuple(report["gpu_ids"])
            watched.instance.details = RayDetails(
                watched.instance.instance_id, report["node_ip"], report["incarnation"]
            )

    def _say(self, watched: _Watched, stage: Stage | None, message: str | None) -> None:
        if message != watched.said:
            watched.said = message
            if message:
                watched.instance.logs(f"podium: {message}")
            self._notice(watched.instance.space_id, stage, message)

    async def _watch(self, watched: _Watched) -> None:
        """Every second: the actor's report. A report that does not come means the actor (or its node) is
        gone and Ray is starting it again; the next report from a new incarnation says where."""
        ray = _ray()
        while watched.exit is None:
            await asyncio.sleep(WATCH_INTERVAL_S)
            before = (watched.incarnation, watched.node_ip)
            try:
                report = await self._call(watched.handle.report, watched.written, watched.incarnation)
            except ray.exceptions.GetTimeoutError:
                self._say(watched, Stage.APP_STARTING, await self._why_gone(watched))
                continue
            except ray.exceptions.RayActorError as exc:
                if await self._exists(watched.instance.instance_id):
                    self._say(watched, Stage.APP_STARTING, await self._why_gone(watched))
                    continue
                watched.exit = Exit(None, f"its Ray actor is gone for good ({str(exc).splitlines()[0]})")
                return
            self._take(watched, report)
            phase = report["phase"]
            if phase == "failed":
                watched.exit = Exit(None, report["error"])
                return
            where = report["node_ip"]
            restarted = before[0] and report["incarnation"] != before[0]
            cause = await self._cause(before[1]) if restarted else ""
            if phase == "running":
                if restarted:  # also when it came back between two reports
                    watched.instance.logs(f"podium: {cause}; Ray started the space again on node {where}")
                if watched.said is not None:
                    watched.instance.logs(f"podium: running again on node {where}")
                    self._say(watched, Stage.RUNNING, None)
            elif phase == "restarting" and report["app_exits"]:
                reason = report["app_exits"][-1][1]
                self._say(watched, Stage.APP_STARTING, f"the app exited ({reason}); starting it again on node {where}")
            elif restarted:
                self._say(watched, Stage.APP_STARTING, f"{cause}; Ray started the space again on node {where}")

    async def _cause(self, node_ip: str) -> str:
        """Why an actor that ran on `node_ip` had to be started again: its node was lost, or it died."""
        try:
            nodes = await asyncio.to_thread(lambda: self._connect().nodes())
        except Exception:  # the cluster does not answer: say what is known
            return f"its actor on node {node_ip} stopped"
        alive = {node["NodeManagerAddress"] for node in nodes if node.get("Alive")}
        return f"its actor on node {node_ip} died" if node_ip in alive else f"node {node_ip} was lost"

    async def _why_gone(self, watched: _Watched) -> str:
        """In words: why the actor does not answer, from what Ray knows of its last node."""
        node_ip = watched.node_ip
        try:
            nodes = await asyncio.to_thread(lambda: self._connect().nodes())
        except Exception:  # the cluster itself does not answer: that is the news
            return f"the Ray cluster at {self.address} does not answer; the space runs on if its node does"
        alive = {node["NodeManagerAddress"] for node in nodes if node.get("Alive")}
        if node_ip and node_ip not in alive:
            return f"node {node_ip} was lost; Ray is starting the space again on a healthy node"
        return f"its actor on node {node_ip or '?'} does not answer (it died, or its node is cut off); Ray restarts it"

    async def _exists(self, name: str) -> bool:
        ray = _ray()

        def lookup() -> bool:
            try:
                self._connect().get_actor(name, namespace=NAMESPACE)
            except ValueError:
                return False
            return True

        with contextlib.suppress(ray.exceptions.RaySystemError):
            return await asyncio.to_thread(lookup)
        return False

    async def poll(self, instance: Instance) -> Exit | None:
        watched = self._watched.get(instance.instance_id)
        return watched.exit if watched else Exit(None, "not watched by this Podium")

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        watched = self._watched.pop(instance.instance_id, None)
        if watched is None:
            return
        if watched.task is not None:
            watched.task.cancel()
        ray = _ray()
        with contextlib.suppress(ray.exceptions.RayError, TimeoutError):
            await self._call(watched.handle.stop, timeout, timeout=timeout + 20)
        await self._kill(watched)

    async def _kill(self, watched: _Watched) -> None:
        self._watched.pop(watched.instance.instance_id, None)
        with contextlib.suppress(Exception):  # gone already is as good
            await asyncio.to_thread(lambda: _ray().kill(watched.handle, no_restart=True))

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        """The instance by its actor's name, wherever Ray runs it now; None when no actor has that name."""
        details = RayDetails.from_dict(state)
        ray = await asyncio.to_thread(self._connect)
        try:
            handle = await asyncio.to_thread(ray.get_actor, details.actor, NAMESPACE)
        except ValueError:
            return None
        instance = Instance(
            backend=self.name,
            instance_id=state["instance_id"],
            space_id=state["space_id"],
            url=state.get("url", ""),
            gpu_ids=tuple(state.get("gpu_ids") or ()),
            details=details,
            logs=LogTail(log),
        )
        watched = _Watched(handle, instance)
        try:
            report = await self._call(handle.report, 0, timeout=30)
        except ray.exceptions.RayError as exc:
            logger.warning("%s: its actor %s does not answer (%s)", instance.space_id, details.actor, exc)
            return None
        if report["phase"] == "failed":
            await self._kill(watched)
            return None
        watched.written = report["written"]  # the run log has the lines before the restart
        report["lines"] = []
        self._take(watched, report)
        self._watched[instance.instance_id] = watched
        watched.task = asyncio.get_running_loop().create_task(self._watch(watched))
        return instance

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        ray = await asyncio.to_thread(self._connect)
        named = await asyncio.to_thread(ray.util.list_named_actors, True)
        return [
            {
                "backend": self.name,
                "instance_id": entry["name"],
                "space_id": entry["name"].rsplit("@", 1)[0],
                "url": "",
                "actor": entry["name"],
            }
            for entry in named
            if entry["namespace"] == NAMESPACE and entry["name"] not in known and entry["name"] not in self._watched
        ]

    async def cluster_status(self) -> dict[str, Any]:
        """The nodes with their resources and the spaces each runs (`podium cluster status`)."""
        ray = await asyncio.to_thread(self._connect)
        nodes, total, free = await asyncio.to_thread(
            lambda: (ray.nodes(), ray.cluster_resources(), ray.available_resources())
        )
        spaces = [
            {
                "space_id": w.instance.space_id,
                "actor": w.instance.instance_id,
                "node_ip": w.node_ip,
                "url": w.instance.url,
                "gpu_ids": list(w.instance.gpu_ids),
                "note": w.said,
            }
            for w in self._watched.values()
        ]
        return {
            "address": self.address,
            "nodes": [
                {
                    "node_ip": node["NodeManagerAddress"],
                    "node_id": node["NodeID"],
                    "alive": bool(node.get("Alive")),
                    "resources": {k: v for k, v in node.get("Resources", {}).items() if not k.startswith("node:")},
                }
                for node in nodes
            ],
            "total": {k: v for k, v in total.items() if not k.startswith("node:")},
            "free": {k: v for k, v in free.items() if not k.startswith("node:")},
            "spaces": spaces,
        }

    async def close(self) -> None:
        for watched in self._watched.values():
            if watched.task is not None:
                watched.task.cancel()
