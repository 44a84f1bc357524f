"""Podium restarts (an upgrade, a reboot of the service): every space comes back in its stage, with
its build and run logs."""

from __future__ import annotations

import json

import httpx
import pytest
from gradio_client import Client

from tests.platform.spaces import echo_space, static_space

pytestmark = pytest.mark.slow

MISSING = "podium-no-such-package-xyz"


def build_events(server, space_id: str) -> list[dict]:
    """A finished build's log as the SSE endpoint sends it: every event, with its timestamp."""
    text = server.http().get(f"/api/spaces/{space_id}/logs/build").text
    return [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith("data: ")]


def test_spaces_come_back_in_their_stage_with_their_logs_after_podium_serve_restarts(start_podium, tmp_path):
    first = start_podium(env={"PODIUM_STOP_SPACES_ON_EXIT": "false"})
    api = first.api()
    for space, sdk, folder in [
        ("admin/keeps", "gradio", echo_space(tmp_path / "keeps")),
        ("admin/page", "static", static_space(tmp_path / "page")),
        ("admin/resting", "gradio", echo_space(tmp_path / "resting")),
        ("admin/broken", "gradio", echo_space(tmp_path / "broken", requirements=f"{MISSING}==1.0\n")),
    ]:
        api.create_repo(space, repo_type="space", space_sdk=sdk)
        api.upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    api.pause_space("admin/resting")
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
