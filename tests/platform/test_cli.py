"""The `podium` command as a user runs it against a Podium: push a folder, watch it, list, inspect, delete.

Static spaces keep these stories fast (no environment to build); the commands are the same for all.
"""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from tests.platform.spaces import static_space
from tests.support.podium_server import PODIUM


def podium_cli(server, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PODIUM_URL": server.url, "PODIUM_TOKEN": token or server.token}
    env.pop("HF_TOKEN", None)
    return subprocess.run([str(PODIUM), *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def pushed(podium, tmp_path_factory):
    folder = static_space(tmp_path_factory.mktemp("site"))
    return podium_cli(podium, "push", str(folder), "admin/site")


def test_push_uploads_a_folder_and_follows_it_until_it_runs(podium, pushed):
    assert pushed.returncode == 0, pushed.stderr
    assert "Uploading 2 files" in pushed.stdout
    assert "admin/site: BUILDING" in pushed.stdout or "admin/site: RUNNING" in pushed.stdout
    assert f"admin/site is running at {podium.spaces_url}/apps/admin/site/" in pushed.stdout


def test_ls_and_status_show_the_space_its_stage_and_address(podium, pushed):
    listed = podium_cli(podium, "ls")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("admin/site "))
    assert "RUNNING" in line and "static" in line
    status = podium_cli(podium, "status", "admin/site")
    assert "stage:    RUNNING" in status.stdout and f"url:      {podium.spaces_url}/apps/admin/site/" in status.stdout


def test_logs_prints_the_build_log(podium, pushed):
    result = podium_cli(podium, "logs", "admin/site", "--build")
    assert result.returncode == 0 and "===== BUILDING =====" in result.stdout


def test_pause_of_a_static_space_is_refused_with_a_reason(podium, pushed):
    result = podium_cli(podium, "pause", "admin/site")
    assert result.returncode == 1 and "static space" in result.stderr


def test_token_makes_a_token_that_works_and_only_an_admin_may(podium):
    made = podium_cli(podium, "token", "carol")
    assert made.returncode == 0, made.stderr
    carol = made.stdout.strip()
    assert podium.api(carol).whoami()["name"] == "carol"
    refused = podium_cli(podium, "token", "dave", token=carol)
    assert refused.returncode == 1 and "only an admin" in refused.stderr


def test_commands_without_a_valid_token_say_what_to_do(podium, tmp_path):
    result = podium_cli(podium, "push", str(static_space(tmp_path)), "admin/nope", token="hf_wrong")
    assert result.returncode == 1 and "podium token" in result.stderr


def test_delete_removes_the_space(podium, pushed):
    assert podium_cli(podium, "delete", "admin/site", "--yes").returncode == 0
    assert "admin/site " not in podium_cli(podium, "ls").stdout
    missing = podium_cli(podium, "status", "admin/site")
    assert missing.returncode == 1 and "no space 'admin/site'" in missing.stderr


def test_a_podium_that_does_not_answer_is_one_clear_line():
    with socket.socket() as unused:  # a port nothing listens on: bound, never listening
        unused.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{unused.getsockname()[1]}"
        result = subprocess.run(
            [str(PODIUM), "cluster", "status", "--endpoint", endpoint, "--token", "hf_any"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot reach Podium at {endpoint}" in result.stderr and "PODIUM_URL" in result.stderr
    assert "Traceback" not in result.stderr
