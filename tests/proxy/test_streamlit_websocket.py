"""A visitor opens a Streamlit space through Podium's proxy: its session runs over a bridged WebSocket."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SESSION_SCRIPT = Path(__file__).parent / "apps" / "streamlit_session.py"


def streamlit_session(python: Path, url: str, query: str, origin: str, connect: str | None = None) -> dict:
    """Run one browser-like session (rerun the script, read until it finishes) with the app's Python."""
    argv = [str(python), str(SESSION_SCRIPT), url, query, "--origin", origin]
    if connect:
        argv += ["--connect", connect]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_session_in_path_mode(proxy, streamlit_space, spaces):
    before = spaces.visits["demo/hello"]
    session = streamlit_session(
        streamlit_space.python,
        f"ws://127.0.0.1:{proxy.port}/apps/demo/hello/_stcore/stream",
        "name=proxy",
        proxy.url,
    )
    assert session["subprotocol"] == "streamlit"
    assert session["messages"][0] == "new_session" and session["messages"][-1] == "script_finished"
    assert session["texts"] == ["Streamlit demo space", "Hello, proxy!"]
    assert spaces.visits["demo/hello"] > before


def test_a_session_in_host_mode(proxy, streamlit_space):
    """The page at demo-hello.localhost opens /_stcore/stream; the proxy adds the space's prefix."""
    public = f"demo-hello.localhost:{proxy.port}"
    session = streamlit_session(
        streamlit_space.python,
        f"ws://{public}/_stcore/stream",
        "name=host",
        f"http://{public}",
        connect=f"127.0.0.1:{proxy.port}",
    )
    assert session["texts"] == ["Streamlit demo space", "Hello, host!"]


def test_a_page_from_another_site_may_not_open_the_socket(proxy, streamlit_space):
    session = streamlit_session(
        streamlit_space.python,
        f"ws://127.0.0.1:{proxy.port}/apps/demo/hello/_stcore/stream",
        "",
        "http://evil.example",
    )
    assert session == {"rejected": 403}
