"""What the supervisor holds in memory for one space, and the read-only view of it that pages, the
spaces origin and the log API read (they never change a space's state; only the supervisor does)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field

from podium_runner.backend import Instance
from podium_runner.plan import BuildPlan

from podium.logstream import LogStream


@dataclass
class SpaceState:
    """The supervisor's in-memory state of one space (the database holds the rest)."""

    space_id: str
    build_log: LogStream
    run_log: LogStream
    instance: Instance | None = None
    plan: BuildPlan | None = None  # the plan of the serving instance
    task: asyncio.Task[None] | None = None  # the deploy in flight
    # Replaced instances that still finish what their sessions started, by `affinity_key`.
    draining: dict[str, Instance] = field(default_factory=dict)
    last_activity: float = field(default_factory=time.monotonic)
    # Requests, streams and WebSockets the proxy has open to it now: never frozen or put to sleep under one.
    visits: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def serving(self) -> bool:
        return self.instance is not None

    @property
    def busy(self) -> bool:
        """A deploy is in flight (building, starting, or waiting for a build slot)."""
        return self.task is not None and not self.task.done()

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class SpaceStatus:
    """A live, read-only view of one space's `SpaceState`: what its readers may know, nothing to change."""

    __slots__ = ("_state",)

    def __init__(self, state: SpaceState):
        self._state = state

    @property
    def serving(self) -> bool:
        return self._state.serving

    @property
    def busy(self) -> bool:
        return self._state.busy

    @property
    def plan(self) -> BuildPlan | None:
        return self._state.plan

    @property
    def build_log(self) -> LogStream:
        return self._state.build_log

    @property
    def run_log(self) -> LogStream:
        return self._state.run_log


def affinity_key(instance: Instance) -> str:
    """An opaque name for an instance, carried in a cookie so that one client session (Gradio's
    queue/join, then queue/data) stays on the instance where it began, across a switch."""
    return hashlib.sha256(instance.url.encode()).hexdigest()[:16]
