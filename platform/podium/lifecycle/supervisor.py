"""The lifecycle supervisor: the one place that moves spaces between stages.

A new revision is checked out, built, started and health-checked (`podium.deploys`); only then does
traffic switch to it, so the old instance keeps serving meanwhile (RUNNING_BUILDING,
RUNNING_APP_STARTING) and keeps serving when the new one fails (the stage says why). A watcher
(`podium.watcher`) notices exits (RUNTIME_ERROR with the last log lines) and idle spaces (STOPPED after
their sleep time); the next request wakes them. After `podium serve` restarts, `podium.recovery` puts
every space back in the stage it should have, re-adopting instances that still run. Builds and runs are
recorded by `podium.history`. Backends are reached only through `podium_runner.backend.Backend`.

The stage speaks of the latest revision (`sha`), as on Hugging Face. When it does not build (or its
configuration is wrong), the older revision that served (`serving_sha`) serves on behind the failure,
started again where it no longer ran (asleep, paused, stopped with Podium), and the space shows the
failure, its message and its build log until a deploy of the latest revision or a newer one succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from podium_runner.backend import Backend, BackendUnavailable, Instance
from podium_runner.gpus import GpuAllocator, ScheduledByBackend, inventory
from podium_runner.stages import Stage

from podium import lfs_store
from podium.db import Database
from podium.lifecycle import deploys, recovery, watcher
from podium.lifecycle.build_queue import BuildQueue
from podium.lifecycle.deploys import LATEST_FAILURES, Intent
from podium.lifecycle.freezing import Freezer
from podium.lifecycle.history import History
from podium.lifecycle.space_state import SpaceState, SpaceStatus
from podium.lifecycle.watcher import AsleepBehind
from podium.logstream import LogStream
from podium.repos import SpaceRepo
from podium.settings import Settings

log = logging.getLogger("podium.supervisor")

BUILD_LOG, RUN_LOG = "build.log", "run.log"  # in `logs_dir/{owner}/{name}/`


class Supervisor:
    def __init__(self, settings: Settings, db: Database, backend: Backend):
        self.settings = settings
        self.db = db
        self.backend = backend
        self.freezer = Freezer(backend, settings.freeze_after_s, settings.frozen_stop_below_available_mb)
        self.history = History(db)
        self.gpus = ScheduledByBackend() if backend.schedules_gpus else GpuAllocator(inventory(settings.gpus))
        self.build_queue = BuildQueue(settings.max_concurrent_builds)
        self.states: dict[str, SpaceState] = {}
        self.draining: set[asyncio.Task[None]] = set()  # replaced instances finishing their requests
        self.closing = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        # Instances whose backend was away when they were to stop (a replaced one after its drain): the
        # watcher stops them once it answers again (`stop_unstopped`), instead of leaving them running.
        self.unstopped: list[tuple[str, Instance]] = []
        backend.watch_notices(self.notice)

    # -- state and stage -------------------------------------------------------------------------

    def state(self, space_id: str) -> SpaceState:
        if space_id not in self.states:
            # Both logs live on disk too, so they outlive a restart of `podium serve`.
            logs = self._logs_of(space_id)
            self.states[space_id] = SpaceState(space_id, LogStream(logs / BUILD_LOG), LogStream(logs / RUN_LOG))
        return self.states[space_id]

    def status(self, space_id: str) -> SpaceStatus:
        """What pages, the spaces origin and the logs may read of a space's state."""
        return SpaceStatus(self.state(space_id))

    def _logs_of(self, space_id: str) -> Path:
        """The space's folder of its logs, which outlive a restart of `podium serve`."""
        return self.settings.logs_dir / space_id

    def asleep_behind(self, space_id: str) -> AsleepBehind:
        return AsleepBehind(self.db, space_id)

    def repo(self, space_id: str) -> SpaceRepo:
        return SpaceRepo(self.settings.repos_dir / f"{space_id}.git")

    async def checkout(self, space_id: str, sha: str) -> Path:
        """The files of revision `sha`, in a work tree of their own (made once, reused afterwards), with
        the content of its LFS files in place of their pointers (again each time: a checkout cut short
        before that is completed by the next)."""
        owner, _, name = space_id.partition("/")
        worktree = self.settings.worktrees_dir / owner / name / sha
        repo = self.repo(space_id)
        await asyncio.to_thread(repo.checkout, sha, worktree)
        await asyncio.to_thread(lfs_store.smudge, worktree, self.settings.data_dir, repo.path)
        return worktree

    def stage_of(self, space_id: str) -> tuple[Stage, str | None]:
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            if space is None:
                return Stage.DELETING, None
            return Stage(space.stage), space.error_message

    def set_stage(self, space_id: str, stage: Stage, message: str | None = None, **columns: object) -> None:
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            if space is None:
                return
            if space.stage != stage:
                log.info(
                    "%s: %s -> %s%s",
                    space_id,
                    space.stage,
                    stage,
                    f" ({message.splitlines()[0]})" if message else "",
                )
            space.stage = stage
            space.error_message = message
            for key, value in columns.items():
                setattr(space, key, value)
        state = self.state(space_id)
        if stage.is_transitional:
            state.build_log(f"===== {stage} =====")
        state.notify()

    def notice(self, space_id: str, stage: Stage | None, message: str | None) -> None:
        """What the backend says of a space it brings back by itself or waits to place (`Notice`). It moves
        a space only between RUNNING and APP_STARTING, and never one a deploy or the owner moved elsewhere."""
        current, _ = self.stage_of(space_id)
        if stage is None and current.is_transitional:
            self.set_stage(space_id, current, message)
        elif stage in (Stage.RUNNING, Stage.APP_STARTING) and current in (Stage.RUNNING, Stage.APP_STARTING):
            if not self.state(space_id).busy:  # a deploy in flight owns the stage
                self.set_stage(space_id, stage, message)

    def fail(self, state: SpaceState, sha: str, stage: Stage, message: str) -> None:
        """End a deploy of `sha` with `stage`, saying whether an older revision serves on behind it."""
        if state.serving or self.revision_behind(state.space_id, sha, stage):
            message += " (the previous revision keeps serving)"
        state.build_log(message)
        self.set_stage(state.space_id, stage, message)

    def revision_behind(self, space_id: str, sha: str, stage: Stage) -> str | None:
        """The older revision that serves behind `sha` failing with `stage`: the one that served last,
        when the failure is one of the latest revision's `LATEST_FAILURES`."""
        if stage not in LATEST_FAILURES:
            return None
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            serving_sha = space.serving_sha if space else None
        return serving_sha if serving_sha != sha else None

    # -- commands --------------------------------------------------------------------------------

    def deploy(self, space_id: str, sha: str, *, rebuild: bool = False, intent: Intent = Intent.NEW_REVISION) -> None:
        """Build and start `sha` for `intent`, replacing any deploy in flight for this space."""
        state = self.state(space_id)
        if state.busy:
            state.task.cancel()
        self.asleep_behind(space_id).forget()  # the space's stage says what it is from now on
        # The stage changes now, not when the task first runs, so a client polling right after its
        # commit never reads the stage of the revision before.
        if intent is Intent.WAKE:
            self.set_stage(space_id, Stage.APP_STARTING, None)
        elif intent is Intent.NEW_REVISION:
            state.build_log.restart()
            self.set_stage(space_id, Stage.RUNNING_BUILDING if state.serving else Stage.BUILDING)
        state.task = asyncio.create_task(
            deploys.deploy(self, space_id, sha, intent, rebuild=rebuild), name=f"deploy {space_id}@{sha[:8]}"
        )

    def instance_for(self, space_id: str, affinity: str | None) -> Instance | None:
        """The instance a client with this affinity cookie belongs on: a draining one it began on,
        else the serving one."""
        state = self.state(space_id)
        return state.draining.get(affinity or "") or state.instance

    async def thaw(self, space_id: str) -> None:
        """Thaw the space's instance if idleness froze it (podium.lifecycle.freezing), before a request reaches it."""
        await self.freezer.wake(self.state(space_id))

    def touch(self, space_id: str) -> None:
        self.state(space_id).last_activity = time.monotonic()

    @contextlib.contextmanager
    def visit(self, space_id: str) -> Iterator[None]:
        """One request, stream or WebSocket the proxy has open to the space: while any is open the space is
        in use, however quiet, and is neither frozen nor put to sleep; its idle time counts from the last
        one's end."""
        state = self.state(space_id)
        state.visits += 1
        state.last_activity = time.monotonic()
        try:
            yield
        finally:
            state.visits -= 1
            state.last_activity = time.monotonic()

    async def wake(self, space_id: str) -> None:
        """Start a STOPPED space again from its serving revision (its environment is reused), behind
        its latest revision's failure when it fell asleep behind one."""
        state = self.state(space_id)
        stage, _ = self.stage_of(space_id)
        if stage != Stage.STOPPED or state.busy:
            return
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            sha = space.serving_sha or space.sha if space else None
        if not sha:
            return
        state.last_activity = time.monotonic()
        failure = self.asleep_behind(space_id).recall()
        if failure is None:
            self.deploy(space_id, sha, intent=Intent.WAKE)
        else:
            self.set_stage(space_id, *failure)
            self.deploy(space_id, sha, intent=Intent.RESTORE_BEHIND_FAILURE)

    async def wait_until_settled(self, space_id: str, timeout: float) -> Stage:
        """Wait while the space is building or starting; return the stage it reached."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(space_id)
            changed = state.changed
            stage, _ = self.stage_of(space_id)
            if not stage.is_transitional and not state.busy:
                return stage
            if state.serving and stage.is_serving:
                return stage
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return stage
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return self.stage_of(space_id)[0]

    async def pause(self, space_id: str) -> None:
        await self._halt(space_id, Stage.PAUSED, "paused by its owner; restart it to run it again")

    async def delete(self, space_id: str) -> None:
        await self._halt(space_id, Stage.DELETING, None)
        state = self.states.pop(space_id)
        state.build_log.release()
        state.run_log.release()
        owner, _, name = space_id.partition("/")
        await asyncio.to_thread(shutil.rmtree, self.settings.worktrees_dir / owner / name, True)
        await asyncio.to_thread(shutil.rmtree, self._logs_of(space_id), True)
        await self.backend.delete_data(space_id)
        await asyncio.to_thread(self.repo(space_id).delete)

    async def move(self, space_id: str, new_id: str) -> None:
        """Stop the space and take what Podium keeps of it on disk (its /data, repository and logs) to
        `new_id`'s places, its record being the caller's to rename; an app runs under one name only, so
        the caller starts it again under the new one. Its work trees go (checkouts are made again)."""
        await self._halt(space_id, Stage.STOPPED, f"moving to {new_id}")
        await self.backend.move_data(space_id, new_id)  # may refuse; the space then stays where it is
        state = self.states.pop(space_id)
        state.build_log.release()
        state.run_log.release()
        owner, _, name = space_id.partition("/")
        await asyncio.to_thread(shutil.rmtree, self.settings.worktrees_dir / owner / name, True)
        places = [(self.repo(space_id).path, self.repo(new_id).path), (self._logs_of(space_id), self._logs_of(new_id))]
        for old, new in places:
            if old.exists():
                new.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(old.rename, new)

    async def _halt(self, space_id: str, stage: Stage, message: str | None) -> None:
        state = self.state(space_id)
        if state.busy:
            state.task.cancel()
            await asyncio.gather(state.task, return_exceptions=True)
        await self.retire(state, reason=stage.lower())
        self.set_stage(space_id, stage, message, instance_state=None)

    # -- instances ending ------------------------------------------------------------------------

    async def retire(self, state: SpaceState, reason: str) -> None:
        """Stop the serving instance, if any, and give back its GPUs."""
        old, state.instance = state.instance, None
        await self.freezer.forget(state.space_id)
        if old is not None:
            await self.stop_instance(state, old, reason)
        self.release_gpus_if_idle(state)

    def release_gpus_if_idle(self, state: SpaceState) -> None:
        """A space that no longer runs gives its GPUs back (stopped, asleep, paused, crashed)."""
        if state.instance is None:
            self.gpus.release(state.space_id)

    async def stop_instance(self, state: SpaceState, instance: Instance, reason: str) -> None:
        try:
            await self.backend.stop(instance)
        except BackendUnavailable as exc:
            log.warning(
                "%s: could not stop an instance (%s), stopping it once the backend answers: %s",
                state.space_id,
                reason,
                exc,
            )
            self.unstopped.append((state.space_id, instance))
        self.history.run_ended(state.space_id, reason)

    # -- Podium starting and stopping ------------------------------------------------------------

    async def stop_unstopped(self) -> None:
        """Stop the instances that could not be stopped while their backend was away, where it answers now."""
        pending, self.unstopped = self.unstopped, []
        for space_id, instance in pending:
            try:
                await self.backend.stop(instance)
                log.info("%s: stopped the instance it could not stop while its backend was away", space_id)
            except BackendUnavailable:
                self.unstopped.append((space_id, instance))

    def start_watching(self) -> None:
        self._watcher = asyncio.create_task(watcher.watch(self), name="podium supervisor watcher")

    async def recover(self) -> None:
        """Put every space back in the stage it should have, re-adopting instances that still run."""
        await recovery.recover(self)

    async def close(self) -> None:
        """Stop watching; stop instances only when configured to (else the next start re-adopts them)."""
        if self._watcher is not None:
            self._watcher.cancel()
        for state in self.states.values():
            if state.busy:
                state.task.cancel()
        self.closing.set()  # replaced instances stop now rather than after their drain time
        await asyncio.gather(*self.draining, return_exceptions=True)
        if self.settings.stop_spaces_on_exit:
            await asyncio.gather(
                *(self.retire(s, "podium stopped") for s in self.states.values()), return_exceptions=True
            )
        await self.backend.close()
