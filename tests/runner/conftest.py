"""Fixtures for the runner tests: one process backend's folders per session, environments shared
across sessions (tests/support/process_spaces.py), and a way to run a space to its first answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from podium_runner.backend import Environment, Instance, LogSink
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.spec import load_spec

from tests.support.process_spaces import free_port, shared_folders


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> ProcessFolders:
    return shared_folders(tmp_path_factory.mktemp("process-backend"))


@dataclass
class Running:
    plan: BuildPlan
    env: Environment
    instance: Instance
    build_log: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def running(
    backend: ProcessBackend, folder: Path, space_id: str = "tests/space", log: LogSink = lambda line: None
) -> AsyncIterator[Running]:
    """Build and start the space at `folder` (its output going to `log`), wait for its first answer,
    and stop it afterwards."""
    plan = make_plan(load_spec(folder))
    build_log: list[str] = []
    env = await backend.prepare(plan, build_log.append)
    ctx = RunContext(space_id=space_id, port=free_port())
    instance = await backend.start(plan, env, ctx, log)
    try:
        await wait_until_ready(backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s)
        yield Running(plan, env, instance, build_log)
    finally:
        await backend.stop(instance)
        await backend.close()
