"""`podium run FOLDER` as a user types it: build, serve, print the URL, stop on Ctrl-C; and the stage
and exit code of each way it can fail."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.process_spaces import GRADIO_HELLO, STREAMLIT_HELLO, TEST_CACHE, free_port, write_space

PODIUM = Path(sys.executable).with_name("podium")


def _podium_run(folder: Path, *args: str) -> subprocess.Popen[str]:
    # The test cache as home: the environments the backend tests built are reused here.
    command = [str(PODIUM), "run", str(folder), "--home", str(TEST_CACHE), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 300) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never came; output:\n" + "\n".join(lines))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sdk", "app", "app_file", "expected"),
    [
        ("gradio", GRADIO_HELLO, "app.py", "gradio"),
        ("streamlit", STREAMLIT_HELLO, "app.py", "streamlit"),
        ("static", "<h1>Hello, static space</h1>", "index.html", "hello, static space"),
    ],
)
def test_podium_run_serves_a_space_until_ctrl_c(
    tmp_path: Path, sdk: str, app: str, app_file: str, expected: str
) -> None:
    port = free_port()
    process = _podium_run(write_space(tmp_path, f"sdk: {sdk}", app, app_file=app_file), "--port", str(port))
    try:
        lines = _read_until(process, "is running at")
        assert f"is running at http://127.0.0.1:{port}/" in lines[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200 and expected in response.read().decode().lower()
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, rest
    assert "Stopped local/" in rest
    with pytest.raises(OSError):  # nothing listens any more
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_podium_run_plan_prints_the_build_plan(tmp_path: Path) -> None:
    space = write_space(tmp_path, 'sdk: gradio\nsdk_version: "6.31.0"', GRADIO_HELLO, requirements="numpy\n")
    result = subprocess.run([str(PODIUM), "run", str(space), "--plan"], capture_output=True, text=True, check=True)
    plan = json.loads(result.stdout)
    assert plan["sdk"] == "gradio" and plan["kind"] == "python"
    assert plan["deps"]["requirements"] == ["numpy"] and plan["deps"]["sdk_requirement"] == "gradio==6.31.0"
    assert len(plan["build_key"]) == 20


def _fails(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(PODIUM), "run", str(folder), "--home", str(TEST_CACHE), "--port", str(free_port()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_bad_readme_is_a_config_error(tmp_path: Path) -> None:
    result = _fails(write_space(tmp_path, "sdk: flask", GRADIO_HELLO))
    assert result.returncode == 2
    assert result.stderr.startswith(f"CONFIG_ERROR: {tmp_path}: README.md: sdk: 'flask' is not allowed")


def test_a_missing_app_file_is_no_app_file(tmp_path: Path) -> None:
    result = _fails(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO, app_file="main.py"))
    assert result.returncode == 3 and result.stderr.startswith("NO_APP_FILE: ")


@pytest.mark.slow
def test_a_failed_build_is_a_build_error(tmp_path: Path) -> None:
    result = _fails(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO, requirements="podium-no-such-package-4711\n"))
    assert result.returncode == 4 and result.stderr.startswith("BUILD_ERROR: ")
    assert "podium-no-such-package-4711" in result.stdout  # uv's own message, streamed as it came


@pytest.mark.slow
def test_an_app_that_crashes_is_a_runtime_error(tmp_path: Path) -> None:
    app = "raise SystemExit('the app gave up: no GPU')\n"
    result = _fails(write_space(tmp_path, "sdk: gradio", app))
    assert result.returncode == 5 and result.stderr.startswith("RUNTIME_ERROR: ")
    assert "exited with code 1" in result.stderr and "the app gave up: no GPU" in result.stderr


def test_an_unknown_sandbox_mode_is_refused(tmp_path: Path) -> None:
    result = _fails(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO), "--sandbox", "maybe")
    assert result.returncode == 2 and "--sandbox: must be auto, on or off (got 'maybe')" in result.stderr


def test_a_port_in_use_is_refused_before_building(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                str(PODIUM),
                "run",
                str(write_space(tmp_path, "sdk: gradio", GRADIO_HELLO)),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and f"127.0.0.1:{port} is in use" in result.stderr
