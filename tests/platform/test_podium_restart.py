"""Podium restarts (an upgrade, a reboot of the service): every space comes back in its stage, with
its build and run logs."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from tests.platform.spaces import MISSING, build_events, echo_space, stage_story, static_space, version_space
from tests.support.process_spaces import write_space

pytestmark = pytest.mark.slow


def test_spaces_come_back_in_their_stage_with_their_logs_after_podium_serve_restarts(start_podium, tmp_path):
    first = start_podium(env={"PODIUM_STOP_SPACES_ON_EXIT": "false"})
    api = first.api()
    for space, sdk, folder in [
        ("admin/keeps", "gradio", echo_space(tmp_path / "keeps")),
        ("admin/page", "static", static_space(tmp_path / "page")),
        ("admin/resting", "gradio", echo_space(tmp_path / "resting")),
        ("admin/broken", "gradio", echo_space(tmp_path / "broken", requirements=f"{MISSING}==1.0\n")),
        ("admin/unstartable", "gradio", version_space(tmp_path / "unstartable", "v1")),
    ]:
        api.create_repo(space, repo_type="space", space_sdk=sdk)
        api.upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    api.pause_space("admin/resting")
    assert first.wait_for_stage("admin/unstartable")["stage"] == "RUNNING"
    # Its next revision builds but exits at start: v1 serves on behind the failure.
    refusing = write_space(tmp_path / "unstartable-v2", "sdk: gradio", "raise SystemExit('v2 will not start')\n")
    api.upload_folder(repo_id="admin/unstartable", folder_path=refusing, repo_type="space")
    unstartable = first.wait_for_stage("admin/unstartable")
    assert unstartable["stage"] == "RUNTIME_ERROR", unstartable
    assert unstartable["errorMessage"].endswith("(the previous revision keeps serving)")
    assert first.wait_for_stage("admin/keeps")["stage"] == "RUNNING"
    assert first.wait_for_stage("admin/page")["stage"] == "RUNNING"
    assert first.wait_for_stage("admin/broken")["stage"] == "BUILD_ERROR"
    build_log = build_events(first, "admin/broken")
    assert any(MISSING in event["data"] for event in build_log)
    host = api.space_info("admin/keeps").host

    first.stop()  # the app keeps running: this Podium is configured to leave spaces up
    second = start_podium(like=first, env={"PODIUM_STOP_SPACES_ON_EXIT": "true"})
    api = second.api()
    # Re-adopted before the server answered: no rebuild, no restart, already RUNNING.
    assert api.get_space_runtime("admin/keeps").stage == "RUNNING"
    assert "admin/keeps: re-adopted its running instance" in second.log()
    assert Client(host, verbose=False).predict("back", api_name="/echo") == "echo: back"
    assert second.wait_for_stage("admin/page")["stage"] == "RUNNING"
    assert "A static space" in httpx.get(f"{second.spaces_url}/apps/admin/page/").text
    assert api.get_space_runtime("admin/resting").stage == "PAUSED"
    # The logs outlive the restart: the failed build's uv error, with the timestamps it was sent with,
    # and what the re-adopted app printed before (it does not print its start-up lines again).
    assert api.get_space_runtime("admin/broken").stage == "BUILD_ERROR"
    assert build_events(second, "admin/broken") == build_log
    assert MISSING in "".join(api.fetch_space_logs("admin/broken", build=True))
    assert MISSING in httpx.get(f"{second.url}/spaces/admin/broken/logs").text
    assert "Running on local URL" in "".join(api.fetch_space_logs("admin/keeps"))
    # The re-adopted v1 serves on, and the space still says its latest revision did not start.
    assert stage_story(api.get_space_runtime("admin/unstartable").raw) == stage_story(unstartable)
    assert httpx.get(f"{second.spaces_url}/apps/admin/unstartable/").json()["version"] == "v1"


def test_after_a_restart_the_old_revision_serves_again_and_the_failed_build_still_says_why(start_podium, tmp_path):
    """The latest push failed to build while the one before served; Podium stops its spaces when it stops
    (or the machine reboots). After the restart the old revision answers again, and the space still shows
    the failed build: its stage, its message and its build log, as before the restart."""
    first = start_podium(env={"PODIUM_STOP_SPACES_ON_EXIT": "true"})
    api = first.api()
    api.create_repo("admin/fixing", repo_type="space", space_sdk="gradio")
    api.upload_folder(repo_id="admin/fixing", folder_path=echo_space(tmp_path / "v1"), repo_type="space")
    assert first.wait_for_stage("admin/fixing")["stage"] == "RUNNING"
    broken = echo_space(tmp_path / "v2", version="v2", requirements=f"{MISSING}==1.0\n")
    api.upload_folder(repo_id="admin/fixing", folder_path=broken, repo_type="space")
    failed = first.wait_for_stage("admin/fixing")
    assert failed["stage"] == "BUILD_ERROR" and "previous revision keeps serving" in failed["errorMessage"]
    build_log = build_events(first, "admin/fixing")
    assert any(MISSING in event["data"] for event in build_log)
    host = api.space_info("admin/fixing").host

    first.stop()  # and with it the old revision's app
    second = start_podium(like=first)
    api = second.api()
    # A client simply waits while the old revision starts again, as when a space wakes (on a busy host that
    # takes longer than httpx's 5 s default, which the client would otherwise give up after).
    waiting = Client(host, verbose=False, httpx_kwargs={"timeout": 180})
    assert waiting.predict(api_name="/about").startswith("v1 ")
    runtime = api.get_space_runtime("admin/fixing").raw
    assert runtime["stage"] == "BUILD_ERROR" and runtime["errorMessage"] == failed["errorMessage"]
    assert build_events(second, "admin/fixing") == build_log
