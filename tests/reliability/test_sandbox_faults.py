"""The process backend's sandbox failing to set up: the space ends in a clear stage, and the instance
leaves nothing behind (no process, no cgroup, no sandbox folder, no mount but the space's own /data).

The fault is an operator's: `PODIUM_MODEL_CACHE` names a folder that does not exist, which bubblewrap
must bind into every sandbox; it refuses before the app runs. Once the folder is there, a restart works.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.platform.spaces import version_space
from tests.reliability.faults import report, running_instances, seconds_until_version
from tests.support.volumes import mounts_under

pytestmark = pytest.mark.slow

SPACE = "admin/unsandboxable"
SLUG = SPACE.replace("/", "--")


def _cgroups_of(slug: str) -> list[Path]:
    return list(Path("/sys/fs/cgroup").glob(f"*/podium/{slug}-*")) + list(
        Path("/sys/fs/cgroup").glob(f"podium/{slug}-*")
    )


def test_a_sandbox_that_cannot_be_set_up_is_a_runtime_error_that_leaves_nothing_behind(start_podium, tmp_path):
    model_cache = tmp_path / "model-cache"  # named, but not made yet
    server = start_podium(env={"PODIUM_MODEL_CACHE": str(model_cache)})
    runtime = server.push(SPACE, version_space(tmp_path / "space", "v1"))
    assert runtime["stage"] == "RUNTIME_ERROR", runtime
    assert "did not start" in runtime["errorMessage"] and str(model_cache) in runtime["errorMessage"], runtime
    runs = server.data_dir / "process" / "runs"
    deadline = time.monotonic() + 30
    while running_instances(SPACE) or _cgroups_of(SLUG) or list(runs.glob(f"{SLUG}-*/sandbox")):
        assert time.monotonic() < deadline, (running_instances(SPACE), _cgroups_of(SLUG), list(runs.glob("*/*")))
        time.sleep(0.2)
    mounts = mounts_under(server.data_dir)
    assert mounts in ([], [str(server.data_dir / "space-data" / SLUG)]), mounts  # only its /data, kept for it
    assert server.process is not None and server.process.poll() is None

    model_cache.mkdir()
    began = time.monotonic()
    server.api().restart_space(SPACE)
    took = seconds_until_version(server, SPACE, "v1", began)
    assert server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    report(
        "the process sandbox cannot be set up (a bind source missing)",
        "RUNTIME_ERROR naming it; no process, cgroup or sandbox folder left; restart works once fixed",
        took,
    )
