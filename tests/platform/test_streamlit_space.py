"""A Streamlit space on Podium: its session runs over the WebSocket through the proxy, in path mode
and in host mode (`{owner}-{name}.{domain}`), as a browser's page would run it."""

from __future__ import annotations

import pytest
from podium_runner.plan import make_plan
from podium_runner.process.owners import owner_folder
from podium_runner.spec import load_spec

from tests.platform.spaces import hello_space

# The proxy's tests own the browser-like Streamlit session (run with the app's own Python).
from tests.proxy.test_streamlit_websocket import streamlit_session
from tests.support.process_spaces import TEST_CACHE

pytestmark = pytest.mark.slow

SPACE = "admin/hello"
DOMAIN = "podium.test"


@pytest.fixture(scope="module")
def hosted(start_podium, tmp_path_factory):
    """A Podium with a domain (host mode on), running the Streamlit space; and the app's Python."""
    server = start_podium(env={"PODIUM_DOMAIN": DOMAIN})
    folder = hello_space(tmp_path_factory.mktemp("hello"))
    runtime = server.push(SPACE, folder, sdk="streamlit")
    assert runtime["stage"] == "RUNNING", runtime
    # The current generation of the space's environment, in its owner's folder of the shared test cache.
    key = make_plan(load_spec(folder)).deps.key
    python = TEST_CACHE / "environments" / owner_folder(SPACE) / key / "bin" / "python"
    return server, python


def test_a_streamlit_session_runs_over_the_websocket_in_path_mode(hosted):
    server, python = hosted
    url = f"ws://127.0.0.1:{server.spaces_port}/apps/{SPACE}/_stcore/stream"
    result = streamlit_session(python, url, "name=path", server.spaces_url)
    assert result["subprotocol"] == "streamlit"
    assert result["messages"][0] == "new_session" and result["messages"][-1] == "script_finished"
    assert result["texts"] == ["Streamlit demo space", "Hello, path!"]


def test_a_streamlit_session_runs_over_the_websocket_in_host_mode(hosted):
    server, python = hosted
    public = f"admin-hello.{DOMAIN}:{server.spaces_port}"
    assert server.api().space_info(SPACE).host == f"http://{public}"
    result = streamlit_session(
        python,
        f"ws://{public}/_stcore/stream",
        "name=host",
        f"http://{public}",
        connect=f"127.0.0.1:{server.spaces_port}",
    )
    assert result["texts"] == ["Streamlit demo space", "Hello, host!"]
