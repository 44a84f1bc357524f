"""GPU spaces on a host whose GPUs are a configured list.

The allocation story (each GPU space gets its own device, a second is refused clearly while the first
holds it, pausing the first gives the device back) is the supervisor's, told against the fake backend
in milliseconds. The process backend's own part is a real `podium serve` on this GPU-less machine: a
GPU that has no device node is refused with the reason, and given back. benchmarks/gpu_check.sh runs
the whole path, the device nodes in the sandbox included, on a real GPU machine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest
from podium.db import Database, Space
from podium.lifecycle.supervisor import Supervisor
from podium.repos import Change
from podium.settings import Settings
from podium_runner.stages import Stage
from podium_runner.testing import FakeBackend

from tests.support.process_spaces import stdlib_app, write_space

REPORTS_DEVICES = stdlib_app('REPORT["devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")')


@pytest.fixture
async def supervisor(tmp_path) -> AsyncIterator[Supervisor]:
    settings = Settings(data_dir=tmp_path, watch_interval_s=0.05, drain_s=0.0, gpus=["0"])
    backend = FakeBackend()
    supervisor = Supervisor(settings, Database(settings.db_url), backend)
    yield supervisor
    await supervisor.close()
    backend.shutdown()


def _push_gpu_space(supervisor: Supervisor, name: str) -> str:
    space_id = f"alice/{name}"
    with supervisor.db.session() as session:
        session.add(Space(owner="alice", name=name, sdk="gradio", hardware="t4-small"))
    repo = supervisor.repo(space_id)
    repo.init()
    readme = b"---\nsdk: gradio\napp_file: app.py\n---\n"
    sha = repo.commit([Change("README.md", readme), Change("app.py", b"print('gpu')\n")], "first")
    with supervisor.db.session() as session:
        supervisor.db.find_space(session, space_id).sha = sha
    supervisor.deploy(space_id, sha)
    return space_id


async def _settled(supervisor: Supervisor, space_id: str) -> tuple[Stage, str | None]:
    deadline = time.monotonic() + 5
    while supervisor.state(space_id).busy:
        assert time.monotonic() < deadline, f"{space_id} did not settle"
        await anyio.sleep(0.02)
    return supervisor.stage_of(space_id)


@pytest.mark.anyio
async def test_gpu_spaces_get_their_own_device_and_give_it_back(supervisor: Supervisor) -> None:
    first = _push_gpu_space(supervisor, "gpu-one")
    assert (await _settled(supervisor, first))[0] == Stage.RUNNING
    assert supervisor.instance_for(first, None).gpu_ids == ("0",)

    second = _push_gpu_space(supervisor, "gpu-two")
    stage, message = await _settled(supervisor, second)
    assert stage == Stage.RUNTIME_ERROR
    assert "needs 1 GPU(s) but only 0 of 1 are free (in use by alice/gpu-one (0))" in message

    await supervisor.pause(first)
    with supervisor.db.session() as session:
        sha = supervisor.db.find_space(session, second).sha
    supervisor.deploy(second, sha)
    assert (await _settled(supervisor, second))[0] == Stage.RUNNING
    assert supervisor.instance_for(second, None).gpu_ids == ("0",)


def test_a_gpu_without_a_device_node_is_refused_with_the_reason_and_given_back(start_podium, tmp_path):
    podium = start_podium(env={"PODIUM_GPUS": '["0"]'})  # this machine has no /dev/nvidia0
    folder = write_space(tmp_path / "first", "sdk: gradio", REPORTS_DEVICES)
    refused = podium.push("admin/gpu-nodeless", folder, space_hardware="t4-small")
    assert refused["stage"] == "RUNTIME_ERROR"
    assert "GPU 0 has no device node under /dev (is the NVIDIA driver loaded?)" in refused["errorMessage"]
    # Given back: a second try meets the same missing node, not "in use by admin/gpu-nodeless".
    podium.api().restart_space("admin/gpu-nodeless")
    again = podium.wait_for_stage("admin/gpu-nodeless")
    assert again["stage"] == "RUNTIME_ERROR" and "no device node" in again["errorMessage"]
