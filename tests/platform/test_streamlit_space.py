"""A Streamlit space on Podium: its session runs over the WebSocket through the proxy, in path mode
and in host mode (`{owner}-{name}.{domain}`), as a browser's page would run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from podium_runner.plan import make_plan
from podium_runner.spec import load_spec

from tests.platform.spaces import hello_space
from tests.support.process_spaces import TEST_CACHE

pytestmark = pytest.mark.slow

# The proxy's tests own this script: one browser-like Streamlit session, run with the app's Python.
SESSION_SCRIPT = Path(__file__).parents[1] / "proxy" / "apps" / "streamlit_session.py"
SPACE = "admin/hello"
DOMAIN = "podium.test"


@pytest.fixture(scope="module")
def hosted(start_podium, tmp_path_factory):
    """A Podium with a domain (host mode on), running the Streamlit space; and the app's Python."""
    server = start_podium(env={"PODIUM_DOMAIN": DOMAIN})
    folder = hello_space(tmp_path_factory.mktemp("hello"))
    api = server.api()
    api.create_repo(SPACE, repo_type="space", space_sdk="streamlit")
    api.upload_folder(repo_id=SPACE, folder_path=folder, repo_type="space")
    runtime = server.wait_for_stage(SPACE)
    assert runtime["stage"] == "RUNNING", runtime
    python = TEST_CACHE / "environments" / make_plan(load_spec(folder)).deps.key / "bin" / "python"
    return server, python


def session(python: Path, url: str, query: str, origin: str, connect: str | None = None) -> dict:
    argv = [str(python), str(SESSION_SCRIPT), url, query, "--origin", origin]
    if connect:
        argv += ["--connect", connect]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_streamlit_session_runs_over_the_websocket_in_path_mode(hosted):
    server, python = hosted
    url = f"ws://127.0.0.1:{server.spaces_port}/apps/{SPACE}/_stcore/stream"
    result = session(python, url, "name=path", server.spaces_url)
    assert result["subprotocol"] == "streamlit"
    assert result["messages"][0] == "new_session" and result["messages"][-1] == "script_finished"
    assert result["texts"] == ["Streamlit demo space", "Hello, path!"]


def test_a_streamlit_session_runs_over_the_websocket_in_host_mode(hosted):
    server, python = hosted
    public = f"admin-hello.{DOMAIN}:{server.spaces_port}"
    assert server.api().space_info(SPACE).host == f"http://{public}"
    result = session(
        python,
        f"ws://{public}/_stcore/stream",
        "name=host",
        f"http://{public}",
        connect=f"127.0.0.1:{server.spaces_port}",
    )
    assert result["texts"] == ["Streamlit demo space", "Hello, host!"]
