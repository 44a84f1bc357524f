"""The first tier of sleep: an idle space frozen in place, thawed by its next request in milliseconds.

A space that may sleep (it has a sleep time: its `sleepTimeSeconds`, or Podium's default) and has had no
traffic for `freeze_after_s` is frozen by its backend (the process backend: the cgroup freezer; docker:
pause): it takes no CPU and keeps its memory, which stays charged to it and shown in its runtime. Its next
request, WebSocket or API call thaws it before it is forwarded. Only once it has been idle for its whole
sleep time is it stopped (STOPPED, as on Hugging Face), and then the next visit starts it again; while
the host has less memory available than `stop_below_available_mb`, frozen spaces are stopped at once. A space
without a sleep time is never frozen: it may work in the background, as on Hugging Face. A backend that
cannot freeze (`Backend.freeze` says False) goes straight to the stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from podium_runner.backend import Backend, Instance

from podium.lifecycle.space_state import SpaceState

log = logging.getLogger("podium.supervisor")


class Freezer:
    """Which spaces' instances are frozen, and freezing and thawing them one at a time."""

    def __init__(self, backend: Backend, freeze_after_s: float | None, stop_below_available_mb: int | None = None):
        self.backend = backend
        self.freeze_after_s = freeze_after_s
        self.stop_below_available_mb = stop_below_available_mb
        self._frozen: dict[str, Instance] = {}  # space id -> its frozen instance
        self._memory: dict[str, int | None] = {}  # space id -> the bytes its instance held when frozen
        self._lock = asyncio.Lock()  # a request's thaw waits for a freeze in flight, never overtakes it

    def is_frozen(self, state: SpaceState) -> bool:
        frozen = self._frozen.get(state.space_id)
        return frozen is not None and state.instance is not None and frozen.instance_id == state.instance.instance_id

    async def doze(self, state: SpaceState, sleep_time: int | None) -> None:
        """Freeze the space's instance when it has been idle long enough (module docstring)."""
        if self.freeze_after_s is None or sleep_time is None:
            return
        async with self._lock:
            # Judged inside the lock: a request whose thaw this freeze waited for has been counted by then.
            idle_s = time.monotonic() - state.last_activity
            instance = state.instance
            if idle_s < self.freeze_after_s or state.visits or state.busy or state.draining:
                return
            if instance is None or self.is_frozen(state):
                return
            if await self.backend.freeze(instance):
                self._frozen[state.space_id] = instance
                self._memory[state.space_id] = await self.backend.memory_bytes(instance)
                log.info("%s: frozen after %.0f s without traffic", state.space_id, idle_s)

    async def wake(self, state: SpaceState) -> None:
        """Thaw the space's frozen instance, also one a new revision replaced since, which still serves the
        clients it began with while it drains."""
        if state.space_id not in self._frozen:
            return
        async with self._lock:
            frozen = self._frozen.pop(state.space_id, None)
            self._memory.pop(state.space_id, None)
            if frozen is not None:
                await self.backend.thaw(frozen)
                log.info("%s: thawed by a request", state.space_id)

    def frozen_memory(self, state: SpaceState) -> int | None:
        """The bytes the space's frozen instance holds (None: not frozen, or its backend cannot tell)."""
        return self._memory.get(state.space_id) if self.is_frozen(state) else None

    def short_of_memory(self, state: SpaceState) -> bool:
        """Whether the space is frozen while the host runs short of memory: it is stopped then."""
        if not self.is_frozen(state) or self.stop_below_available_mb is None:
            return False
        available_mb = _available_mb()
        if available_mb is not None and available_mb < self.stop_below_available_mb:
            log.info("%s: stopped while frozen: the host has %d MiB available", state.space_id, available_mb)
            return True
        return False

    async def forget(self, space_id: str) -> None:
        """Its instance is stopping (the backend thaws what it stops). Taken under the lock, so that a freeze
        in flight lands before the stop's thaw, not after it on an app being stopped."""
        async with self._lock:
            self._frozen.pop(space_id, None)
            self._memory.pop(space_id, None)


def _available_mb() -> int | None:
    """The host's MemAvailable in MiB, or None where /proc/meminfo does not say."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return None
