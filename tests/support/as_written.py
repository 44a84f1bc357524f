"""Podium started exactly as the README says: `scripts/serve` in a folder laid out like a fresh
checkout, with its defaults (a relative `./data`, ports 7860 and 7861, no `PODIUM_*` variables).

The folder holds only links to the checkout's `scripts/` and `.venv/`, so `scripts/serve` finds what
`scripts/test` installed and everything Podium writes lands in the new folder. Spaces outlive
`podium serve` by default; after each test a second start with `PODIUM_STOP_SPACES_ON_EXIT=true`
adopts and stops whatever the first one left running.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PAGES_PORT, SPACES_PORT = 7860, 7861  # the README's defaults
_TOKEN = re.compile(r"admin token \(shown once, keep it\): (\S+)")
LISTENING = "Podium pages and API at"


def environment_without_podium_settings(**extra: str) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("PODIUM_")} | extra


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ServeAsWritten:
    """One `scripts/serve ARGS` run in `folder`, its output in `folder/serve.log` (`log_name`)."""

    folder: Path
    process: subprocess.Popen[bytes]
    log_name: str = "serve.log"

    @property
    def output(self) -> str:
        return (self.folder / self.log_name).read_text(errors="replace")

    @property
    def token(self) -> str:
        match = _TOKEN.search(self.output)
        assert match, f"scripts/serve printed no admin token:\n{self.output[-3000:]}"
        return match.group(1)

    def wait_for(self, text: str, timeout_s: float, unless: tuple[str, ...] = ()) -> None:
        """Until `text` is printed; fails at once when one of `unless` is printed first or serve exits."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output:
            if failed := [line for line in unless if line in self.output]:
                raise AssertionError(f"scripts/serve printed {failed[0]!r} before {text!r}:\n{self.output[-5000:]}")
            if self.process.poll() is not None:
                raise AssertionError(f"scripts/serve exited with {self.process.returncode}:\n{self.output[-5000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"scripts/serve printed no {text!r} within {timeout_s:.0f} s:\n{self.output[-5000:]}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_serve(
    folder: Path, args: list[str], env: dict[str, str], log_name: str = "serve.log"
) -> subprocess.Popen[bytes]:
    with open(folder / log_name, "ab") as log:
        return subprocess.Popen(
            ["scripts/serve", *args], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_spaces_left_running(folder: Path) -> None:
    """Start Podium again on `folder` to adopt what the first left running, and stop it all: apps,
    their network helpers and their /data volumes (an adopted space's volume is unmounted too)."""
    env = environment_without_podium_settings(PODIUM_STOP_SPACES_ON_EXIT="true")
    process = start_serve(folder, [], env, "cleanup.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if LISTENING in (folder / "cleanup.log").read_text(errors="replace"):
            break
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    left = [line.split()[1] for line in mounts if line and line.split()[1].startswith(str(folder))]
    assert not left, f"volumes still mounted after Podium stopped its spaces: {left}"


def readme_blocks(runner: str = "tests/firstrun/test_readme_commands.py runs this block") -> list[tuple[str, str]]:
    """The README's code blocks marked `<!-- {runner} as written -->`: (language, code), in order."""
    marker = f"<!-- {runner} as written -->"
    blocks = []
    for part in (ROOT / "README.md").read_text().split(marker)[1:]:
        match = re.match(r"\s*```(\w+)\n(.*?)\n```", part, re.S)
        assert match, f"the README marks a block to run but none follows: {part[:200]!r}"
        blocks.append((match.group(1), match.group(2)))
    return blocks


def http_get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30, follow_redirects=True)
