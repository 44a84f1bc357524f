"""The latest push failed to build while the revision before it served. Like Hugging Face, the space
keeps showing that failure (its stage, message and build log) for as long as the latest commit does not
build, while the older revision answers behind it: when it sleeps and wakes, across a restart of
`podium serve`, and when its owner restarts it. A push that builds clears it."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.platform.spaces import MISSING, build_events, stage_story, version_space

pytestmark = pytest.mark.slow

SPACE = "admin/fixing"


def answer(podium) -> str:
    """The version that answers a visit; an API client simply waits while the space wakes or starts."""
    return httpx.get(f"{podium.spaces_url}/apps/{SPACE}/", timeout=120).json()["version"]


def fall_asleep(podium) -> None:
    """A second without traffic puts the space to sleep; it then stays asleep until the next visit."""
    http = podium.http()
    http.post(f"/api/spaces/{SPACE}/sleeptime", json={"seconds": 1}).raise_for_status()
    deadline = time.monotonic() + 30
    while podium.api().get_space_runtime(SPACE).stage != "STOPPED":
        assert time.monotonic() < deadline, "the space never went to sleep"
        time.sleep(0.3)
    http.post(f"/api/spaces/{SPACE}/sleeptime", json={"seconds": -1}).raise_for_status()


def push_broken_after_v1(podium, tmp_path) -> dict:
    """v1 serves, then v2 names a package that does not exist; the runtime once v2 failed."""
    api = podium.api()
    assert podium.push(SPACE, version_space(tmp_path / "v1", "v1"))["stage"] == "RUNNING"
    broken = version_space(tmp_path / "v2", "v2", requirements=f"{MISSING}==1.0\n")
    api.upload_folder(repo_id=SPACE, folder_path=broken, repo_type="space")
    failed = podium.wait_for_stage(SPACE)
    assert failed["stage"] == "BUILD_ERROR", failed
    assert failed["errorMessage"].endswith("(the previous revision keeps serving)")
    assert failed["sha"] != api.space_info(SPACE).sha  # the runtime's sha is the revision that serves
    assert answer(podium) == "v1"
    return failed


def test_a_space_that_wakes_behind_a_failed_push_still_shows_why_it_failed(start_podium, tmp_path):
    podium = start_podium()
    failed = push_broken_after_v1(podium, tmp_path)
    build_log = build_events(podium, SPACE)
    assert any(MISSING in event["data"] for event in build_log)

    fall_asleep(podium)
    assert podium.api().get_space_runtime(SPACE).stage == "STOPPED"
    assert answer(podium) == "v1"
    assert stage_story(podium.api().get_space_runtime(SPACE).raw) == stage_story(failed)
    assert build_events(podium, SPACE) == build_log  # waking v1 wrote its lines to the run log

    # Asleep while `podium serve` restarts (the space is not started again until someone visits it).
    fall_asleep(podium)
    podium.stop()
    podium = start_podium(like=podium)
    assert podium.api().get_space_runtime(SPACE).stage == "STOPPED"
    assert answer(podium) == "v1"
    assert stage_story(podium.api().get_space_runtime(SPACE).raw) == stage_story(failed)
    assert build_events(podium, SPACE) == build_log

    # A push that builds, made while the space sleeps, is what it shows from then on, asleep and awake.
    fall_asleep(podium)
    fixed = version_space(tmp_path / "v3", "v3")
    podium.api().upload_folder(repo_id=SPACE, folder_path=fixed, repo_type="space", delete_patterns="requirements.txt")
    assert podium.wait_for_stage(SPACE)["stage"] == "RUNNING"
    assert answer(podium) == "v3"
    fall_asleep(podium)
    assert answer(podium) == "v3"
    runtime = podium.api().get_space_runtime(SPACE)
    assert runtime.stage == "RUNNING" and runtime.raw["errorMessage"] is None


def test_restarting_a_space_behind_a_failed_push_builds_the_push_again_and_the_old_revision_serves_on(
    start_podium, tmp_path
):
    podium = start_podium()
    api = podium.api()
    push_broken_after_v1(podium, tmp_path)

    # Awake: v1 serves while the latest commit builds again, and fails again.
    api.restart_space(SPACE)
    again = podium.wait_for_stage(SPACE)
    assert again["stage"] == "BUILD_ERROR" and again["errorMessage"].endswith("(the previous revision keeps serving)")
    assert any(MISSING in event["data"] for event in build_events(podium, SPACE))
    assert answer(podium) == "v1"

    # Asleep: the latest commit fails again, and v1 starts again behind the failure rather than staying down.
    fall_asleep(podium)
    api.restart_space(SPACE)
    again = podium.wait_for_stage(SPACE)
    assert again["stage"] == "BUILD_ERROR" and again["errorMessage"].endswith("(the previous revision keeps serving)")
    assert answer(podium) == "v1"
    assert stage_story(api.get_space_runtime(SPACE).raw) == stage_story(again)
    assert any(MISSING in event["data"] for event in build_events(podium, SPACE))
