"""The supervisor's stories, told against the fake backends of `podium_runner.testing`: each runs in a
fraction of a second, next to the end-to-end tests (test_gradio_space_lifecycle.py, test_failed_push.py,
test_podium_restart.py) that tell the same stories with real builds and real apps.

The supervisor here is the real one, on a real SQLite database and real git repositories; only the
backend is fake, and its instances still answer the supervisor's health check over HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from podium.db import Database, Space
from podium.lifecycle.supervisor import Supervisor
from podium.repos import Change
from podium.settings import Settings
from podium_runner.plan import RunContext
from podium_runner.stages import Stage
from podium_runner.testing import FakeBackend, NeverReadyBackend

pytestmark = pytest.mark.anyio
SPACE = "alice/demo"
SETTLE_S = 5.0  # generous: each story settles in well under a second


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Story:
    """One Podium's database and settings, with supervisors made (and remade, as after a restart of
    `podium serve`) over one backend."""

    def __init__(self, data_dir: Path, backend: FakeBackend):
        self.settings = Settings(data_dir=data_dir, watch_interval_s=0.05, drain_s=0.0)
        self.db = Database(self.settings.db_url)
        self.backend = backend
        self.supervisors: list[Supervisor] = []

    def supervisor(self) -> Supervisor:
        supervisor = Supervisor(self.settings, self.db, self.backend)
        self.supervisors.append(supervisor)
        return supervisor

    def create(self, supervisor: Supervisor, *, sleep_time: int | None = None) -> None:
        with self.db.session() as session:
            session.add(Space(owner="alice", name="demo", sdk="gradio", sleep_time=sleep_time))
        supervisor.repo(SPACE).init()

    def push(self, supervisor: Supervisor, version: str, front_matter: str = "") -> str:
        """Commit a revision and deploy it, as the commit API does."""
        readme = f"---\ntitle: Demo\nsdk: gradio\napp_file: app.py\n{front_matter}---\n# {version}\n"
        sha = supervisor.repo(SPACE).commit(
            [Change("README.md", readme.encode()), Change("app.py", f"print({version!r})\n".encode())], version
        )
        with self.db.session() as session:
            self.db.find_space(session, SPACE).sha = sha
        supervisor.deploy(SPACE, sha)
        return sha

    def space(self) -> Space:
        with self.db.session() as session:
            space = self.db.find_space(session, SPACE)
            session.expunge(space)
            return space


@pytest.fixture
async def story(tmp_path) -> AsyncIterator[Callable[[FakeBackend], Story]]:
    made: list[Story] = []

    def make(backend: FakeBackend) -> Story:
        made.append(Story(tmp_path, backend))
        return made[-1]

    yield make
    for each in made:
        for supervisor in each.supervisors:
            await supervisor.close()
        each.backend.shutdown()


async def settle(supervisor: Supervisor) -> Stage:
    """The stage once the deploy in flight has ended (`wait_until_settled` returns as soon as a space
    serves, which an old revision does while the new one builds)."""
    await until(lambda: not supervisor.state(SPACE).busy)
    return supervisor.stage_of(SPACE)[0]


async def until(predicate: Callable[[], bool], timeout: float = SETTLE_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the supervisor did not get there in time"
        await anyio.sleep(0.02)


async def test_a_failed_build_leaves_the_old_revision_serving(story):
    podium = story(FakeBackend())
    supervisor = podium.supervisor()
    podium.create(supervisor)
    first = podium.push(supervisor, "v1")
    assert await settle(supervisor) == Stage.RUNNING
    serving = supervisor.instance_for(SPACE, None)

    podium.backend.build_fails = True
    second = podium.push(supervisor, "v2")
    assert await settle(supervisor) == Stage.BUILD_ERROR
    space = podium.space()
    assert (space.sha, space.serving_sha) == (second, first)
    assert "the previous revision keeps serving" in space.error_message
    assert supervisor.instance_for(SPACE, None) is serving
    assert podium.backend.running(SPACE) == [serving.instance_id]
    assert any("no solution found" in line for line in supervisor.state(SPACE).build_log.last(20))

    podium.backend.build_fails = False
    third = podium.push(supervisor, "v3")
    assert await settle(supervisor) == Stage.RUNNING
    assert podium.space().serving_sha == third
    await until(lambda: podium.backend.running(SPACE) == [supervisor.instance_for(SPACE, None).instance_id])


async def test_an_idle_space_sleeps_and_the_next_visit_wakes_it(story):
    podium = story(FakeBackend())
    supervisor = podium.supervisor()
    podium.create(supervisor, sleep_time=1)
    sha = podium.push(supervisor, "v1")
    assert await settle(supervisor) == Stage.RUNNING
    supervisor.state(SPACE).last_activity -= 2  # as if nobody came by for two seconds
    supervisor.start_watching()
    await until(lambda: podium.space().stage == Stage.STOPPED)
    assert podium.backend.running(SPACE) == []
    assert "asleep after 1 s" in podium.space().error_message

    await supervisor.wake(SPACE)
    assert await settle(supervisor) == Stage.RUNNING
    assert podium.space().serving_sha == sha
    assert len(podium.backend.running(SPACE)) == 1
    assert podium.backend.builds[-1] == (SPACE, False)


async def test_a_space_asleep_behind_a_failure_wakes_behind_it(story):
    podium = story(FakeBackend())
    supervisor = podium.supervisor()
    podium.create(supervisor, sleep_time=1)
    first = podium.push(supervisor, "v1")
    assert await settle(supervisor) == Stage.RUNNING
    podium.backend.build_fails = True
    podium.push(supervisor, "v2")
    assert await settle(supervisor) == Stage.BUILD_ERROR
    failure = podium.space().error_message

    supervisor.state(SPACE).last_activity -= 2
    supervisor.start_watching()
    await until(lambda: podium.space().stage == Stage.STOPPED)
    assert (podium.space().asleep_behind_stage, podium.space().asleep_behind_message) == (Stage.BUILD_ERROR, failure)
    podium.backend.build_fails = False  # the older revision's environment is reused as it is
    await supervisor.wake(SPACE)
    await until(lambda: supervisor.state(SPACE).serving)
    assert await settle(supervisor) == Stage.BUILD_ERROR
    space = podium.space()
    assert (space.stage, space.error_message, space.serving_sha) == (Stage.BUILD_ERROR, failure, first)
    assert space.asleep_behind_stage is None


async def test_a_restart_re_adopts_running_instances_and_stops_orphans(story):
    podium = story(FakeBackend())
    before = podium.supervisor()
    podium.create(before)
    podium.push(before, "v1")
    assert await settle(before) == Stage.RUNNING
    instance_id = before.instance_for(SPACE, None).instance_id
    await before.close()  # instances outlive `podium serve` (stop_spaces_on_exit is off)
    # An instance of a space this Podium no longer has (deleted while it was down).
    orphan = await podium.backend.start(
        before.states[SPACE].plan, None, RunContext(space_id="bob/gone", port=0), lambda _line: None
    )

    after = podium.supervisor()
    await after.recover()
    assert await settle(after) == Stage.RUNNING
    assert after.instance_for(SPACE, None).instance_id == instance_id
    assert podium.backend.running() == [instance_id]
    assert orphan.instance_id not in podium.backend.running()
    assert podium.backend.builds == [(SPACE, False)]  # nothing was built again


async def test_a_restart_during_a_switch_deploys_the_latest_revision_again(story):
    podium = story(FakeBackend())
    before = podium.supervisor()
    podium.create(before)
    podium.push(before, "v1")
    assert await settle(before) == Stage.RUNNING
    podium.backend.delay_s = 0.5
    latest = podium.push(before, "v2")
    assert podium.space().stage == Stage.RUNNING_BUILDING
    await before.close()  # Podium stops in the middle of the switch

    podium.backend.delay_s = 0.0
    after = podium.supervisor()
    await after.recover()
    assert await settle(after) == Stage.RUNNING
    await until(lambda: podium.space().serving_sha == latest and len(podium.backend.running(SPACE)) == 1)


async def test_a_crash_during_a_switch_leaves_the_new_revision_serving(story):
    podium = story(FakeBackend())
    supervisor = podium.supervisor()
    supervisor.start_watching()
    podium.create(supervisor)
    podium.push(supervisor, "v1")
    assert await settle(supervisor) == Stage.RUNNING
    old = supervisor.instance_for(SPACE, None)
    podium.backend.delay_s = 0.3
    podium.push(supervisor, "v2")
    podium.backend.crash(old.instance_id)  # the old instance dies while the new one builds
    await until(lambda: podium.space().stage == Stage.RUNTIME_ERROR)
    assert "the app exited (exit code 1)" in podium.space().error_message
    assert await settle(supervisor) == Stage.RUNNING
    assert supervisor.instance_for(SPACE, None) is not old
    assert len(podium.backend.running(SPACE)) == 1


async def test_a_crashing_revision_leaves_the_old_one_serving(story):
    podium = story(FakeBackend())
    supervisor = podium.supervisor()
    podium.create(supervisor)
    podium.push(supervisor, "v1")
    assert await settle(supervisor) == Stage.RUNNING
    serving = supervisor.instance_for(SPACE, None)
    podium.backend.crashes_on_start = True
    podium.push(supervisor, "v2")
    assert await settle(supervisor) == Stage.RUNTIME_ERROR
    assert "fake crash at import" in podium.space().error_message
    assert supervisor.instance_for(SPACE, None) is serving


async def test_a_revision_that_never_gets_ready_is_stopped_after_its_startup_timeout(story):
    podium = story(NeverReadyBackend())
    supervisor = podium.supervisor()
    podium.create(supervisor)
    started = time.monotonic()
    podium.push(supervisor, "v1", front_matter="startup_duration_timeout: 0.3\n")
    assert await settle(supervisor) == Stage.RUNTIME_ERROR
    assert time.monotonic() - started < 2
    space = podium.space()
    assert "did not answer" in space.error_message and space.serving_sha is None
    assert podium.backend.running(SPACE) == []
