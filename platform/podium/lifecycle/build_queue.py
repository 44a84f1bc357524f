"""At most `max_concurrent_builds` environments are prepared at once; the other deploys wait in line.

Each waiting build's log says how many builds are ahead of it (those preparing and those before it
in line), and says it again each time the line moves, so a space that stays BUILDING shows why.
The line is first come, first served; a deploy cancelled while it waits (a newer push) leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from podium_runner.backend import LogSink


@dataclass
class _Waiting:
    log: LogSink
    turn: asyncio.Future[None]


class BuildQueue:
    def __init__(self, slots: int):
        self.slots = max(1, slots)
        self._preparing = 0
        self._line: list[_Waiting] = []

    @contextlib.asynccontextmanager
    async def slot(self, log: LogSink) -> AsyncIterator[None]:
        """Hold one of the slots for the block, waiting in line (told in `log`) while none is free."""
        await self._take(log)
        try:
            yield
        finally:
            self._give_back()

    async def _take(self, log: LogSink) -> None:
        if self._preparing < self.slots and not self._line:
            self._preparing += 1
            return
        waiting = _Waiting(log, asyncio.get_running_loop().create_future())
        self._line.append(waiting)
        self._tell(waiting, len(self._line) - 1)
        try:
            await waiting.turn
        except asyncio.CancelledError:
            if waiting in self._line:
                place = self._line.index(waiting)
                del self._line[place]
                self._tell_all(since=place)
            elif not waiting.turn.cancelled():
                self._give_back()  # its turn came just as it was cancelled
            raise
        log("A build slot is free: building now")

    def _give_back(self) -> None:
        self._preparing -= 1
        moved = False
        while self._line and self._preparing < self.slots:
            waiting = self._line.pop(0)
            moved = True
            if waiting.turn.cancelled():
                continue  # its deploy was cancelled while it waited
            self._preparing += 1
            waiting.turn.set_result(None)
        if moved:
            self._tell_all()

    def _tell_all(self, since: int = 0) -> None:
        """Tell the builds from place `since` on where they are now."""
        for place in range(since, len(self._line)):
            self._tell(self._line[place], place)

    def _tell(self, waiting: _Waiting, place: int) -> None:
        ahead = self._preparing + place
        waiting.log(
            f"Waiting for a build slot: {ahead} build{'s' if ahead != 1 else ''} ahead "
            f"({self.slots} at a time, PODIUM_MAX_CONCURRENT_BUILDS)"
        )
