"""After `podium serve` restarts: every space back in the stage it should have, its instance re-adopted
where it still runs, and instances no space owns stopped. First the database agrees with the
repositories again (`podium.lifecycle.consistency`): a space whose branch moved past its record deploys
that revision, whatever stage it was left in.

What happens to a space is a table from the stage it was left in to an action, one table for a space
whose instance was re-adopted and one for a space without one (never started, gone, or unreachable)."""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import TYPE_CHECKING, Any

from podium_runner.backend import BackendUnavailable, Instance, LogSink
from podium_runner.plan import BuildPlan, make_plan
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage
from sqlalchemy import select

from podium.db import Space
from podium.lifecycle.consistency import reconcile
from podium.lifecycle.deploys import LATEST_FAILURES, Intent

if TYPE_CHECKING:
    from podium.lifecycle.supervisor import Supervisor

log = logging.getLogger("podium.supervisor")


class Action(enum.Enum):
    LEAVE = "leave the stage as it is"
    DEPLOY_LATEST = "deploy the latest revision again"
    SHOW_RUNNING = "show the re-adopted instance RUNNING"
    # A latest revision that did not start stays the news while an older one serves behind it.
    SHOW_RUNNING_UNLESS_BEHIND = "show RUNNING, unless the instance serves behind the latest revision"
    # A failed new revision had left an old one serving: bring the old one back and keep showing why
    # the new one failed (its stage, message and build log), as before the restart.
    RESTORE_BEHIND_FAILURE = "start the serving revision behind the latest revision's failure"


WITH_INSTANCE: dict[Stage, Action] = {
    Stage.RUNNING_BUILDING: Action.DEPLOY_LATEST,  # the switch it was in the middle of
    Stage.RUNNING_APP_STARTING: Action.DEPLOY_LATEST,
    Stage.RUNNING: Action.SHOW_RUNNING,
    Stage.BUILDING: Action.SHOW_RUNNING,
    Stage.APP_STARTING: Action.SHOW_RUNNING,
    Stage.RUNTIME_ERROR: Action.SHOW_RUNNING_UNLESS_BEHIND,
    # Others (BUILD_ERROR, CONFIG_ERROR, NO_APP_FILE): the instance serves behind that failure.
}
WITHOUT_INSTANCE: dict[Stage, Action] = {
    **{stage: Action.DEPLOY_LATEST for stage in Stage if stage.is_serving or stage.is_transitional},
    **{stage: Action.RESTORE_BEHIND_FAILURE for stage in LATEST_FAILURES},
}
# Left alone whatever their instance: a paused or sleeping space starts on its owner's or visitor's word.
AT_REST = (Stage.PAUSED, Stage.STOPPED)


async def recover(sup: Supervisor) -> None:
    moved = await asyncio.to_thread(reconcile, sup)
    with sup.db.session() as session:
        spaces = [
            (s.space_id, Stage(s.stage), s.sha, s.serving_sha, s.instance_state) for s in session.scalars(select(Space))
        ]
    known: set[str] = set()
    for space_id, stage, sha, serving_sha, instance_state in spaces:
        state = sup.state(space_id)
        if sha is None or (stage in AT_REST and space_id not in moved):
            continue
        instance = None
        if serving_sha and instance_state:
            instance = await _adopt(sup, space_id, instance_state, state.run_log)
        if instance is not None:
            state.instance = instance
            sup.gpus.adopt(space_id, instance.gpu_ids)
            state.plan = await _plan_for(sup, space_id, serving_sha)
            known.add(instance.instance_id)
            log.info("%s: re-adopted its running instance", space_id)
            action = WITH_INSTANCE.get(stage, Action.LEAVE)
        else:
            action = WITHOUT_INSTANCE.get(stage, Action.LEAVE)
        if space_id in moved:  # as right after its commit
            action = Action.DEPLOY_LATEST
        if action is Action.DEPLOY_LATEST:
            sup.deploy(space_id, sha)
        elif action is Action.SHOW_RUNNING or (action is Action.SHOW_RUNNING_UNLESS_BEHIND and serving_sha == sha):
            sup.set_stage(space_id, Stage.RUNNING, None)
        elif action is Action.RESTORE_BEHIND_FAILURE and serving_sha:
            sup.deploy(space_id, serving_sha, intent=Intent.RESTORE_BEHIND_FAILURE)
    await _stop_orphans(sup, known)


async def _stop_orphans(sup: Supervisor, known: set[str]) -> None:
    try:
        orphans = await sup.backend.list_orphans(known)
    except BackendUnavailable as exc:
        log.warning("could not look for instances no space owns: %s", exc)
        orphans = []
    for orphan in orphans:
        instance = await _adopt(sup, orphan.get("space_id", "?"), orphan, lambda _line: None)
        if instance is not None:
            log.info("stopping an instance no space owns: %s", instance.space_id)
            await sup.backend.stop(instance)


async def _adopt(sup: Supervisor, space_id: str, instance_state: dict[str, Any], sink: LogSink) -> Instance | None:
    try:
        return await sup.backend.adopt(instance_state, sink)
    except BackendUnavailable as exc:
        # The space is started afresh instead; its old instance, if any, is found as an orphan later.
        log.warning("%s: could not re-adopt its instance: %s", space_id, exc)
        return None


async def _plan_for(sup: Supervisor, space_id: str, sha: str) -> BuildPlan | None:
    worktree = await sup.checkout(space_id, sha)
    try:
        return make_plan(await asyncio.to_thread(load_spec, worktree))
    except SpaceConfigError:
        return None
