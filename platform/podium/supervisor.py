"""The lifecycle supervisor: the one place that moves spaces between stages.

A new revision is checked out, built, started and health-checked; only then does traffic switch to
it, so the old instance keeps serving meanwhile (RUNNING_BUILDING, RUNNING_APP_STARTING) and keeps
serving when the new one fails (the stage says why). A watcher notices exits (RUNTIME_ERROR with the
last log lines) and idle spaces (STOPPED after their sleep time); the next request wakes them. After
`podium serve` restarts, `recover` puts every space back in the stage it should have, re-adopting
instances that still run. Backends are reached only through `podium_runner.backend.Backend`.

The stage speaks of the latest revision (`sha`), as on Hugging Face. When it does not build (or its
configuration is wrong), the older revision that served (`serving_sha`) serves on behind the failure,
started again where it no longer ran (asleep, paused, stopped with Podium), and the space shows the
failure, its message and its build log until a deploy of the latest revision or a newer one succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from podium_runner.backend import Backend, BackendUnavailable, BuildError, Instance, LogSink, StartError
from podium_runner.gpus import GpuAllocator, GpuUnavailable, inventory
from podium_runner.hardware import flavor
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage
from sqlalchemy import select

from podium.build_queue import BuildQueue
from podium.db import Build, Database, Run, Space, now
from podium.logstream import LogStream
from podium.repos import SpaceRepo
from podium.settings import Settings

log = logging.getLogger("podium.supervisor")

ERROR_TAIL_LINES = 20
BUILD_LOG, RUN_LOG = "build.log", "run.log"  # in `logs_dir/{owner}/{name}/`
# Also there while the space sleeps behind its latest revision's failure: that stage and message, which
# the database holds again once the older revision wakes.
ASLEEP_BEHIND = "asleep-behind.json"
# Failures of the latest revision that leave the older one serving behind them (started again if need be).
LATEST_FAILURES = (Stage.BUILD_ERROR, Stage.CONFIG_ERROR, Stage.NO_APP_FILE)


@dataclass
class SpaceState:
    """What the supervisor holds in memory for one space (the database holds the rest)."""

    space_id: str
    build_log: LogStream
    run_log: LogStream
    instance: Instance | None = None
    plan: BuildPlan | None = None  # the plan of the serving instance
    static_root: Path | None = None  # a static space serves this checkout
    task: asyncio.Task[None] | None = None
    # Replaced instances that still finish what their sessions started, by `affinity_key`.
    draining: dict[str, Instance] = field(default_factory=dict)
    last_activity: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def serving(self) -> bool:
        return self.instance is not None or self.static_root is not None

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


def affinity_key(instance: Instance) -> str:
    """An opaque name for an instance, carried in a cookie so that one client session (Gradio's
    queue/join, then queue/data) stays on the instance where it began, across a switch."""
    return hashlib.sha256(instance.url.encode()).hexdigest()[:16]


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Supervisor:
    def __init__(self, settings: Settings, db: Database, backend: Backend):
        self.settings = settings
        self.db = db
        self.backend = backend
        self.gpus = GpuAllocator(inventory(settings.gpus))
        self.build_queue = BuildQueue(settings.max_concurrent_builds)
        self.states: dict[str, SpaceState] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._draining: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    # -- state and stage -------------------------------------------------------------------------

    def state(self, space_id: str) -> SpaceState:
        if space_id not in self.states:
            # Both logs live on disk too, so they outlive a restart of `podium serve`.
            logs = self._logs_of(space_id)
            self.states[space_id] = SpaceState(space_id, LogStream(logs / BUILD_LOG), LogStream(logs / RUN_LOG))
        return self.states[space_id]

    def _logs_of(self, space_id: str) -> Path:
        """The space's folder of what outlives a restart of `podium serve`: its logs, its asleep-behind record."""
        return self.settings.logs_dir / space_id

    def repo(self, space_id: str) -> SpaceRepo:
        return SpaceRepo(self.settings.repos_dir / f"{space_id}.git")

    def stage_of(self, space_id: str) -> tuple[Stage, str | None]:
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            if space is None:
                return Stage.DELETING, None
            return Stage(space.stage), space.error_message

    def _set_stage(self, space_id: str, stage: Stage, message: str | None = None, **columns: object) -> None:
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

    # -- commands --------------------------------------------------------------------------------

    def deploy(
        self, space_id: str, sha: str, *, rebuild: bool = False, waking: bool = False, keep_stage: bool = False
    ) -> None:
        """Build and start `sha`, replacing any deploy in flight for this space. `keep_stage` starts the
        serving revision again behind the stage the space shows (its latest revision's failure), leaving
        that stage, its message and the build log as they are."""
        state = self.state(space_id)
        if state.task is not None and not state.task.done():
            state.task.cancel()
        self._asleep_behind(space_id).unlink(missing_ok=True)  # the database holds the stage from now on
        # The stage changes now, not when the task first runs, so a client polling right after its
        # commit never reads the stage of the revision before.
        if waking:
            self._set_stage(space_id, Stage.APP_STARTING, None)
        elif not keep_stage:
            state.build_log.restart()
            self._set_stage(space_id, Stage.RUNNING_BUILDING if state.serving else Stage.BUILDING)
        state.task = asyncio.create_task(
            self._deploy(space_id, sha, rebuild=rebuild, keep_stage=keep_stage), name=f"deploy {space_id}@{sha[:8]}"
        )

    def instance_for(self, space_id: str, affinity: str | None) -> Instance | None:
        """The instance a client with this affinity cookie belongs on: a draining one it began on,
        else the serving one."""
        state = self.state(space_id)
        return state.draining.get(affinity or "") or state.instance

    def touch(self, space_id: str) -> None:
        self.state(space_id).last_activity = time.monotonic()

    async def wake(self, space_id: str) -> None:
        """Start a STOPPED space again from its serving revision (its environment is reused), behind
        its latest revision's failure when it fell asleep behind one."""
        state = self.state(space_id)
        stage, _ = self.stage_of(space_id)
        if stage != Stage.STOPPED or (state.task is not None and not state.task.done()):
            return
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            sha = space.serving_sha or space.sha if space else None
        if not sha:
            return
        state.last_activity = time.monotonic()
        failure = self._asleep_behind_failure(space_id)
        if failure is None:
            self.deploy(space_id, sha, waking=True)
        else:
            self._set_stage(space_id, *failure)
            self.deploy(space_id, sha, keep_stage=True)

    def _asleep_behind(self, space_id: str) -> Path:
        return self._logs_of(space_id) / ASLEEP_BEHIND

    def _asleep_behind_failure(self, space_id: str) -> tuple[Stage, str | None] | None:
        try:
            failure = json.loads(self._asleep_behind(space_id).read_text())
            return Stage(failure["stage"]), failure["errorMessage"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:  # a record cut short when the machine went down
            log.warning("%s: forgetting an unreadable %s: %s", space_id, ASLEEP_BEHIND, exc)
            return None

    async def wait_until_settled(self, space_id: str, timeout: float) -> Stage:
        """Wait while the space is building or starting; return the stage it reached."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(space_id)
            changed = state.changed
            stage, _ = self.stage_of(space_id)
            if not stage.is_transitional and not (state.task is not None and not state.task.done()):
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

    async def _halt(self, space_id: str, stage: Stage, message: str | None) -> None:
        state = self.state(space_id)
        if state.task is not None and not state.task.done():
            state.task.cancel()
            await asyncio.gather(state.task, return_exceptions=True)
        await self._retire(state, reason=stage.lower())
        state.static_root = None
        self._set_stage(space_id, stage, message, instance_state=None)

    # -- the deploy pipeline ---------------------------------------------------------------------

    async def _deploy(self, space_id: str, sha: str, *, rebuild: bool, keep_stage: bool) -> None:
        state = self.state(space_id)
        try:
            await self._attempt(state, sha, rebuild=rebuild, keep_stage=keep_stage)
            older = None if state.serving else self._revision_behind(space_id, sha, self.stage_of(space_id)[0])
            if older is not None:
                # The latest revision failed while the older one was not running (asleep, paused):
                # that one serves again behind the failure, as after a restart of `podium serve`.
                await self._attempt(state, older, rebuild=False, keep_stage=True)
        finally:
            if state.task is asyncio.current_task():  # a superseded deploy leaves the new build's log open
                state.build_log.close()
            state.notify()  # who waits for the space to settle also waits for this task to end

    async def _attempt(self, state: SpaceState, sha: str, *, rebuild: bool, keep_stage: bool) -> None:
        try:
            await self._deploy_steps(state, sha, rebuild=rebuild, keep_stage=keep_stage)
        except asyncio.CancelledError:
            raise
        except BackendUnavailable as exc:
            self._fail(
                state,
                sha,
                Stage.BUILD_ERROR,
                f"the {self.backend.name} backend is unavailable: {exc}. Restart the space once it is back",
            )
        except Exception as exc:  # a bug must not leave the space stuck in BUILDING forever
            log.exception("%s: deploy of %s failed", state.space_id, sha[:8])
            self._fail(state, sha, Stage.BUILD_ERROR, f"Podium failed while deploying {sha[:8]}: {exc!r}")

    def _fail(self, state: SpaceState, sha: str, stage: Stage, message: str) -> None:
        if state.serving or self._revision_behind(state.space_id, sha, stage):
            message += " (the previous revision keeps serving)"
        state.build_log(message)
        self._set_stage(state.space_id, stage, message)

    def _revision_behind(self, space_id: str, sha: str, stage: Stage) -> str | None:
        """The older revision that serves behind `sha` failing with `stage`: the one that served last,
        when the failure is one of the latest revision's `LATEST_FAILURES`."""
        if stage not in LATEST_FAILURES:
            return None
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            serving_sha = space.serving_sha if space else None
        return serving_sha if serving_sha != sha else None

    def _stage_when_serving(self, space_id: str, keep_stage: bool) -> tuple[Stage, str | None]:
        """RUNNING once a revision serves, or the failure it serves behind when it `keep_stage`s."""
        return self.stage_of(space_id) if keep_stage else (Stage.RUNNING, None)

    async def _deploy_steps(self, state: SpaceState, sha: str, *, rebuild: bool, keep_stage: bool) -> None:
        space_id = state.space_id
        owner, _, name = space_id.partition("/")
        worktree = await asyncio.to_thread(
            self.repo(space_id).checkout, sha, self.settings.worktrees_dir / owner / name / sha
        )
        try:
            spec = await asyncio.to_thread(load_spec, worktree)
            plan = make_plan(spec)
            if plan.kind != "static":
                self.backend.check(plan)
        except SpaceConfigError as exc:
            self._fail(state, sha, exc.stage, str(exc))
            return
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            if space is None:
                return
            space.sdk, space.card_data = spec.sdk, spec.card_data()
            env = {v.key: v.value for v in space.variables} | {s.key: s.value for s in space.secrets}
            hardware = space.hardware

        if plan.kind == "static":
            await self._retire(state, reason="replaced by a static revision")
            state.static_root, state.plan = worktree, plan
            self._set_stage(
                space_id, *self._stage_when_serving(space_id, keep_stage), serving_sha=sha, instance_state=None
            )
            return

        serving = state.serving
        build_id = self._record_build(space_id, sha)
        try:
            # Restarting the serving revision is part of its instance's story, not of the latest build's.
            prepare_log = state.run_log if keep_stage else state.build_log
            async with self.build_queue.slot(prepare_log):  # the stage stays BUILDING while it waits
                environment = await self.backend.prepare(plan, prepare_log, rebuild=rebuild, space_id=space_id)
        except BuildError as exc:
            self._finish_build(build_id, Stage.BUILD_ERROR)
            tail = "\n".join(exc.tail[-ERROR_TAIL_LINES:])
            self._fail(
                state, sha, Stage.BUILD_ERROR, f"build of {sha[:8]} failed: {exc}" + (f"\n{tail}" if tail else "")
            )
            return
        self._finish_build(build_id, Stage.RUNNING, environment.key)

        if not keep_stage:
            self._set_stage(space_id, Stage.RUNNING_APP_STARTING if serving else Stage.APP_STARTING)
        try:
            # A new revision of a GPU space shares its devices with the old one until that one drains.
            gpu_ids = self.gpus.allocate(space_id, flavor(hardware).gpus)
        except GpuUnavailable as exc:
            self._fail(state, sha, Stage.RUNTIME_ERROR, str(exc))
            return
        ctx = RunContext(
            space_id=space_id,
            port=free_port(self.settings.host),
            host=self.settings.host,
            root_path=self.settings.space_path(space_id),
            public_host=self.settings.space_url(space_id).split("://", 1)[1].split("/", 1)[0],
            title=spec.card.title or name,
            env=env,
            model_cache=self.settings.model_cache,
            gpu_ids=gpu_ids,
            hardware=hardware,
        )
        try:
            instance = await self.backend.start(plan, environment, ctx, state.run_log)
        except StartError as exc:
            self._release_gpus_if_idle(state)
            self._fail(state, sha, Stage.RUNTIME_ERROR, f"revision {sha[:8]} did not start: {exc}")
            return
        try:
            await wait_until_ready(
                self.backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s
            )
        except StartError as exc:
            await self.backend.stop(instance)
            self._release_gpus_if_idle(state)
            self._fail(state, sha, Stage.RUNTIME_ERROR, f"revision {sha[:8]} did not start: {exc}")
            return
        except asyncio.CancelledError:
            await self.backend.stop(instance)
            self._release_gpus_if_idle(state)
            raise
        old = state.instance
        state.instance, state.plan, state.static_root = instance, plan, None
        state.last_activity = time.monotonic()
        self._record_run(space_id, sha)
        self._set_stage(
            space_id, *self._stage_when_serving(space_id, keep_stage), serving_sha=sha, instance_state=instance.state
        )
        if old is not None:
            # Requests already inside the old instance (a queued prediction, a stream) finish there;
            # new ones go to the new instance from now on.
            state.draining[affinity_key(old)] = old
            drain = asyncio.create_task(self._drain_then_stop(state, old, f"replaced by {sha[:8]}"))
            self._draining.add(drain)
            drain.add_done_callback(self._draining.discard)

    async def _drain_then_stop(self, state: SpaceState, instance: Instance, reason: str) -> None:
        with contextlib.suppress(TimeoutError):  # cut short when Podium stops
            await asyncio.wait_for(self._closing.wait(), self.settings.drain_s)
        state.draining.pop(affinity_key(instance), None)
        await self._stop_instance(state, instance, reason)

    async def _retire(self, state: SpaceState, reason: str) -> None:
        old, state.instance = state.instance, None
        if old is not None:
            await self._stop_instance(state, old, reason)
        self._release_gpus_if_idle(state)

    def _release_gpus_if_idle(self, state: SpaceState) -> None:
        """A space that no longer runs gives its GPUs back (stopped, asleep, paused, crashed)."""
        if state.instance is None:
            self.gpus.release(state.space_id)

    async def _stop_instance(self, state: SpaceState, instance: Instance, reason: str) -> None:
        try:
            await self.backend.stop(instance)
        except BackendUnavailable as exc:
            log.warning("%s: could not stop an instance (%s): %s", state.space_id, reason, exc)
        self._end_run(state.space_id, reason)

    # -- history ----------------------------------------------------------------------------------

    def _space_pk(self, session, space_id: str) -> int | None:
        space = self.db.find_space(session, space_id)
        return None if space is None else space.id

    def _record_build(self, space_id: str, sha: str) -> int | None:
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            if pk is None:
                return None
            build = Build(space_id=pk, sha=sha)
            session.add(build)
            session.flush()
            return build.id

    def _finish_build(self, build_id: int | None, outcome: Stage, environment: str | None = None) -> None:
        with self.db.session() as session:
            build = session.get(Build, build_id) if build_id else None
            if build is not None:
                build.outcome, build.environment, build.finished_at = outcome, environment, now()

    def _record_run(self, space_id: str, sha: str) -> None:
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            if pk is not None:
                session.add(Run(space_id=pk, sha=sha))

    def _end_run(self, space_id: str, reason: str) -> None:
        with self.db.session() as session:
            pk = self._space_pk(session, space_id)
            run = (
                session.scalar(select(Run).where(Run.space_id == pk, Run.ended_at.is_(None)).order_by(Run.id))
                if pk
                else None
            )
            if run is not None:
                run.ended_at, run.end_reason = now(), reason

    # -- watching: exits and sleep ----------------------------------------------------------------

    def start_watching(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="podium supervisor watcher")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watch_interval_s)
            for state in list(self.states.values()):
                try:
                    await self._check(state)
                except BackendUnavailable as exc:
                    log.warning("%s: cannot poll its instance: %s", state.space_id, exc)

    async def _check(self, state: SpaceState) -> None:
        instance = state.instance
        if instance is None:
            return
        ended = await self.backend.poll(instance)
        if ended is not None and state.instance is instance:
            state.instance = None
            self._release_gpus_if_idle(state)
            tail = "\n".join(state.run_log.last(ERROR_TAIL_LINES))
            self._end_run(state.space_id, ended.reason)
            self._set_stage(
                state.space_id,
                Stage.RUNTIME_ERROR,
                f"the app exited ({ended.reason}). Last log lines:\n{tail}",
                instance_state=None,
            )
            return
        busy = state.task is not None and not state.task.done()
        sleep_time = self._sleep_time(state.space_id)
        if not busy and sleep_time and time.monotonic() - state.last_activity > sleep_time:
            stage, message = self.stage_of(state.space_id)
            if not stage.is_serving:  # the latest revision's failure, which this instance served behind
                path = self._asleep_behind(state.space_id)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"stage": stage, "errorMessage": message}))
            await self._retire(state, reason="asleep after no traffic")
            self._set_stage(
                state.space_id,
                Stage.STOPPED,
                f"asleep after {sleep_time} s without traffic; the next visit wakes it",
                instance_state=None,
            )

    def _sleep_time(self, space_id: str) -> int | None:
        with self.db.session() as session:
            space = self.db.find_space(session, space_id)
            if space is None:
                return None
            return space.sleep_time if space.sleep_time is not None else self.settings.default_sleep_time

    # -- after a restart of `podium serve` -------------------------------------------------------

    async def recover(self) -> None:
        """Put every space back in the stage it should have, re-adopting instances that still run."""
        with self.db.session() as session:
            spaces = [
                (s.space_id, Stage(s.stage), s.sha, s.serving_sha, s.instance_state)
                for s in session.scalars(select(Space))
            ]
        known: set[str] = set()
        for space_id, stage, sha, serving_sha, instance_state in spaces:
            state = self.state(space_id)
            if stage in (Stage.PAUSED, Stage.STOPPED) or sha is None:
                continue
            if serving_sha and instance_state:
                instance = await self._adopt(space_id, instance_state, state.run_log)
                if instance is not None:
                    state.instance = instance
                    self.gpus.adopt(space_id, instance.gpu_ids)
                    state.plan = await self._plan_for(space_id, serving_sha)
                    known.add(instance.instance_id)
                    # A latest revision that did not start stays the news; this older one serves behind it.
                    behind_failure = stage is Stage.RUNTIME_ERROR and serving_sha != sha
                    if stage in (Stage.RUNNING_BUILDING, Stage.RUNNING_APP_STARTING):
                        self.deploy(space_id, sha)
                    elif stage in (Stage.RUNNING, Stage.RUNTIME_ERROR, Stage.BUILDING, Stage.APP_STARTING) \
                            and not behind_failure:
                        self._set_stage(space_id, Stage.RUNNING, None)
                    log.info("%s: re-adopted its running instance", space_id)
                    continue
            if stage.is_serving or stage.is_transitional:
                self.deploy(space_id, sha)
            elif serving_sha and stage in LATEST_FAILURES:
                # A failed new revision had left an old one serving: bring the old one back, and keep
                # showing why the new one failed (its stage, message and build log), as before the restart.
                self.deploy(space_id, serving_sha, keep_stage=True)
        try:
            orphans = await self.backend.list_orphans(known)
        except BackendUnavailable as exc:
            log.warning("could not look for instances no space owns: %s", exc)
            orphans = []
        for orphan in orphans:
            instance = await self._adopt(orphan.get("space_id", "?"), orphan, lambda _line: None)
            if instance is not None:
                log.info("stopping an instance no space owns: %s", instance.space_id)
                await self.backend.stop(instance)

    async def _adopt(self, space_id: str, instance_state: dict, sink: LogSink) -> Instance | None:
        try:
            return await self.backend.adopt(instance_state, sink)
        except BackendUnavailable as exc:
            # The space is started afresh instead; its old instance, if any, is found as an orphan later.
            log.warning("%s: could not re-adopt its instance: %s", space_id, exc)
            return None

    async def _plan_for(self, space_id: str, sha: str) -> BuildPlan | None:
        owner, _, name = space_id.partition("/")
        worktree = await asyncio.to_thread(
            self.repo(space_id).checkout, sha, self.settings.worktrees_dir / owner / name / sha
        )
        try:
            return make_plan(await asyncio.to_thread(load_spec, worktree))
        except SpaceConfigError:
            return None

    async def close(self) -> None:
        """Stop watching; stop instances only when configured to (else the next start re-adopts them)."""
        if self._watcher is not None:
            self._watcher.cancel()
        for state in self.states.values():
            if state.task is not None and not state.task.done():
                state.task.cancel()
        self._closing.set()  # replaced instances stop now rather than after their drain time
        await asyncio.gather(*self._draining, return_exceptions=True)
        if self.settings.stop_spaces_on_exit:
            await asyncio.gather(
                *(self._retire(s, "podium stopped") for s in self.states.values()), return_exceptions=True
            )
        await self.backend.close()
