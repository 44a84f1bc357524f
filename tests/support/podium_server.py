"""One `podium serve` as a subprocess on free ports, as users start it; for tests and benchmarks.

Every server shares the machine-wide environments folder and uv cache (`TEST_CACHE`), so each
Gradio or Streamlit environment is built once, not once per test or per run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from huggingface_hub import HfApi
from podium.lfs_store import LfsPointer

from tests.support.process_spaces import TEST_CACHE

PODIUM = Path(sys.executable).with_name("podium")
_TOKEN_LINE = re.compile(r"admin token \(shown once, keep it\): (\S+)")
START_TIMEOUT_S = 60
TRANSITIONAL = {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}


@dataclass
class PodiumServer:
    """One `podium serve` process and how to reach it."""

    data_dir: Path
    port: int
    spaces_port: int
    env: dict[str, str]
    token: str = ""
    process: subprocess.Popen | None = None
    # How to start it: this checkout's `podium serve`, or another release's (tests/platform/test_migrations.py).
    command: list[str] = field(default_factory=lambda: [str(PODIUM), "serve"])
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def spaces_url(self) -> str:
        return f"http://127.0.0.1:{self.spaces_port}"

    @property
    def pages_url(self) -> str:
        """The pages as a browser reaches them: on the domain when one is set (Chromium resolves
        every `*.localhost` itself; Python clients use `url` and send a Host header instead)."""
        domain = self.env.get("PODIUM_DOMAIN")
        return f"http://{domain}:{self.port}" if domain else self.url

    def api(self, token: str | None = None) -> HfApi:
        return HfApi(endpoint=self.url, token=token or self.token)

    def commit_lfs_file(
        self, repo_id: str, path: str, pointer: LfsPointer, *, repo_type: str = "space", token: str | None = None
    ) -> httpx.Response:
        """A commit of one `lfsFile` line to main, as huggingface_hub writes it after an LFS or Xet upload."""
        lines = [
            {"key": "header", "value": {"summary": f"add {path}"}},
            {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": pointer.oid, "size": pointer.size}},
        ]
        return httpx.post(
            f"{self.url}/api/{repo_type}s/{repo_id}/commit/main",
            content="\n".join(json.dumps(line) for line in lines).encode(),
            headers={"Authorization": f"Bearer {token or self.token}", "Content-Type": "application/x-ndjson"},
            timeout=60,
        )

    def http(self) -> httpx.Client:
        """A plain HTTP client on the API, carrying the admin token."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> PodiumServer:
        env = {
            **os.environ,
            "PODIUM_DATA_DIR": str(self.data_dir),
            "PODIUM_PORT": str(self.port),
            "PODIUM_SPACES_PORT": str(self.spaces_port),
            "PODIUM_ENVIRONMENTS_DIR": str(TEST_CACHE),
            "PODIUM_STOP_SPACES_ON_EXIT": "true",
            **self.env,
        }
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(self.command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podium serve exited with {self.process.returncode}:\n{self.log()}")
            if not self.token and (match := _TOKEN_LINE.search(self.log())):
                self.token = match.group(1)
            try:
                if httpx.get(f"{self.url}/api/spaces", timeout=2).status_code == 200 and self.token:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"podium serve did not answer within {START_TIMEOUT_S} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def push(self, space_id: str, folder: Path, sdk: str = "gradio", **create: object) -> dict:
        """Create the space, upload the folder with huggingface_hub, and return the runtime it settles in."""
        api = self.api()
        api.create_repo(space_id, repo_type="space", space_sdk=sdk, **create)
        api.upload_folder(repo_id=space_id, folder_path=folder, repo_type="space")
        return self.wait_for_stage(space_id)

    def wait_for_stage(
        self, space_id: str, timeout: float = 300, token: str | None = None, poll_s: float = 0.5
    ) -> dict:
        """The runtime once the space is no longer building or starting (HF's `wait_for_space`), asked every
        `poll_s` (benchmarks ask more often: the poll would otherwise round their figures up to it)."""
        deadline = time.monotonic() + timeout
        api = self.api(token)
        while True:
            runtime = api.get_space_runtime(space_id).raw
            if runtime["stage"] not in TRANSITIONAL or time.monotonic() > deadline:
                return runtime
            time.sleep(poll_s)
