"""Real Gradio and Streamlit apps and a real ProxyApp on 127.0.0.1, for the proxy tests and benchmark.

The apps run from one uv environment built once per machine (cached under ~/.cache/podium-tests),
launched with exactly the command and environment the runner's build plan gives them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from podium_runner.plan import DEFAULT_SDK_VERSIONS, RunContext, make_plan
from podium_runner.spec import load_spec

APPS = Path(__file__).parent / "apps"
CACHE = Path(os.environ.get("PODIUM_TEST_CACHE", Path.home() / ".cache" / "podium-tests"))
UV = Path(sys.executable).with_name("uv")
REQUIREMENTS = [f"{sdk}=={version}" for sdk, version in sorted(DEFAULT_SDK_VERSIONS.items())]


def app_python() -> Path:
    """The Python of an environment with Gradio and Streamlit, built on first use."""
    env = CACHE / ("proxy-apps-" + "-".join(REQUIREMENTS).replace("==", ""))
    complete = env / ".complete"  # written last, so an interrupted build is redone
    if not complete.exists():
        shutil.rmtree(env, ignore_errors=True)
        uv_env = os.environ | {"UV_CACHE_DIR": str(CACHE / "uv-cache"), "NO_COLOR": "1"}
        python_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        subprocess.run([UV, "venv", "-q", "--python", python_version, env], check=True, env=uv_env)
        subprocess.run(
            [
                UV,
                "pip",
                "install",
                "-q",
                "--python",
                env / "bin" / "python",
                "--compile-bytecode",
                *REQUIREMENTS,
            ],
            check=True,
            env=uv_env,
        )
        complete.touch()
    return env / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the app exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {timeout_s} s")


@contextmanager
def running_space(folder: str, space_id: str, python: Path, log_dir: Path) -> Iterator[str]:
    """Run the space in `apps/folder` under the prefix /apps/{space_id}; yields its base URL."""
    port = free_port()
    plan = make_plan(load_spec(APPS / folder))
    launch = plan.launch(RunContext(space_id=space_id, port=port, root_path=f"/apps/{space_id}"))
    argv = [str(python), *launch.argv[1:]] if launch.argv[0] == "python" else list(launch.argv)
    env = {"PATH": os.environ["PATH"], "HOME": str(log_dir), "HF_HUB_OFFLINE": "1", **launch.env}
    log = (log_dir / f"{folder}.log").open("wb")
    process = subprocess.Popen(argv, cwd=APPS / folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + launch.health_path, 120, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 from a background thread, with its own event loop."""

    def __init__(self, app, port: int | None = None, **config) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"log_level": "warning", "lifespan": "on", **config}
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
