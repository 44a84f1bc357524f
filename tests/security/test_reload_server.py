"""Gradio's Spaces reload server (the `spaces` package every Gradio space gets) accepts code from anyone on
0.0.0.0:7887. An app that shares the host's network must not get to listen there: the process backend
holds 127.0.0.1:7887 while such apps run (podium_runner/process/reload_port.py). The negative control
shows what an app's reload server does on the host without that hold."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.process import ProcessBackend
from podium_runner.process.reload_port import RELOAD_PORT
from podium_runner.spec import load_spec

from tests.support.process_spaces import GRADIO_HELLO, free_port, shared_folders, write_space

pytestmark = pytest.mark.slow


def _listening_on_every_interface(port: int) -> bool:
    """Whether a socket listens on 0.0.0.0:`port` (/proc/net/tcp: state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(r.split()[1] == f"00000000:{port:04X}" and r.split()[3] == "0A" for r in rows)


async def _reload_server_after_start(backend: ProcessBackend, folder: Path, space_id: str) -> str:
    """Start the app and wait for its reload server: "listening" on 0.0.0.0:7887, or "refused" (its bind
    error in the app's log)."""
    plan = make_plan(load_spec(folder))
    env = await backend.prepare(plan, lambda _line: None)
    ctx = RunContext(space_id=space_id, port=free_port())
    lines: list[str] = []
    instance = await backend.start(plan, env, ctx, lines.append)
    try:
        await wait_until_ready(backend, instance, plan.launch(ctx).health_path, plan.startup_timeout_s)
        with anyio.fail_after(60):  # Gradio starts the reload server's thread beside the app's server
            while True:
                if _listening_on_every_interface(RELOAD_PORT):
                    return "listening"
                if any(f"('0.0.0.0', {RELOAD_PORT}): address already in use" in line for line in lines):
                    return "refused"
                await anyio.sleep(0.2)
    finally:
        await backend.stop(instance)


@pytest.mark.anyio
async def test_an_app_on_the_hosts_network_cannot_put_the_reload_server_on_the_host(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert not _listening_on_every_interface(RELOAD_PORT), "something listens on 0.0.0.0:7887 before the test"
    folder = write_space(tmp_path / "hello", "sdk: gradio", GRADIO_HELLO)
    backend = ProcessBackend(shared_folders(tmp_path_factory.mktemp("reload")), sandbox="off")
    assert not backend.network_isolated and backend._reload_port_hold is not None
    try:
        assert await _reload_server_after_start(backend, folder, "alice/hello") == "refused"

        # Negative control: without the hold, the same app's reload server listens on the host.
        backend._reload_port_hold.close()
        assert await _reload_server_after_start(backend, folder, "alice/hello-again") == "listening"
    finally:
        await backend.close()
    assert not _listening_on_every_interface(RELOAD_PORT)
