"""The one small interface between Podium's platform and whatever runs spaces.

JupyterHub's Spawner is the model: the caller needs to prepare an environment, start an instance,
stop it, poll it, read its logs, and forget and re-adopt it across its own restarts. Every backend
(process, docker, a cluster engine later) implements exactly this; the platform never imports a
backend's internals. A new backend is a new module.
"""

from __future__ import annotations

import abc
import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from podium_runner.loglines import cap
from podium_runner.plan import BuildPlan, RunContext
from podium_runner.spec import SpaceConfigError
from podium_runner.stages import SpaceFailure, Stage

LogSink = Callable[[str], None]
"""Receives log lines (without trailing newline) as they happen. Must not block."""

Notice = Callable[[str, Stage | None, str | None], None]
"""(space id, stage or None to keep it, message or None once it is over): what a backend that brings
instances back by itself, or waits to place them, tells the platform meanwhile (Ray: no node has a free
GPU; node lost, starting it elsewhere). Must not block."""

TAIL_LINES = 200


class RunnerError(Exception):
    """Base of the errors a backend raises; `tail` holds the last log lines that explain it."""

    def __init__(self, message: str, tail: list[str] | None = None):
        super().__init__(message)
        self.tail = tail or []


class BuildError(RunnerError, SpaceFailure):
    """The environment could not be made."""

    stage = Stage.BUILD_ERROR


class StartError(RunnerError, SpaceFailure):
    """The app did not come up: it exited, crashed or never answered."""

    stage = Stage.RUNTIME_ERROR


class BackendUnavailable(RunnerError):
    """The backend's engine cannot be reached (e.g. dockerd stopped). Retry once it is back."""


class LogTail:
    """Keeps the last lines of a stream and forwards every line to an optional sink, each cut to
    `MAX_LINE_BYTES` (the readers already split their streams so; this holds for any other caller)."""

    def __init__(self, sink: LogSink | None = None, size: int = TAIL_LINES):
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.sink = sink

    def __call__(self, line: str) -> None:
        line = cap(line)
        self.lines.append(line)
        if self.sink is not None:
            self.sink(line)

    def last(self, count: int = 20) -> list[str]:
        return list(self.lines)[-count:]


@dataclass(frozen=True)
class Environment:
    """A prepared environment (a virtualenv, an image) that instances start from."""

    backend: str
    key: str
    location: str
    reused: bool = False


class InstanceDetails(Protocol):
    """What one backend alone keeps about an instance (a pid, a container name): a frozen dataclass
    whose `to_dict` gives JSON-ready data and whose `from_dict` reads it back, also as older Podiums
    saved it."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class NoDetails:
    """For a backend that needs nothing beyond what every instance has."""

    def to_dict(self) -> dict[str, Any]:
        return {}


@dataclass
class Instance:
    """One running (or exited) app: what every backend has, and `details` for the rest."""

    backend: str
    instance_id: str  # the id `Backend.list_orphans` compares its `known` against
    space_id: str
    url: str
    gpu_ids: tuple[str, ...] = ()
    details: InstanceDetails = field(default_factory=NoDetails)
    logs: LogTail = field(default_factory=LogTail, repr=False)

    @property
    def state(self) -> dict[str, Any]:
        """The instance as JSON-ready data, which the caller saves and hands `Backend.adopt` after its
        restart. The keys are those Podium has always saved, so either version reads the other's."""
        common = {
            "backend": self.backend,  # which of a `BackendRouter`'s backends adopts it
            "instance_id": self.instance_id,
            "space_id": self.space_id,
            "url": self.url,
            "gpu_ids": list(self.gpu_ids),
        }
        return common | self.details.to_dict()


@dataclass(frozen=True)
class Exit:
    """How an instance ended. `reason` is human-readable, e.g. "out of memory"."""

    code: int | None
    reason: str


class Backend(abc.ABC):
    name: ClassVar[str]
    # True when the backend's engine places GPU spaces and picks their devices itself (Ray): the platform
    # then allocates none and passes no `RunContext.gpu_ids`.
    schedules_gpus: ClassVar[bool] = False

    def watch_notices(self, notice: Notice) -> None:
        """Where to send notices (`Notice`); backends that never wait nor restart by themselves have none."""
        return None

    def check(self, plan: BuildPlan) -> None:
        """Raise `SpaceConfigError` for what this backend cannot run at all, before any work: by default,
        a space whose recipe names other backends (`Recipe.refused_by`)."""
        if refused := plan.recipe.refused_by(self.name):
            raise SpaceConfigError(f"{plan.space_root.name} is {refused}", key="sdk")

    @abc.abstractmethod
    async def prepare(
        self, plan: BuildPlan, log: LogSink, *, rebuild: bool = False, space_id: str | None = None
    ) -> Environment:
        """Make (or reuse) the environment the plan needs, streaming build output to `log`.

        Concurrent calls for the same environment share one build. A failed build leaves nothing
        behind and raises `BuildError`. `space_id` ("owner/name") is the space the build is for: a
        build runs its packages' code, so builds for one owner share caches and environments and
        builds for different owners never do. None is a build for the caller itself (`podium run`,
        tests), kept apart from every owner's."""

    @abc.abstractmethod
    async def start(self, plan: BuildPlan, env: Environment, ctx: RunContext, log: LogSink) -> Instance:
        """Start an instance listening on `ctx.port` (or a port the backend picks) and return at once;
        the caller waits for health with `podium_runner.health.wait_until_ready`."""

    @abc.abstractmethod
    async def stop(self, instance: Instance, timeout: float = 10.0) -> None:
        """Stop the instance (terminate, then kill after `timeout`) and free what it held."""

    @abc.abstractmethod
    async def poll(self, instance: Instance) -> Exit | None:
        """None while the instance runs; how it ended otherwise."""

    @abc.abstractmethod
    async def adopt(self, state: dict[str, Any], log: LogSink) -> Instance | None:
        """Re-attach to an instance from its `state` after the caller restarted; None if it is gone."""

    async def freeze(self, instance: Instance) -> bool:
        """Freeze the idle instance in place (no CPU, memory kept), to be thawed in milliseconds on its next
        request. False: this backend cannot (the default), and the caller stops the instance instead."""
        return False

    async def thaw(self, instance: Instance) -> None:
        """Let a frozen instance run again. Only called after `freeze` said True."""
        return None

    async def memory_bytes(self, instance: Instance) -> int | None:
        """The memory the instance holds now (frozen or running); None where the backend cannot tell."""
        return None

    async def delete_data(self, space_id: str) -> None:
        """Remove the space's persistent /data for good: the space is deleted and none of its instances runs."""
        return None

    async def move_data(self, space_id: str, new_id: str) -> None:
        """Give the space's persistent /data to the name `new_id` (the space moved; none of its instances
        runs); refuse with `BackendUnavailable` where it cannot, before anything moved."""
        return None

    async def list_orphans(self, known: set[str]) -> list[dict[str, Any]]:
        """States of instances this backend runs that are not in `known` (instance ids)."""
        return []

    async def cluster_status(self) -> dict[str, Any] | None:
        """The cluster's nodes, their resources and which spaces run where; None for a backend that runs
        spaces on Podium's own host."""
        return None

    async def close(self) -> None:
        """Release the backend's own resources (connections, watchers)."""
        return None
