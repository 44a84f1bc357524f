"""The steps of one deploy: check out a revision, read its configuration, build its environment, start
an instance, wait for its health check, then switch traffic to it and let the replaced one drain.

Each failure ends the deploy with the stage that says why (through `Supervisor.fail`), leaving the
instance that served before serving on. What a deploy is for is its `Intent`."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import time
from typing import TYPE_CHECKING

from podium_runner.backend import BackendUnavailable, BuildError, Instance, StartError
from podium_runner.gpus import GpuUnavailable
from podium_runner.hardware import flavor
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage

from podium import space_hub
from podium.disk_full import disk_full_message, is_disk_full
from podium.lifecycle.space_state import SpaceState, affinity_key
from podium.oauth.config import oauth_request
from podium.oauth.deploy import app_oauth
from podium.pause_points import pause_at

if TYPE_CHECKING:
    from podium.lifecycle.supervisor import Supervisor

log = logging.getLogger("podium.supervisor")

ERROR_TAIL_LINES = 20
# Failures of the latest revision that leave the older one serving behind them (started again if need be).
LATEST_FAILURES = (Stage.BUILD_ERROR, Stage.CONFIG_ERROR, Stage.NO_APP_FILE)


class Intent(enum.Enum):
    """What a deploy is for, which decides the stages it shows on its way."""

    # The latest revision: BUILDING (RUNNING_BUILDING while an older one serves), then APP_STARTING,
    # then RUNNING; its build log starts afresh.
    NEW_REVISION = "a new revision"
    # The serving revision again after its sleep: APP_STARTING, then RUNNING.
    WAKE = "a wake"
    # The serving revision again behind the latest revision's failure: the space keeps showing that
    # failure (stage, message, build log); this restart's output goes to the run log.
    RESTORE_BEHIND_FAILURE = "a restore behind a failure"


async def deploy(sup: Supervisor, space_id: str, sha: str, intent: Intent, *, rebuild: bool) -> None:
    """The body of a deploy task (`Supervisor.deploy` starts it)."""
    state = sup.state(space_id)
    try:
        await _attempt(sup, state, sha, intent, rebuild=rebuild)
        older = None if state.serving else sup.revision_behind(space_id, sha, sup.stage_of(space_id)[0])
        if older is not None:
            # The latest revision failed while the older one was not running (asleep, paused):
            # that one serves again behind the failure, as after a restart of `podium serve`.
            await _attempt(sup, state, older, Intent.RESTORE_BEHIND_FAILURE, rebuild=False)
    finally:
        if state.task is asyncio.current_task():  # a superseded deploy leaves the new build's log open
            state.build_log.close()
        state.notify()  # who waits for the space to settle also waits for this task to end


async def _attempt(sup: Supervisor, state: SpaceState, sha: str, intent: Intent, *, rebuild: bool) -> None:
    try:
        await _steps(sup, state, sha, intent, rebuild=rebuild)
    except asyncio.CancelledError:
        raise
    except BackendUnavailable as exc:
        sup.fail(
            state,
            sha,
            Stage.BUILD_ERROR,
            f"the {sup.backend.name} backend is unavailable: {exc}. Restart the space once it is back",
        )
    except Exception as exc:  # a bug must not leave the space stuck in BUILDING forever
        if is_disk_full(exc):
            sup.fail(state, sha, Stage.BUILD_ERROR, disk_full_message(f"the deploy of {sha[:8]}", "restart the space"))
            return
        log.exception("%s: deploy of %s failed", state.space_id, sha[:8])
        sup.fail(state, sha, Stage.BUILD_ERROR, f"Podium failed while deploying {sha[:8]}: {exc!r}")


def _stage_when_serving(sup: Supervisor, space_id: str, intent: Intent) -> tuple[Stage, str | None]:
    """RUNNING once a revision serves, or the failure it serves behind when restored behind one."""
    return sup.stage_of(space_id) if intent is Intent.RESTORE_BEHIND_FAILURE else (Stage.RUNNING, None)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


async def _steps(sup: Supervisor, state: SpaceState, sha: str, intent: Intent, *, rebuild: bool) -> None:
    space_id = state.space_id
    owner, _, name = space_id.partition("/")
    settings = sup.settings
    worktree = await sup.checkout(space_id, sha)
    try:
        spec = await asyncio.to_thread(load_spec, worktree)
        plan = make_plan(spec)
        asked_oauth = oauth_request(spec.card_data())  # hf_oauth: a bad value is a CONFIG_ERROR
        sup.backend.check(plan)
    except SpaceConfigError as exc:
        sup.fail(state, sha, exc.stage, str(exc))
        return
    with sup.db.session() as session:
        space = sup.db.find_space(session, space_id)
        if space is None:
            return
        space.sdk, space.card_data = spec.sdk, spec.card_data()
        env = {v.key: v.value for v in space.variables} | {s.key: s.reveal() for s in space.secrets}
        oauth = app_oauth(settings, session, space, asked_oauth)
        env |= oauth.variables
        hardware = space.hardware

    serving = state.serving
    build_id = sup.history.build_started(space_id, sha)
    try:
        # Restarting the serving revision is part of its instance's story, not of the latest build's.
        prepare_log = state.run_log if intent is Intent.RESTORE_BEHIND_FAILURE else state.build_log
        # The stage stays BUILDING while it waits for a slot; what has nothing to build does not wait.
        async with sup.build_queue.slot(prepare_log) if plan.recipe.builds else contextlib.nullcontext():
            environment = await sup.backend.prepare(plan, prepare_log, rebuild=rebuild, space_id=space_id)
    except BuildError as exc:
        sup.history.build_finished(build_id, exc.stage)
        tail = "\n".join(exc.tail[-ERROR_TAIL_LINES:])
        sup.fail(state, sha, exc.stage, f"build of {sha[:8]} failed: {exc}" + (f"\n{tail}" if tail else ""))
        return
    sup.history.build_finished(build_id, Stage.RUNNING, environment.key)

    if intent is not Intent.RESTORE_BEHIND_FAILURE:
        sup.set_stage(space_id, Stage.RUNNING_APP_STARTING if serving else Stage.APP_STARTING)
    try:
        # A new revision of a GPU space shares its devices with the old one until that one drains.
        gpu_ids = sup.gpus.allocate(space_id, flavor(hardware).gpus)
    except GpuUnavailable as exc:
        sup.fail(state, sha, Stage.RUNTIME_ERROR, str(exc))
        return
    # HF_ENDPOINT and a read token: spaces load models from Podium
    hub = space_hub.grant(sup.db, space_id, env, runs_code=not plan.recipe.always_on)
    ctx = RunContext(
        space_id=space_id,
        port=free_port(settings.host),
        host=settings.host,
        root_path=settings.space_path(space_id),
        public_host=settings.space_url(space_id).split("://", 1)[1].split("/", 1)[0],
        title=spec.card.title or name,
        env=env | hub.variables,
        model_cache=settings.model_cache,
        gpu_ids=gpu_ids,
        hardware=hardware,
        platform=space_hub.platform_for(settings, oauth.platform, hub),
    )
    try:
        instance = await sup.backend.start(plan, environment, ctx, state.run_log)
    except StartError as exc:
        sup.release_gpus_if_idle(state)
        sup.fail(state, sha, exc.stage, f"revision {sha[:8]} did not start: {exc}")
        return
    try:
        await wait_until_ready(sup.backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s)
    except StartError as exc:
        await sup.backend.stop(instance)
        sup.release_gpus_if_idle(state)
        sup.fail(state, sha, exc.stage, f"revision {sha[:8]} did not start: {exc}")
        return
    except asyncio.CancelledError:
        await sup.backend.stop(instance)
        sup.release_gpus_if_idle(state)
        raise
    _switch(sup, state, instance, plan, sha, intent)
    space_hub.retire(sup.db, space_id, keep=hub.token_id)  # the replaced instance's token ends with it


def _switch(sup: Supervisor, state: SpaceState, instance: Instance, plan: BuildPlan, sha: str, intent: Intent) -> None:
    """Send new traffic to `instance`; requests already inside the old one (a queued prediction, a
    stream) finish there while it drains."""
    pause_at("deploy.switch")  # the new instance answers; the old one still takes the traffic
    old = state.instance
    state.instance, state.plan = instance, plan
    state.last_activity = time.monotonic()
    sup.history.run_started(state.space_id, sha)
    sup.set_stage(
        state.space_id,
        *_stage_when_serving(sup, state.space_id, intent),
        serving_sha=sha,
        instance_state=instance.state,
    )
    if old is not None:
        state.draining[affinity_key(old)] = old
        drain = asyncio.create_task(_drain_then_stop(sup, state, old, f"replaced by {sha[:8]}"))
        sup.draining.add(drain)
        drain.add_done_callback(sup.draining.discard)


async def _drain_then_stop(sup: Supervisor, state: SpaceState, instance: Instance, reason: str) -> None:
    with contextlib.suppress(TimeoutError):  # cut short when Podium stops
        await asyncio.wait_for(sup.closing.wait(), sup.settings.drain_s)
    state.draining.pop(affinity_key(instance), None)
    await sup.stop_instance(state, instance, reason)
