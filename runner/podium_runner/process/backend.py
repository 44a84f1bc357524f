"""`ProcessBackend`: spaces as sandboxed child processes in shared uv virtualenvs. No Docker needed.

Longer than most modules because it is where the parts of one process instance meet, in the order they
must happen: the owner's environment store, the sandbox's launch (cold or warm), its network, cgroups
and /data volume, following its log, and adopting or stopping what an earlier caller left. Each part
lives in its own module beside it; this one only puts them in order."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from podium_runner.backend import Backend, Environment, Exit, Instance, LogSink, LogTail, StartError
from podium_runner.hardware import flavor
from podium_runner.plan import BuildPlan, RunContext
from podium_runner.process import procs, seccomp
from podium_runner.process.cgroups import DEFAULT_LIMITS, CgroupSet, Limits, cgroups_available, remove_leftovers
from podium_runner.process.data_volume import DataVolumes, hand_over, loop_unavailable_reason
from podium_runner.process.ended import describe_exit, release, remove_run, still_runs, sweep
from podium_runner.process.environments import BUILD_GROUP_PREFIX
from podium_runner.process.instance_state import STATE_FILE, details_of, instance_from
from podium_runner.process.launch import launch_app
from podium_runner.process.logfile import follow, last_lines
from podium_runner.process.network import network_unavailable_reason
from podium_runner.process.owners import OwnerStores
from podium_runner.process.reload_port import hold_reload_port
from podium_runner.process.sandbox import OLDER_SPACE_UIDS, sandbox_unavailable_reason, space_uid
from podium_runner.process.warm_starter import (
    WARM_GROUP_PREFIX,
    WarmHandoff,
    WarmStarters,
    WarmStartFailed,
    app_argv,
    holder_interpreter,
)
from podium_runner.spec import PACKAGES, SpaceConfigError

logger = logging.getLogger("podium_runner.process")

SandboxMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class ProcessFolders:
    """Where the backend keeps things. Environments and the uv cache must share a filesystem."""

    environments: Path  # one folder per owner; sandboxed, each holds that owner's own uv cache
    uv_cache: Path  # the cache of unsandboxed builds, which run as Podium's user
    data: Path  # one persistent /data folder per space
    runs: Path  # one folder per instance: its log file and its state

    @classmethod
    def under(cls, home: Path) -> ProcessFolders:
        return cls(home / "environments", home / "uv-cache", home / "data", home / "runs")


def _installed_on_host(package: str) -> bool:
    name = re.split(r"[=<>:]", package, maxsplit=1)[0]
    try:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
    except FileNotFoundError:
        return False
    return result.stdout.strip() == "install ok installed"


def _slug(space_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "--", space_id)


class ProcessBackend(Backend):
    name: ClassVar[str] = "process"

    def __init__(
        self,
        folders: ProcessFolders,
        *,
        sandbox: SandboxMode = "auto",
        limits: Limits | None = DEFAULT_LIMITS,
        outlive_caller: bool = False,
        allow_python_downloads: bool = False,
        data_size_gb: float | None = None,
        warm_starts: bool = False,
        warm_memory_mb: int | None = 4096,
    ):
        """`sandbox="on"` fails here when bubblewrap cannot be used; "auto" falls back to plain child
        processes with one warning. `outlive_caller=True` lets apps keep running when the caller exits,
        so a restarted caller can `adopt` them; otherwise they die with it. `data_size_gb` sizes every
        space's /data; None: its hardware flavor's size. `warm_starts` forks apps from a warm starter of
        their environment (warm_starter.py), each held to `warm_memory_mb`."""
        reason = sandbox_unavailable_reason()
        network_reason = network_unavailable_reason()
        # The seccomp filter (seccomp.py) and the sized /data (data_volume.py) narrow a sandboxed app.
        filter_reason = seccomp.unavailable_reason() if sandbox != "off" else None
        volume_reason = loop_unavailable_reason() if sandbox != "off" else None
        missing = reason or network_reason or filter_reason or volume_reason
        if sandbox == "on" and missing:
            raise ValueError(f"the process backend cannot sandbox apps: {missing}. Install it, or run with sandbox off")
        self.folders = folders
        self.sandboxed = sandbox != "off" and reason is None
        self.network_isolated = self.sandboxed and network_reason is None
        self._shared_network_reason = network_reason
        # Apps on the host's network must not put Gradio's reload server there (reload_port.py says why).
        self._reload_port_hold = None if self.network_isolated else hold_reload_port()
        self.kernel_filtered = self.sandboxed and filter_reason is None
        self.data_volumes = DataVolumes(folders.data) if self.sandboxed and volume_reason is None else None
        self.data_size_gb = data_size_gb
        self._mounted: set[str] = set()  # the volumes this backend mounted or found mounted
        self._narrowing_reasons = (filter_reason, volume_reason)
        self.limits = limits if limits and cgroups_available() else None
        self.outlive_caller = outlive_caller
        self.environments = OwnerStores(
            folders.environments,
            folders.uv_cache,
            sandboxed=self.sandboxed,
            allow_python_downloads=allow_python_downloads,
        )
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._exits: dict[str, Exit] = {}
        self._starting: set[str] = set()  # instances whose run folder has no saved state yet
        # What close() thaws: cgroup v1's freezer keeps even the SIGKILL an app gets when its caller exits
        # pending, so a frozen app would outlive a caller it should die with.
        self._frozen: dict[str, CgroupSet] = {}
        self._warned = False
        self._unsandboxed_reason = "sandbox turned off" if sandbox == "off" else reason
        self.warm_starts = warm_starts
        self.warm = WarmStarters(folders.runs.parent / "warm-starters", warm_memory_mb)
        if removed := remove_leftovers((BUILD_GROUP_PREFIX, WARM_GROUP_PREFIX)):
            logger.info("removed the cgroups of %d build steps and warm starters a killed Podium left", removed)
        self._warm_refused: dict[Path, str] = {}  # environments whose starter could not start, and why
        self._environment_of: dict[str, Path] = {}  # instance id -> the environment it started from

    def check(self, plan: BuildPlan) -> None:
        super().check(plan)
        name = plan.space_root.name
        for package in plan.system_packages:
            if not _installed_on_host(package):
                raise SpaceConfigError(
                    f"{package} is not installed on this host, so {name} needs the docker backend (which "
                    f"installs packages.txt), or install it on the host: apt-get install {package}",
                    file=PACKAGES,
                    key=package,
                )

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        self.check(plan)
        assert plan.deps is not None  # check() refused the recipes without a Python environment
        store = self.environments.for_space(space_id)
        return await store.ensure(plan.deps, plan.space_root, log, rebuild=rebuild)

    def _warn_once(self, log: LogSink) -> None:
        if self._warned:
            return
        self._warned = True
        problems = []
        if not self.sandboxed:
            problems.append(
                f"apps run as plain child processes with this user's rights, not sandboxed ({self._unsandboxed_reason})"
            )
        elif not self.network_isolated:
            problems.append(
                f"apps share the host's network: they reach its loopback services, Podium's ports and each "
                f"other ({self._shared_network_reason})"
            )
        if self.sandboxed and not self.kernel_filtered:
            problems.append(f"apps may make every kernel call ({self._narrowing_reasons[0]})")
        if self.sandboxed and self.data_volumes is None:
            problems.append(
                f"a space's /data has no size limit, so one app can fill Podium's disk ({self._narrowing_reasons[1]})"
            )
        if self.limits is None:
            problems.append("no memory, pids or cpu limits apply (no writable cgroups)")
        if problems:
            message = "WARNING: " + "; ".join(problems) + ". Run only spaces you trust."
            logger.warning(message)
            log(message)

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        self._warn_once(log)
        instance_id = f"{_slug(ctx.space_id)}-{ctx.port}-{time.time_ns() // 1_000_000}"
        self._starting.add(instance_id)
        try:
            return await self._launch(plan, env, ctx, log, instance_id)
        finally:
            self._starting.discard(instance_id)

    async def _launch(
        self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink, instance_id: str
    ) -> Instance:
        run_dir = self.folders.runs / instance_id
        uid = self.space_uid(ctx.space_id) if self.sandboxed else None
        data_dir = await self._data_folder(ctx, log) if self.sandboxed else None
        if data_dir is not None and uid is not None and data_dir.exists() and data_dir.stat().st_uid != uid:
            # Not started since Podium gave each owner a block of uids: its files may have the older uid.
            await asyncio.to_thread(hand_over, data_dir, OLDER_SPACE_UIDS, uid)
        warm = await self._warm_handoff(plan, env, ctx, uid, log) if self.warm_starts else None
        while True:
            run_dir.mkdir(parents=True)
            try:
                child, details = await launch_app(
                    plan,
                    env,
                    ctx,
                    log,
                    run_dir,
                    data_dir=data_dir,
                    uid=uid,
                    network_isolated=self.network_isolated,
                    kernel_filtered=self.kernel_filtered,
                    outlive_caller=self.outlive_caller,
                    limits=self.limits,
                    warm=warm,
                )
                break
            except WarmStartFailed as exc:
                log(f"cold start: the warm start failed: {exc}")
                warm = None
        self._environment_of[instance_id] = Path(env.location).resolve()
        self._children[instance_id] = child
        instance = Instance(
            backend=self.name,
            instance_id=instance_id,
            space_id=ctx.space_id,
            url=f"http://{ctx.host}:{ctx.port}",
            gpu_ids=ctx.gpu_ids,
            details=details,
            logs=LogTail(log),
        )
        staged = run_dir / f"{STATE_FILE}.new"
        staged.write_text(json.dumps(instance.state))
        staged.replace(run_dir / STATE_FILE)  # whole or not there, whenever a kill or a full disk stops it
        self._follow(instance, offset=0)
        return instance

    async def _warm_handoff(
        self, plan: BuildPlan, env: Environment, ctx: RunContext, uid: int | None, log: LogSink
    ) -> WarmHandoff | None:
        """The warm start of this start, or None (and the run log says why) where the cold path runs."""
        location = Path(env.location).resolve()
        store = self.environments.for_space(ctx.space_id)
        app = app_argv(plan.launch(ctx).argv)
        reason = None
        if not (self.sandboxed and self.network_isolated and self.kernel_filtered) or uid is None:
            reason = "warm starts need the whole sandbox (its own uid, network, seccomp filter), which is off here"
        elif app is None:
            reason = f"the {plan.sdk} sdk's command is not a Python program a warm starter runs"
        elif holder_interpreter() is None:
            reason = "warm starts need perl (Debian's perl-base) for the sandbox's first process, and it is missing"
        elif location in self._warm_refused:
            reason = f"this environment's warm starter failed before: {self._warm_refused[location]}"
        if reason is not None:
            log(f"cold start: {reason}")
            return None
        assert uid is not None and store.build_uid is not None
        try:
            starter = await self.warm.for_start(location, plan, store.build_uid, log)
        except WarmStartFailed as exc:
            self._warm_refused[location] = str(exc).splitlines()[0]
            log(f"cold start: {exc}")
            return None
        log(f"warm start from the warm starter of environment {location.name}")
        return WarmHandoff(starter, uid)

    def space_uid(self, space_id: str) -> int:
        """The uid a sandboxed app of the space runs as: from its owner's block (sandbox.space_uids)."""
        build_uid = self.environments.for_space(space_id).build_uid
        assert build_uid is not None, "space uids exist where apps are sandboxed"
        return space_uid(space_id, build_uid)

    def _forget_environment_of(self, instance_id: str) -> None:
        """Its instance ended: stop the warm starters no running (or frozen) instance started from."""
        if self._environment_of.pop(instance_id, None) is not None:
            self.warm.keep_only(set(self._environment_of.values()))

    async def _data_folder(self, ctx: RunContext, log: LogSink) -> Path:
        """The folder the sandbox binds at /data: the space's own volume when loop devices allow it."""
        if self.data_volumes is None:
            return self.folders.data / _slug(ctx.space_id)
        size_gb = self.data_size_gb or flavor(ctx.hardware).data_gb
        name = _slug(ctx.space_id)
        try:
            folder = await asyncio.to_thread(self.data_volumes.mount, name, int(size_gb * 2**30), log)
        except OSError as exc:
            raise StartError(f"{ctx.space_id}: its /data could not be mounted: {exc}") from None
        self._mounted.add(name)
        return folder

    async def delete_data(self, space_id: str) -> None:
        self._mounted.discard(_slug(space_id))
        await asyncio.to_thread(DataVolumes(self.folders.data).remove, _slug(space_id))

    async def move_data(self, space_id: str, new_id: str) -> None:
        self._mounted.discard(_slug(space_id))
        await asyncio.to_thread(DataVolumes(self.folders.data).move, _slug(space_id), _slug(new_id))
        if self.sandboxed:
            await asyncio.to_thread(self._hand_data_over, new_id, self.space_uid(space_id))

    def _hand_data_over(self, space_id: str, old_uid: int) -> None:
        """The files of a space's /data belong to the uid of its id (sandbox.space_uid): after a move, to
        the new id's. A volume is mounted for that, and stays mounted for the next start."""
        name = _slug(space_id)
        if self.data_volumes is None:
            folder = self.folders.data / name
        elif self.data_volumes.image(name).exists():
            size = self.data_volumes.image(name).stat().st_size
            folder = self.data_volumes.mount(name, size, lambda _line: None)
            self._mounted.add(name)
        else:
            return
        hand_over(folder, (old_uid,), self.space_uid(space_id))

    def _follow(self, instance: Instance, offset: int) -> None:
        task = asyncio.get_running_loop().create_task(self._forward(instance, offset))
        self._followers[instance.instance_id] = task

    async def _forward(self, instance: Instance, offset: int) -> None:
        """Follow the instance's log into `instance.logs` until it ended, then delete its run folder:
        its last lines are in `instance.logs` (which `poll` and `stop` wait for), nothing reads the file
        any more, and restarts and deploys leave no folder behind."""
        details = details_of(instance)
        await follow(details.log_path, instance.logs, lambda: self._ended(instance) is not None, offset=offset)
        await asyncio.to_thread(remove_run, details)

    def _ended(self, instance: Instance) -> Exit | None:
        """How the instance ended, or None while it runs. Frees what it held once it has ended."""
        details = details_of(instance)
        instance_id = instance.instance_id
        if instance_id in self._exits:
            return self._exits[instance_id]
        child = self._children.get(instance_id)
        if child is not None:
            code = child.poll()
            if code is None:
                return None
        elif still_runs(details):
            return None
        ended = describe_exit(child.returncode if child else None, details.sandboxed, details.cgroups, self.limits)
        self._exits[instance_id] = ended
        release(details)
        self._forget_environment_of(instance_id)
        return ended

    async def poll(self, instance: Instance) -> Exit | None:
        ended = self._ended(instance)
        follower = self._followers.get(instance.instance_id)
        if ended is not None and follower is not None:
            await follower  # its last lines are in `instance.logs` before the caller reads them
        return ended

    async def freeze(self, instance: Instance) -> bool:
        details = details_of(instance)
        if details.cgroups is None or not details.cgroups.can_freeze() or self._ended(instance) is not None:
            return False
        self._frozen[instance.instance_id] = details.cgroups
        return await asyncio.to_thread(details.cgroups.set_frozen, True)

    async def thaw(self, instance: Instance) -> None:
        details = details_of(instance)
        self._frozen.pop(instance.instance_id, None)
        if details.cgroups is not None and details.cgroups.can_freeze():
            await asyncio.to_thread(details.cgroups.set_frozen, False)

    async def memory_bytes(self, instance: Instance) -> int | None:
        details = details_of(instance)
        return details.cgroups.memory_bytes() if details.cgroups is not None else None

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        details = details_of(instance)
        await self.thaw(instance)  # a frozen app would hold its signals until thawed
        if self._ended(instance) is None:
            # The whole tree: a sandboxed app runs in its own session, below bwrap.
            procs.signal_all(procs.tree(details.pid), signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self._ended(instance) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if self._ended(instance) is None:
                # Thawed again: a freeze that landed after the first thaw would keep even SIGKILL pending
                # (cgroup v1's freezer), and this wait would never end.
                await self.thaw(instance)
                procs.signal_all(procs.tree(details.pid), signal.SIGKILL)
                if details.cgroups is not None:
                    details.cgroups.kill_all()
                while self._ended(instance) is None:
                    await asyncio.sleep(0.05)
        follower = self._followers.pop(instance.instance_id, None)
        if follower is not None:
            await follower  # it deletes the run folder once it has read the last line
        else:
            remove_run(details)
        self._children.pop(instance.instance_id, None)

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        instance = instance_from(state, LogTail(log))
        details = details_of(instance)
        if not still_runs(details):
            release(details)
            remove_run(details)
            return None
        await self.thaw(instance)  # the caller that froze it is gone: it freezes again once idle
        instance.logs.lines.extend(last_lines(details.log_path, instance.logs.lines.maxlen or 0))
        self._follow(instance, offset=details.log_path.stat().st_size)
        if self.data_volumes is not None and self.data_volumes.folder(_slug(instance.space_id)).is_mount():
            # Mounted by the Podium before this one: this one unmounts it when the apps end with it.
            self._mounted.add(_slug(instance.space_id))
        return instance

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        """Also deletes the run folders of instances that ended while nobody followed them."""
        return sweep(self.folders.runs, lambda instance_id: instance_id in known or self._runs_here(instance_id))

    def _runs_here(self, instance_id: str) -> bool:
        """Whether this backend starts, runs or follows the instance (never an orphan, nor a leftover)."""
        return instance_id in self._starting or instance_id in self._children or instance_id in self._followers

    async def close(self) -> None:
        if self._reload_port_hold is not None:
            self._reload_port_hold.close()
        for task in self._followers.values():
            task.cancel()
        self._followers.clear()
        if not self.outlive_caller:  # the apps end with their caller, frozen or not
            for groups in self._frozen.values():
                await asyncio.to_thread(groups.set_frozen, False)
        self._frozen.clear()
        if self.data_volumes is not None and not self.outlive_caller:
            for name in self._mounted:
                await asyncio.to_thread(self.data_volumes.unmount, name)
        self._mounted.clear()
        self.warm.close()
