"""The supervisor's watcher: every `watch_interval_s` it notices instances that exited (RUNTIME_ERROR
with their last log lines) and spaces idle past their sleep time (STOPPED; the next request wakes them).

A space that falls asleep while it serves behind its latest revision's failure keeps that failure in
its asleep-behind record (`AsleepBehind`), so that waking it shows the failure again (`Supervisor.wake`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from podium_runner.backend import BackendUnavailable
from podium_runner.stages import Stage

from podium.db import Database
from podium.lifecycle.deploys import ERROR_TAIL_LINES
from podium.lifecycle.space_state import SpaceState

if TYPE_CHECKING:
    from podium.lifecycle.supervisor import Supervisor

log = logging.getLogger("podium.supervisor")


class AsleepBehind:
    """The failure a sleeping space fell asleep behind (the spaces table's asleep_behind_* columns)."""

    def __init__(self, db: Database, space_id: str):
        self.db, self.space_id = db, space_id

    def remember(self, stage: Stage, message: str | None) -> None:
        self._write(stage, message)

    def recall(self) -> tuple[Stage, str | None] | None:
        with self.db.session() as session:
            space = self.db.find_space(session, self.space_id)
            if space is None or space.asleep_behind_stage is None:
                return None
            return Stage(space.asleep_behind_stage), space.asleep_behind_message

    def forget(self) -> None:
        self._write(None, None)

    def _write(self, stage: Stage | None, message: str | None) -> None:
        with self.db.session() as session:
            space = self.db.find_space(session, self.space_id)
            if space is not None:
                space.asleep_behind_stage, space.asleep_behind_message = stage, message


async def watch(sup: Supervisor) -> None:
    while True:
        await asyncio.sleep(sup.settings.watch_interval_s)
        await sup.stop_unstopped()
        for state in list(sup.states.values()):
            try:
                await check(sup, state)
            except BackendUnavailable as exc:
                log.warning("%s: cannot poll its instance: %s", state.space_id, exc)


async def check(sup: Supervisor, state: SpaceState) -> None:
    instance = state.instance
    if instance is None:
        return
    ended = await sup.backend.poll(instance)
    if ended is not None and state.instance is instance:
        state.instance = None
        sup.release_gpus_if_idle(state)
        tail = "\n".join(state.run_log.last(ERROR_TAIL_LINES))
        sup.history.run_ended(state.space_id, ended.reason)
        sup.set_stage(
            state.space_id,
            Stage.RUNTIME_ERROR,
            f"the app exited ({ended.reason}). Last log lines:\n{tail}",
            instance_state=None,
        )
        return
    if state.plan is not None and state.plan.recipe.always_on:
        return  # a static space never sleeps (as on Hugging Face)
    sleep_time = _sleep_time(sup, state.space_id)
    await sup.freezer.doze(state, sleep_time)  # the first tier
    idle = time.monotonic() - state.last_activity
    in_use = state.busy or state.visits > 0
    if not in_use and sleep_time and (idle > sleep_time or sup.freezer.short_of_memory(state)):
        stage, message = sup.stage_of(state.space_id)
        if not stage.is_serving:  # the latest revision's failure, which this instance served behind
            sup.asleep_behind(state.space_id).remember(stage, message)
        await sup.retire(state, reason="asleep after no traffic")
        sup.set_stage(
            state.space_id,
            Stage.STOPPED,
            f"asleep after {sleep_time} s without traffic; the next visit wakes it",
            instance_state=None,
        )


def _sleep_time(sup: Supervisor, space_id: str) -> int | None:
    with sup.db.session() as session:
        space = sup.db.find_space(session, space_id)
        if space is None:
            return None
        return space.sleep_time if space.sleep_time is not None else sup.settings.default_sleep_time
