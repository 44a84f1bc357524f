"""`DockerBackend`: each space built into an image and run as a hardened container.

Longer than most modules because it is where one container's parts meet: the engine and its absence,
images, networks, /data volumes, GPUs, pausing, and re-adopting containers an earlier Podium left; each
part's logic lives in its own module beside it (images.py, containers.py, network.py, engine.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import docker.errors
import uv
from docker.types import DeviceRequest

from podium_runner.backend import (
    Backend,
    BackendUnavailable,
    Environment,
    Exit,
    Instance,
    LogSink,
    LogTail,
    StartError,
)
from podium_runner.docker import containers, network, platform_door
from podium_runner.docker.bases import DEFAULT_BASE
from podium_runner.docker.build_cache import CacheIds
from podium_runner.docker.containers import ContainerDetails
from podium_runner.docker.engine import Engine
from podium_runner.docker.host import HostPackageSettings
from podium_runner.docker.images import ImageBuilder
from podium_runner.docker.platform_door import Door, PlatformDoors
from podium_runner.docker.seats import SeatKind, Seats
from podium_runner.hardware import FLAVORS, Flavor
from podium_runner.loglines import LineSplitter
from podium_runner.plan import BuildPlan, Launch, RunContext
from podium_runner.process.warm_starter import app_argv, modules_for

logger = logging.getLogger("podium_runner.docker")
NO_GPU_RUNTIME = "this host has no NVIDIA container runtime"
_NO_GPU_DRIVER = "could not select device driver"


class DockerBackend(Backend):
    name: ClassVar[str] = "docker"

    def __init__(
        self,
        *,
        docker_host: str | None = None,
        base_image: str = DEFAULT_BASE,
        ml_base_image: str | None = None,
        flavors: Mapping[str, Flavor] = FLAVORS,
        ca_certificates: list[Path] | None = None,
        buildkit: bool | None = None,
        gpu_runtime: bool | None = None,
        reach_by_ip: bool | None = None,
        cache_key: bytes | None = None,
        seats_folder: Path | None = None,
        seats_per_image: int = 0,
    ):
        """`gpu_runtime` None: ask the engine (runtimes, then a probe container) before the first GPU
        space. `reach_by_ip`: reach spaces at their container IP and publish no port, for Podium
        running in a container itself off the host's network, where the host's loopback is out of reach;
        the spaces can then reach each other too (`network.py` says why). None: by IP exactly there
        (`network.reach_by_ip_here`). `cache_key`: the secret that names
        each owner's uv cache (build_cache.py); None derives one from the engine's own id, which no
        build or container can read. `seats_per_image` containers of each dependency image in use wait in
        `seats_folder` for a space's code (seats.py); seats need Podium as root beside the engine, so not
        with `reach_by_ip`."""
        self.engine = Engine(docker_host)
        self.flavors = flavors
        self.builder = ImageBuilder(
            self.engine,
            base_image=base_image,
            ml_base_image=ml_base_image,
            host=HostPackageSettings.from_host(ca_certificates),
            uv_bin=Path(uv.find_uv_bin()),
            buildkit=buildkit,
            cache_ids=CacheIds(cache_key or self._engine_key),
        )
        self._gpu_runtime = gpu_runtime
        self.reach_by_ip = network.reach_by_ip_here(lambda: self.engine.client) if reach_by_ip is None else reach_by_ip
        self.network = network.for_mode(self.reach_by_ip)
        if self.reach_by_ip:
            logger.warning(
                "WARNING: Podium reaches spaces by their IPs on the Docker network %s, where spaces can reach "
                "each other's ports too (a private space's app, a Gradio space's unauthenticated reload server on "
                "7887). Run Podium's container on the host's network (docker run --network host) to keep them apart",
                self.network.name,
            )
        self._builds: dict[tuple[str, str, str | None], asyncio.Task[Environment]] = {}
        self.doors = PlatformDoors()
        self.seats: Seats | None = None
        if seats_per_image > 0 and seats_folder is not None:
            if reach_by_ip or os.geteuid() != 0:
                logger.info("no seats: they need Podium running as root beside the engine, not in a container")
            else:
                self.seats = Seats(self.engine, seats_folder.resolve(), seats_per_image, self.network.name, "127.0.0.1")
        self._dependency_image: dict[str, str] = {}  # app image -> the dependency image it is built on
        self._started_from: dict[str, str] = {}  # container id -> its dependency image, while it runs

    # -- build ----------------------------------------------------------------------------------

    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        key = (plan.build_key, plan.code_hash, space_id.partition("/")[0] if space_id else None)
        task = self._builds.get(key)
        if task is None:
            task = asyncio.create_task(self._prepare(plan, log, rebuild, space_id))
            self._builds[key] = task
            task.add_done_callback(lambda _: self._builds.pop(key, None))
        return await asyncio.shield(task)

    def _engine_key(self) -> bytes:
        return f"podium buildkit uv cache of engine {self.engine.client.info()['ID']}".encode()

    async def _prepare(self, plan: BuildPlan, log: LogSink, rebuild: bool, space_id: str | None) -> Environment:
        loop = asyncio.get_running_loop()

        def threadsafe_log(line: str) -> None:
            loop.call_soon_threadsafe(log, line)

        built = await self.engine.run(self.builder.build, plan, threadsafe_log, rebuild=rebuild, space_id=space_id)
        if built.deps_tag:
            self._dependency_image[built.tag] = built.deps_tag
        return Environment(backend=self.name, key=built.tag.partition(":")[2], location=built.tag, reused=built.reused)

    # -- run ------------------------------------------------------------------------------------

    def _flavor(self, ctx: RunContext) -> Flavor:
        try:
            return self.flavors[ctx.hardware]
        except KeyError:
            raise StartError(
                f"{ctx.space_id}: unknown hardware flavor {ctx.hardware!r}; use one of: {', '.join(self.flavors)}"
            ) from None

    async def gpu_runtime(self, image: str) -> bool:
        """Whether this engine can give containers GPUs; asked once, then remembered."""
        if self._gpu_runtime is None:
            self._gpu_runtime = await self.engine.run(self._probe_gpu_runtime, image)
        return self._gpu_runtime

    def _probe_gpu_runtime(self, image: str) -> bool:
        client = self.engine.client
        if "nvidia" in (client.info().get("Runtimes") or {}):
            return True
        # dockerd registers its "gpu" device driver only with the NVIDIA hook on its PATH; a probe
        # container settles it without guessing about the engine's host.
        probe = client.containers.create(
            image,
            command=["true"],
            labels={containers.LABEL_MANAGED: "probe"},
            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])],
        )
        try:
            probe.start()
            return True
        except docker.errors.APIError as exc:
            if _NO_GPU_DRIVER in str(exc):
                return False
            raise
        finally:
            probe.remove(force=True)

    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        flavor = self._flavor(ctx)
        if flavor.gpus and len(ctx.gpu_ids) < flavor.gpus:
            raise StartError(
                f"{ctx.space_id}: hardware {flavor.name} needs {flavor.gpus} GPU(s) but "
                f"{len(ctx.gpu_ids)} were given; allocate them with podium_runner.gpus first"
            )
        if ctx.gpu_ids and not await self.gpu_runtime(env.location):
            raise StartError(self._no_gpu_message(ctx))
        # Inside the container the app listens on the space's own port on every interface; the
        # engine publishes it on the host's loopback only.
        inner = replace(ctx, host="0.0.0.0", port=plan.app_port)
        network_attrs = await self.engine.run(network.ensure, self.engine.client, self.network, ctx.space_id)
        door = await self._platform_door(ctx, network_attrs)
        if door is not None:
            inner = replace(inner, platform=replace(ctx.platform, url=door.url))
        launch = plan.launch(inner)
        kind = self._seat_kind(plan, env, ctx, flavor, launch, door)
        container_id = await self.seats.take(kind, plan, ctx, launch, log) if self.seats and kind else None

        def create_and_start() -> str:
            container = self.create(plan, env, ctx, flavor, launch, door)
            try:
                container.start()
            except docker.errors.APIError as exc:
                container.remove(force=True)  # a failed start leaves a "created" container behind
                if _NO_GPU_DRIVER in str(exc):
                    self._gpu_runtime = False
                    raise StartError(self._no_gpu_message(ctx)) from exc
                raise StartError(
                    f"{ctx.space_id}: the Docker engine could not start the container: {exc.explanation or exc}"
                ) from exc
            return container.id

        async def take_down(container_id: str | None) -> None:  # a cancelled start's: it would run for nobody
            if container_id is not None:
                await self._take_down(container_id, timeout=1)

        if container_id is None:
            container_id = await self.engine.run_or_undo(create_and_start, take_down)
        if self.seats and kind:
            self._started_from[container_id] = kind.image
            self.seats.top_up(kind)
        try:
            return await self._instance(container_id, LogTail(log), tail=None, space_id=ctx.space_id)
        except asyncio.CancelledError:
            self.engine.in_background(take_down(container_id))
            raise

    def _seat_kind(
        self, plan: BuildPlan, env: Environment, ctx: RunContext, flavor: Flavor, launch: Launch, door: Door | None
    ) -> SeatKind | None:
        """The kind of seat this start can take, or None where it starts cold whatever the pool holds."""
        image = self._dependency_image.get(env.location)
        if image is None or ctx.gpu_ids or app_argv(launch.argv) is None:
            return None
        modules = tuple(modules_for(plan))
        return SeatKind(image, flavor, plan.app_port, modules, ctx.model_cache, door.label() if door else None)

    def create(
        self,
        plan: BuildPlan,
        env: Environment,
        ctx: RunContext,
        flavor: Flavor,
        launch: Launch,
        door: Door | None = None,
    ) -> Any:
        """The container for one start of `launch`, created but not started, on the spaces network (which
        `start` makes sure of first)."""
        client = self.engine.client
        settings = containers.run_settings(
            image=env.location,
            name=containers.container_name(ctx.space_id, secrets.token_hex(3)),
            space_id=ctx.space_id,
            network=self.network.name,
            app_port=plan.app_port,
            publish_host=None if self.reach_by_ip else "127.0.0.1",
            publish_port=ctx.port,
            command=list(launch.argv) or None,
            environment=launch.env,
            flavor=flavor,
            host_cpus=client.info().get("NCPU") or 1,
            model_cache=ctx.model_cache,
            gpu_ids=ctx.gpu_ids,
            platform_door=door.label() if door else None,
        )
        return client.containers.create(**settings)

    async def _platform_door(self, ctx: RunContext, network_attrs: dict[str, Any]) -> Door | None:
        """The relay through which the container reaches the platform's endpoints for apps, where the
        platform offers a socket for them (platform_door.py)."""
        if ctx.platform is None or not ctx.platform.socket:
            return None
        own = await self.engine.run(network.own_container, self.engine.client)
        try:
            return await self.doors.open(platform_door.podium_address(network_attrs, own), ctx.platform.socket)
        except OSError as exc:
            raise StartError(
                f"{ctx.space_id}: Podium could not open the relay its container reaches Podium through "
                f"(HF_ENDPOINT) on the Docker network {self.network.name}: {exc}"
            ) from exc

    @staticmethod
    def _no_gpu_message(ctx: RunContext) -> str:
        return (
            f"{ctx.space_id}: {NO_GPU_RUNTIME}, so Docker cannot give the space GPU(s) "
            f"{','.join(ctx.gpu_ids)}. Install the NVIDIA Container Toolkit and restart dockerd, "
            f"or choose a cpu-* hardware flavor"
        )

    async def _instance(self, container_id: str, logs: LogTail, tail: int | None, space_id: str) -> Instance:
        attrs = await self.engine.run(lambda: self.engine.client.api.inspect_container(container_id))
        instance = containers.instance_of(attrs, self._reach_on, logs)
        self._follow_logs(container_id, logs, asyncio.get_running_loop(), tail)
        # A seat's container was made before its space was known: its label names none.
        return instance if instance.space_id else replace(instance, space_id=space_id)

    def _follow_logs(self, container_id: str, logs: LogTail, loop: asyncio.AbstractEventLoop, tail: int | None) -> None:
        def follow() -> None:
            splitter = LineSplitter()  # an app printing without newlines costs Podium bounded memory
            try:
                stream = self.engine.client.api.logs(
                    container_id, stream=True, follow=True, tail="all" if tail is None else tail
                )
                for chunk in stream:
                    for line in splitter.feed(chunk):
                        loop.call_soon_threadsafe(logs, line)
            except Exception:  # the container or the engine went away; poll() reports which
                return
            for line in splitter.end():
                loop.call_soon_threadsafe(logs, line)

        threading.Thread(target=follow, name=f"logs-{container_id[:12]}", daemon=True).start()

    @property
    def _reach_on(self) -> str | None:
        return self.network.name if self.reach_by_ip else None

    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        await self.thaw(instance)  # a paused container would hold its stop signal until unpaused
        await self._take_down(instance.instance_id, timeout)

    async def _take_down(self, container_id: str, timeout: float) -> None:
        """The container removed, and with it its seat's folder; its image's seats too once none of its spaces runs."""
        seat = await self._remove(container_id, timeout)
        if self.seats is None:
            return
        if seat:
            await self.engine.run(self.seats.release, seat)
        image = self._started_from.pop(container_id, None)
        if image and image not in self._started_from.values():
            await self.seats.retire(image)

    async def freeze(self, instance: Instance) -> bool:
        """`docker pause`: the engine freezes the container's cgroup; its memory stays charged to it."""

        def pause() -> bool:
            try:
                self.engine.client.api.pause(instance.instance_id)
            except docker.errors.APIError:  # gone, or not running
                return False
            return True

        return await self.engine.run(pause)

    async def thaw(self, instance: Instance) -> None:
        def unpause() -> None:
            with contextlib.suppress(docker.errors.APIError):  # not paused, or gone
                self.engine.client.api.unpause(instance.instance_id)

        await self.engine.run(unpause)

    async def memory_bytes(self, instance: Instance) -> int | None:
        def usage() -> int | None:
            try:
                stats = self.engine.client.api.stats(instance.instance_id, stream=False, one_shot=True)
            except docker.errors.APIError:
                return None
            return stats.get("memory_stats", {}).get("usage")

        return await self.engine.run(usage)

    async def _remove(self, container_id: str, timeout: float = 10.0) -> str | None:
        """Stop and remove the container; the name of its seat folder, if it was a seat's (seats.py)."""

        def stop_and_remove() -> str | None:
            try:
                container = self.engine.client.containers.get(container_id)
                container.stop(timeout=max(1, int(timeout)))
                container.remove(force=True)
            except docker.errors.NotFound:
                return None
            return container.labels.get(containers.LABEL_SEAT)

        return await self.engine.run(stop_and_remove)

    async def delete_data(self, space_id: str) -> None:
        def remove_volume() -> None:
            try:
                self.engine.client.volumes.get(containers.volume_name(space_id)).remove()
            except docker.errors.NotFound:
                pass

        await self.engine.run(remove_volume)

    async def move_data(self, space_id: str, new_id: str) -> None:
        def refuse_if_any() -> None:
            try:
                self.engine.client.volumes.get(containers.volume_name(space_id))
            except docker.errors.NotFound:
                return
            # A volume cannot be renamed; left behind, it would be the /data of the next space of that name.
            raise BackendUnavailable(
                f"{space_id} keeps files in /data (docker volume {containers.volume_name(space_id)}), which the "
                "docker backend cannot move yet; copy them out and delete the volume to move the space"
            )

        await self.engine.run(refuse_if_any)

    async def poll(self, instance: Instance) -> Exit | None:
        def inspect() -> dict[str, Any] | None:
            try:
                return self.engine.client.api.inspect_container(instance.instance_id)["State"]
            except docker.errors.NotFound:
                return None

        state = await self.engine.run(inspect)
        if state is None:
            return Exit(code=None, reason="the container was removed")
        if state.get("Running") or state.get("Status") in ("created", "restarting"):
            return None
        return Exit(code=state.get("ExitCode"), reason=containers.exit_reason(state))

    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        """A running container on Podium's spaces network is adopted as it runs. One on another network
        (started before spaces had their own) is removed: the caller starts the space again there."""
        if not state.get("id"):
            return None
        saved = ContainerDetails.from_dict(state)

        def inspect() -> dict[str, Any] | None:
            try:
                return self.engine.client.api.inspect_container(saved.id)
            except docker.errors.NotFound:
                return None

        attrs = await self.engine.run(inspect)
        if attrs is None or not attrs["State"].get("Running"):
            return None
        on = containers.networks_of(attrs)
        if self.network.name not in on:
            log(
                f"{state.get('space_id', '?')}: its container {saved.name or saved.id[:12]} runs on the "
                f"Docker network {', '.join(on) or '(none)'}, not on {self.network.name}; removed it, "
                f"to start it again there"
            )
            await self._remove(saved.id)
            return None
        await self._reopen_door(attrs, log)
        # Only new lines: what the container printed before is already in the caller's log.
        instance = await self._instance(saved.id, LogTail(log), tail=0, space_id=state.get("space_id", ""))
        await self.thaw(instance)  # the caller that paused it is gone: it pauses again once idle
        return instance

    async def _reopen_door(self, attrs: dict[str, Any], log: LogSink) -> None:
        """The relay an adopted container was told to reach Podium through, open again at its address."""
        door = Door.from_label((attrs["Config"].get("Labels") or {}).get(platform_door.LABEL, ""))
        if door is None:
            return
        try:
            await self.doors.reopen(door)
        except OSError as exc:
            log(
                f"its container reaches Podium (HF_ENDPOINT) at {door.url}, which Podium could not open again "
                f"({exc}); restart the space to give it a new one"
            )

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        def managed() -> list[dict[str, Any]]:
            api = self.engine.client.api
            found = api.containers(all=True, filters={"label": f"{containers.LABEL_MANAGED}=1"})
            return [
                containers.instance_of(api.inspect_container(item["Id"]), self._reach_on, LogTail()).state
                for item in found
                if item["Id"] not in known
            ]

        return await self.engine.run(managed)

    async def close(self) -> None:
        if self.seats:
            await self.seats.close()
        await self.doors.close()
        await asyncio.to_thread(self.engine.close)
