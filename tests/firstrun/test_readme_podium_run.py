"""The README's `podium run` lines, each typed as written in a folder holding `./my-space`, with the
virtualenv activated as the quick start does and no `PODIUM_*` variables: the serving lines build,
print their address, answer there and stop on Ctrl-C; `--plan` prints the plan and exits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.as_written import ROOT, environment_without_podium_settings, port_taken, readme_blocks
from tests.support.process_spaces import write_space

pytestmark = pytest.mark.slow

RUNNING_AT = re.compile(r"is running at (http://127\.0\.0\.1:(\d+)/)")
PAGE = "<h1>Hello from my-space</h1>"


def _readme_lines() -> list[str]:
    (block,) = readme_blocks("tests/firstrun/test_readme_podium_run.py runs each line of this block")
    language, code = block
    assert language == "sh"
    return [line for line in code.splitlines() if line.strip()]


def _type(line: str, folder: Path) -> subprocess.Popen[str]:
    """`line` as a user types it: bash in `folder`, `.venv/bin` first on PATH (the quick start's
    `. .venv/bin/activate`), in its own process group so Ctrl-C reaches it as a terminal's would."""
    env = environment_without_podium_settings(
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", VIRTUAL_ENV=str(ROOT / ".venv")
    )
    return subprocess.Popen(
        ["bash", "-c", line], cwd=folder, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _output_until_running_or_exit(process: subprocess.Popen[str], timeout_s: float) -> str:
    assert process.stdout is not None
    output, deadline = "", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:  # it exited
            return output
        output += line
        if RUNNING_AT.search(line):
            return output
    process.kill()
    raise AssertionError(f"no 'is running at' within {timeout_s:.0f} s:\n{output[-4000:]}")


@pytest.mark.parametrize("number", range(3))
def test_each_podium_run_line_of_the_readme_works_as_written(tmp_path: Path, number: int) -> None:
    lines = _readme_lines()
    assert len(lines) == 3, f"the README's `podium run` block changed: {lines}"
    line = lines[number]
    write_space(tmp_path / "my-space", "title: My space\nsdk: static", PAGE, app_file="index.html")
    for port in (7860, 8000):
        assert not port_taken(port), f"port {port} is taken: stop whatever listens there"

    process = _type(line, tmp_path)
    try:
        output = _output_until_running_or_exit(process, timeout_s=300)
        if "--plan" in line:
            assert process.wait(30) == 0, output
            plan = json.loads(output)
            assert plan["sdk"] == "static", plan
            return
        running = RUNNING_AT.search(output)
        assert running, f"{line!r} printed no address:\n{output[-4000:]}"
        assert running.group(2) == ("8000" if "--port 8000" in line else "7860")
        assert PAGE in httpx.get(running.group(1), timeout=30).text
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output + rest
        assert "Stopped local/my-space" in rest
        assert not port_taken(int(running.group(2))), "the app still listens after Ctrl-C"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
