"""One space instance on a Ray node: a detached, named actor that builds the space's environment on its node
and runs the app there exactly as the process backend does (uv environments per owner, the bubblewrap
sandbox, a network namespace of its own, cgroups, /data), since it *is* a process backend on that node.

Ray restarts the actor wherever it can when the actor or its node dies (`max_restarts=-1`); the new
actor builds (or reuses) the environment there and starts the app again from its creation arguments
(`SpaceJob`), with no word from Podium; it first frees what its space's killed actors left on the machine
(instance_folder.py). An app that exits is started again in place by the actor itself, until it exits
`crash_limit` times within `crash_window_s`: then the actor reports the space failed and Podium stops it.
Podium learns all of this from `report`, which it calls every second.

The app never sees anything of Ray's: the process backend builds its environment from a fixed list
(app_environment.py), so the actor's own RAY_* variables (the cluster token among them) stay behind,
and the app's network namespace refuses every Ray node's address (`SpaceJob.refused`).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import shutil
import socket
import threading
import time
from typing import Any

import ray

from podium_runner.backend import BuildError, Environment, Instance, StartError
from podium_runner.health import wait_until_ready
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.process.network import REFUSED_VARIABLE
from podium_runner.ray.instance_folder import RUNS_FOLDER, SPACE_FOLDER, claim, release_ended
from podium_runner.ray.job import SpaceJob, unpack

LOG_LINES = 2000  # what the actor keeps for Podium to fetch; Podium's run log keeps everything


class Phase:
    BUILDING = "building"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # the app exited; the actor starts it again on this node
    FAILED = "failed"  # the actor gave up; `error` and `stage` say why
    STOPPED = "stopped"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SpaceActor:
    def __init__(self, job: SpaceJob):
        context = ray.get_runtime_context()
        self.job = job
        self.node_ip = ray.util.get_node_ip_address()
        self.node_id = context.get_node_id()
        self.incarnation = f"{self.node_id[:12]}-{os.getpid()}"
        self.reconstructed = context.was_current_actor_reconstructed
        self.gpu_ids = tuple(str(int(gpu)) for gpu in ray.get_gpu_ids())
        self.phase = Phase.BUILDING
        self.url: str | None = None
        self.error: str | None = None
        self.stage: str | None = None
        self.app_exits: list[tuple[float, str]] = []
        self._lines: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self._written = 0  # lines ever logged: Podium asks for those after the ones it has
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._instance: Instance | None = None
        self._backend: ProcessBackend | None = None
        self._workdir = job.folders.home / "instances" / f"{job.name}-{self.incarnation}"
        how = "started again by Ray" if self.reconstructed else "placed by Ray"
        self._log(f"podium: {job.context.space_id} {how} on node {self.node_ip} ({self.node_id[:12]})")
        threading.Thread(target=self._main, name="podium-space", daemon=True).start()

    # -- what Podium calls ---------------------------------------------------------------------

    def report(self, since: int = 0, incarnation: str = "") -> dict[str, Any]:
        """Where and how the instance is, and the log lines after the first `since` of `incarnation` (all of
        this incarnation's when the caller last heard from another one)."""
        if incarnation != self.incarnation:
            since = 0
        first = self._written - len(self._lines)
        lines = list(self._lines)[max(since - first, 0) :]
        return {
            "phase": self.phase,
            "url": self.url,
            "node_ip": self.node_ip,
            "node_id": self.node_id,
            "incarnation": self.incarnation,
            "reconstructed": self.reconstructed,
            "gpu_ids": list(self.gpu_ids),
            "error": self.error,
            "stage": self.stage,
            "app_exits": self.app_exits[-5:],
            "lines": lines,
            "written": self._written,
        }

    def app_pid(self) -> int | None:
        """The pid of the app's sandbox on this node (for tests and operators: `kill -9` it to see a crash)."""
        details = self._instance.details if self._instance else None
        return getattr(details, "pid", None)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the app; Podium then kills the actor for good (`ray.kill(no_restart=True)`)."""
        self._stopping.set()
        if self._loop is not None and self._instance is not None and self._backend is not None:
            stopping = asyncio.run_coroutine_threadsafe(self._backend.stop(self._instance, timeout), self._loop)
            stopping.result(timeout + 15)
        self.phase = Phase.STOPPED
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- on the node ---------------------------------------------------------------------------

    def _log(self, line: str) -> None:
        self._lines.append(line)
        self._written += 1

    def _fail(self, stage: str, error: str) -> None:
        self.stage, self.error, self.phase = stage, error, Phase.FAILED
        self._log(f"podium: {error}")

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        job = self.job
        os.environ[REFUSED_VARIABLE] = ",".join(job.refused)  # read by the app's (and build's) network plumbing
        await asyncio.to_thread(claim, self._workdir)
        for freed in await asyncio.to_thread(release_ended, self._workdir, job.context.space_id):
            self._log(f"podium: freed what an ended actor of this space left on this machine ({freed.name})")
        folders = job.folders
        shared = folders.environments or folders.home
        backend = ProcessBackend(
            ProcessFolders(
                environments=shared / "environments",
                uv_cache=shared / "uv-cache",
                data=folders.data,
                runs=self._workdir / RUNS_FOLDER,
            ),
            sandbox="on",
            outlive_caller=False,  # the app dies with its actor, so Ray's restart never leaves two
        )
        self._backend = backend
        space_root = await asyncio.to_thread(unpack, job.files, self._workdir / SPACE_FOLDER)
        plan = dataclasses.replace(job.plan, space_root=space_root)
        try:
            environment = await backend.prepare(plan, self._log, space_id=job.context.space_id)
        except BuildError as exc:
            self._fail("BUILD_ERROR", f"the environment could not be built on node {self.node_ip}: {exc}")
            return
        while not self._stopping.is_set():
            if not await self._run_once(backend, plan, environment):
                return

    async def _run_once(self, backend: ProcessBackend, plan: Any, environment: Environment) -> bool:
        """Start the app and wait until it ends. False when the actor should start it no more."""
        job = self.job
        gpu_ids = () if job.logical_gpus else self.gpu_ids
        variables = dict(job.context.env)
        if job.logical_gpus and self.gpu_ids:
            # What the sandbox would say for real GPUs: the app numbers its own from 0.
            variables["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, range(len(self.gpu_ids))))
        ctx = dataclasses.replace(
            job.context,
            host=self.node_ip,
            port=_free_port(self.node_ip),
            gpu_ids=gpu_ids,
            env=variables,
            model_cache=None,
        )
        self.phase = Phase.STARTING if not self.app_exits else Phase.RESTARTING
        try:
            instance = await backend.start(plan, environment, ctx, self._log)
            self._instance = instance
            health_path = plan.launch(ctx).health_path
            await wait_until_ready(backend, instance, health_path, plan.startup_timeout_s, source="127.0.0.1")
        except StartError as exc:
            self._fail("RUNTIME_ERROR", f"the app did not start on node {self.node_ip}: {exc}")
            return False
        self.url, self.phase = instance.url, Phase.RUNNING
        while (ended := await backend.poll(instance)) is None and not self._stopping.is_set():
            await asyncio.sleep(0.25)
        if ended is None or self._stopping.is_set():
            return False  # stopping: `stop` stops the app
        now = time.time()
        self.app_exits.append((now, ended.reason))
        recent = [at for at, _ in self.app_exits if now - at < job.crash_window_s]
        if len(recent) >= job.crash_limit:
            self._fail(
                "RUNTIME_ERROR",
                f"the app exited {len(recent)} times within {job.crash_window_s:.0f} s, last: {ended.reason}",
            )
            return False
        self._log(f"podium: the app exited ({ended.reason}); starting it again on node {self.node_ip}")
        return True
