"""Seats: started containers of a dependency image waiting for a space's code (ShinyProxy's pre-initialised
seats), so that a wake or a code-only redeploy of a docker space waits neither for a container to boot nor for
its imports.

A seat is a container made with a space's hardened settings (containers.run_settings) from the dependency image
the space's app images are built on. Its first process is the warm starter's program in seat mode
(process/zygote.py): it imports the sdk and the environment's libraries, then waits on a FIFO. Taking a seat:
1. the space's code is copied into the seat's folder, which the container has read-only at the app folder;
2. the space's /data volume is bind-mounted on the host onto the seat's data folder, which reaches the
   container's /data by mount propagation (containers.SeatFolder);
3. the container gets an app's CPU weight (a seat imports at the lowest) and is renamed after the space (it
   was made with the flavor's limits: seats are per flavor);
4. the app's command line and variables go down the FIFO, which only the seat's program reads: it checks that
   its /data is the volume, sets the variables, runs again the imported modules' statements that read them,
   and runs the app. Nothing of the space reached the container before.
A seat serves one start and goes with its app. Each dependency image with an instance running keeps
`per_image` seats ready; once none runs, its seats go (as the process backend's warm starters do).

Seats need Podium to run as root on the engine's host, beside it (the mount, and the folders the engine
binds). They fit CPU spaces whose command is a Python program: GPUs are fixed when a container is made, so
GPU spaces start cold; so does every start while no seat of its kind is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors

from podium_runner.backend import LogSink
from podium_runner.docker import containers
from podium_runner.docker.containers import SEAT_CONTROL, SeatFolder
from podium_runner.docker.context import SKIPPED_NAMES
from podium_runner.docker.dockerfile import APP_DIR, DATA_DIR, app_environment
from podium_runner.docker.engine import Engine
from podium_runner.hardware import Flavor
from podium_runner.plan import BuildPlan, Launch, RunContext
from podium_runner.process import zygote
from podium_runner.process.sandbox import run_system_tool
from podium_runner.process.warm_starter import app_argv

logger = logging.getLogger("podium_runner.docker")
_APP_UID = 1000  # the containers' user (containers.run_settings), who owns the code and a new /data
_FIFO = "start"
_PROGRAM = "zygote.py"
# A seat imports at the lowest CPU weight, so that it takes only CPU the starts going on meanwhile leave idle;
# taken, it weighs what every container does.
_CPU_SHARES_OF_A_SEAT = 2
_CPU_SHARES_OF_AN_APP = 1024


@dataclass(frozen=True)
class SeatKind:
    """What a seat is made for: only a start of the same kind takes it."""

    image: str  # the dependency image
    flavor: Flavor  # its limits are the container's
    app_port: int
    modules: tuple[str, ...]  # what its program imports ahead (warm_starter.modules_for)
    model_cache: str | None
    platform_door: str | None  # the label of the relay to the platform (platform_door.py)


@dataclass
class _Seat:
    folder: SeatFolder
    container_id: str


@dataclass
class Seats:
    """The seats of one docker backend, in folders under `root` on the engine's host."""

    engine: Engine
    root: Path
    per_image: int
    network: str
    publish_host: str | None
    _ready: dict[SeatKind, list[_Seat]] = field(default_factory=dict)
    _making: dict[SeatKind, int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _wanted: set[str] = field(default_factory=set)  # the images with an instance running
    _prepared: bool = False  # the root shared and swept (_prepare)

    async def take(self, kind: SeatKind, plan: BuildPlan, ctx: RunContext, launch: Launch, log: LogSink) -> str | None:
        """A ready seat of `kind` running `launch` for `ctx`'s space: its container's id; None when no seat of
        that kind is ready, or taking one failed (the run log says why), and the caller starts cold. A seat still
        importing is not waited for: in a burst of starts every one would wait in line for the next seat
        (measured: back-to-back code-only pushes took 6.2 s each that way, 4.6 s cold)."""
        importing = False
        for seat in list(self._ready.get(kind, ())):
            if seat not in self._ready.get(kind, ()):  # another start took it meanwhile
                continue
            try:
                start = os.open(seat.folder.control / _FIFO, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                # ENXIO: its program has not opened the FIFO yet: it imports, or it died.
                if exc.errno == errno.ENXIO and await self._running(seat):
                    importing = True
                else:
                    await self._drop(kind, seat)
                continue
            self._ready[kind].remove(seat)
            try:
                # Were this start cancelled meanwhile, its app would run in the seat for nobody.
                await self.engine.run_or_undo(
                    functools.partial(self._hand_over, seat, start, plan, ctx, launch),
                    lambda _made, seat=seat: self._discard(seat),
                )
            except (OSError, docker.errors.APIError) as exc:
                log(f"cold start: the seat {seat.folder.path.name} could not be taken: {exc}")
                await self._discard(seat)
                return None
            log(f"warm start: in a seat of {kind.image}, its container started and its imports done ahead")
            return seat.container_id
        if importing:
            log(f"cold start: the seat of {kind.image} is still importing; the next start takes it")
        else:
            log(f"cold start: no seat of {kind.image} is ready; one is made for the next start")
        return None

    async def _drop(self, kind: SeatKind, seat: _Seat) -> None:
        """Remove a seat that can serve no start (its program died or its folder is gone)."""
        if seat in self._ready.get(kind, ()):
            self._ready[kind].remove(seat)
            await self._discard(seat)

    async def _running(self, seat: _Seat) -> bool:
        def running() -> bool:
            try:
                return self.engine.client.api.inspect_container(seat.container_id)["State"].get("Running", False)
            except docker.errors.NotFound:
                return False

        return await self.engine.run(running)

    def _hand_over(self, seat: _Seat, start: int, plan: BuildPlan, ctx: RunContext, launch: Launch) -> None:
        """In a worker thread: the space's code and /data into the seat, then its start down the FIFO `start`,
        which it closes."""
        try:
            folder = seat.folder
            shutil.copytree(plan.space_root, folder.app, symlinks=True, dirs_exist_ok=True, ignore=_skipped)
            for top, folders, files in os.walk(folder.app):  # the image's COPY --chown=1000:1000; links not followed
                for name in (".", *folders, *files):
                    os.chown(os.path.join(top, name), _APP_UID, _APP_UID, follow_symlinks=False)
            volume_root = self._volume_root(ctx.space_id)
            _mount(volume_root, folder.data)
            data = os.stat(volume_root)
            container = self.engine.client.containers.get(seat.container_id)
            container.update(cpu_shares=_CPU_SHARES_OF_AN_APP)
            container.rename(containers.container_name(ctx.space_id, secrets.token_hex(3)))
            spec = {
                "argv": _app_argv(launch),
                "cwd": APP_DIR,
                "variables": launch.env,
                "data_dir": DATA_DIR,
                "data_identity": [data.st_dev, data.st_ino],
            }
            os.set_blocking(start, True)
            message = json.dumps(spec).encode()
            while message:
                message = message[os.write(start, message) :]
        finally:
            os.close(start)

    def _volume_root(self, space_id: str) -> str:
        """The host folder of the space's /data volume, made as the engine would (owned by the app's uid)."""
        name = containers.volume_name(space_id)
        try:
            return self.engine.client.volumes.get(name).attrs["Mountpoint"]
        except docker.errors.NotFound:
            root = self.engine.client.volumes.create(name).attrs["Mountpoint"]
            os.chown(root, _APP_UID, _APP_UID)  # a container would have copied the image's /data (its uid's)
            return root

    def top_up(self, kind: SeatKind) -> None:
        """Make seats of `kind` in the background until `per_image` are ready or being made."""
        self._wanted.add(kind.image)
        missing = self.per_image - len(self._ready.get(kind, ())) - self._making.get(kind, 0)
        for _ in range(max(0, missing)):
            self._making[kind] = self._making.get(kind, 0) + 1
            task = asyncio.create_task(self._make(kind))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _make(self, kind: SeatKind) -> None:
        try:
            if not self._prepared:
                await self.engine.run(self._prepare)
                self._prepared = True
            seat = await self.engine.run(self._create, kind)
        except Exception as exc:  # noqa: BLE001 - a seat that cannot be made costs only its warm start
            logger.warning("a seat of %s could not be made (its spaces start cold): %s", kind.image, exc)
            return
        finally:
            self._making[kind] -= 1
        if kind.image in self._wanted:
            self._ready.setdefault(kind, []).append(seat)
        else:  # its last instance stopped while it was being made
            await self._discard(seat)

    def _create(self, kind: SeatKind) -> _Seat:
        folder = SeatFolder(self.root / secrets.token_hex(6))
        for path in (folder.data, folder.app, folder.control):
            path.mkdir(parents=True, mode=0o755)
        os.mkfifo(folder.control / _FIFO, 0o644)  # root writes, the container's uid reads
        shutil.copy(zygote.__file__, folder.control / _PROGRAM)
        settings = containers.run_settings(
            image=kind.image,
            name=f"podium-seat-{folder.path.name}",
            space_id="",
            network=self.network,
            app_port=kind.app_port,
            publish_host=self.publish_host,
            publish_port=0,  # the engine picks it; the instance's URL is read back from the container
            command=["python", "-I", "-S", f"{SEAT_CONTROL}/{_PROGRAM}", _settings(kind)],
            environment=app_environment(kind.app_port),
            flavor=kind.flavor,
            host_cpus=self.engine.client.info().get("NCPU") or 1,
            model_cache=kind.model_cache,
            gpu_ids=(),
            platform_door=kind.platform_door,
            seat=folder,
        )
        settings["cpu_shares"] = _CPU_SHARES_OF_A_SEAT
        try:
            container = self.engine.client.containers.create(**settings)
            container.start()
        except docker.errors.APIError:
            self.release(folder.path.name)
            raise
        return _Seat(folder, container.id)

    async def retire(self, image: str) -> None:
        """Remove the ready seats of `image`: none of its instances runs any more."""
        self._wanted.discard(image)
        for kind in [kind for kind in self._ready if kind.image == image]:
            for seat in self._ready.pop(kind):
                await self._discard(seat)

    async def _discard(self, seat: _Seat) -> None:
        def remove() -> None:
            with contextlib.suppress(docker.errors.NotFound):
                self.engine.client.containers.get(seat.container_id).remove(force=True)
            self.release(seat.folder.path.name)

        await self.engine.run(remove)

    def release(self, name: str) -> None:
        """A seat's folder, once its container is gone: the volume unmounted from it, then removed."""
        folder = SeatFolder(self.root / name)
        if str(folder.data) in _mount_points():
            run_system_tool("umount", "--lazy", str(folder.data))
        # Never a recursive removal through `data`: were the volume still there, it would delete the space's files.
        with contextlib.suppress(FileNotFoundError):
            folder.data.rmdir()
        shutil.rmtree(folder.app, ignore_errors=True)
        shutil.rmtree(folder.control, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            folder.path.rmdir()

    def _prepare(self) -> None:
        """Before the first seat: the root a shared mount, and the folders of seats whose containers are gone
        (a Podium that stopped without removing them) removed."""
        _shared_mount(self.root)
        listed = self.engine.client.api.containers(all=True, filters={"label": containers.LABEL_SEAT})
        alive = {item["Labels"].get(containers.LABEL_SEAT) for item in listed}
        for folder in self.root.iterdir():
            if folder.name not in alive:
                self.release(folder.name)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for image in {kind.image for kind in self._ready}:
            await self.retire(image)
        if str(self.root) in _mount_points() and not any(self.root.iterdir()):  # no taken seat's app still runs
            run_system_tool("umount", "--lazy", str(self.root))


def _skipped(folder: str, names: list[str]) -> set[str]:
    return SKIPPED_NAMES.intersection(names)  # what the app image's context (context.py) leaves out


def _app_argv(launch: Launch) -> list[str]:
    argv = app_argv(launch.argv)
    assert argv is not None  # DockerBackend offers a seat only to a Python command
    return argv


def _settings(kind: SeatKind) -> str:
    return json.dumps({"fifo": f"{SEAT_CONTROL}/{_FIFO}", "modules": list(kind.modules)})


def _mount(source: str, target: Path) -> None:
    """Bind `source` onto `target`, with no device files and no set-uid programs, as a volume has."""
    run_system_tool("mount", "--bind", source, str(target))
    run_system_tool("mount", "-o", "remount,bind,nosuid,nodev", str(target))


def _mount_points() -> dict[str, list[str]]:
    """This mount namespace's mount points, each with its optional fields (`shared:N`, `master:N`).
    (`Path.is_mount` cannot tell a bind mount from a folder of the same filesystem.)"""
    points = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")  # the kernel writes a space as \040
        points[point] = fields[6 : fields.index("-")]
    return points


def _shared_mount(root: Path) -> None:
    """`root` as a shared mount point, which the engine's `rslave` binds of the folders under it need."""
    root.mkdir(parents=True, exist_ok=True)
    options = _mount_points().get(str(root))
    if options is None:
        run_system_tool("mount", "--bind", str(root), str(root))
    if not any(option.startswith("shared:") for option in options or ()):
        run_system_tool("mount", "--make-shared", str(root))
