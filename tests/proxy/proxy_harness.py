"""Real Gradio and Streamlit spaces and a real ProxyApp on 127.0.0.1, for the proxy tests and benchmark.

The spaces in `apps/` run through the runner's process backend with the shared test folders
(tests/support/process_spaces.py), so their environments are the ones every other test area uses,
built once per machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend
from podium_runner.spec import load_spec

from tests.support.process_spaces import free_port

APPS = Path(__file__).parent / "apps"
_BUILD_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class RunningSpace:
    url: str  # where the app itself listens, e.g. "http://127.0.0.1:34567"
    python: Path  # its environment's interpreter, for clients that need the sdk's own classes


class SpaceRunner:
    """Runs spaces through the process backend from synchronous code (fixtures, the benchmark): the
    backend lives on its own event loop in a thread, because it follows app logs with asyncio tasks."""

    def __init__(self, backend: ProcessBackend) -> None:
        self.backend = backend
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = _BUILD_TIMEOUT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @contextmanager
    def running(self, folder: str, space_id: str) -> Iterator[RunningSpace]:
        """Build (or reuse) the environment of `apps/folder` and run it under the prefix /apps/{space_id}."""
        plan = make_plan(load_spec(APPS / folder))
        build_log: list[str] = []
        try:
            env = self._call(self.backend.prepare(plan, build_log.append))
        except Exception as error:
            raise RuntimeError(f"{space_id}: build failed:\n" + "\n".join(build_log[-30:])) from error
        ctx = RunContext(space_id=space_id, port=free_port(), root_path=f"/apps/{space_id}")
        instance = self._call(self.backend.start(plan, env, ctx, lambda line: None))
        try:
            self._call(wait_until_ready(self.backend, instance, plan.launch(ctx).health_path, 120))
            yield RunningSpace(instance.url.rstrip("/"), Path(env.location) / "bin" / "python")
        finally:
            self._call(self.backend.stop(instance))

    def close(self) -> None:
        self._call(self.backend.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def wait_for(url: str, timeout_s: float, process: Any = None) -> None:
    """Wait until `url` answers below 500; fail early when `process` (a Popen) exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {timeout_s} s")


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 from a background thread, with its own event loop."""

    def __init__(self, app: Any, port: int | None = None, **config: Any) -> None:
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

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
