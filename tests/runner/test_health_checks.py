"""The health check that decides when a started app serves (podium_runner/health.py), against a real HTTP
server that answers 503 until it is ready."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.spec import load_spec
from podium_runner.testing import FakeBackend

from tests.support.process_spaces import free_port, write_space


@pytest.mark.anyio
async def test_a_starting_app_is_probed_often_until_it_answers(tmp_path: Path) -> None:
    """Warm starts answer within half a second, so the first probes come every 50 ms instead of backing off
    at once: backing off from the first probe, an app that answered at 0.5 s was seen at 0.8 s (every warm
    start of benchmarks/warm_starts.py waited for it, and cold ones too)."""
    probes: list[float] = []

    async def app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        probes.append(time.monotonic())
        status = "200 OK" if probes[-1] - probes[0] > 1.0 else "503 Starting"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(app, "127.0.0.1", 0)
    backend = FakeBackend()  # says the app still runs while it is probed
    plan = make_plan(load_spec(write_space(tmp_path, "sdk: gradio", "print('hi')")))
    started = await backend.start(plan, await backend.prepare(plan, print), RunContext("alice/app", free_port()), print)
    instance = replace(started, url=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        await wait_until_ready(backend, instance, "/", 30)
    finally:
        server.close()
        await backend.stop(started)
    # Every 50 ms is about 20 probes in its first second; backing off at once (0, 0.1, 0.25, 0.48, 0.81 s) made 5.
    assert len(probes) > 10, [round(at - probes[0], 2) for at in probes]
