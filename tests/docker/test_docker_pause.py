"""The first tier of sleep on the docker backend (issue 13): an idle space's container is paused, keeps its
memory, and answers again as soon as it is unpaused; a paused container still stops."""

from __future__ import annotations

import time

import aiohttp
import pytest
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import start_container, stdlib_space
from tests.support.process_spaces import free_port


async def _status(url: str, timeout: float) -> int:
    async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(timeout)) as answer:
        return answer.status


@pytest.mark.anyio
async def test_a_paused_container_keeps_its_memory_and_answers_once_unpaused(backend, tmp_path, cleanup, docker_client):
    plan = stdlib_space(tmp_path / "dozing")
    instance = await start_container(backend, plan, RunContext(space_id="alice/dozing", port=free_port()), cleanup)
    await wait_until_ready(backend, instance, "/", 120)

    assert await backend.freeze(instance)
    assert docker_client.api.inspect_container(instance.state["id"])["State"]["Paused"]
    assert (await backend.memory_bytes(instance) or 0) > 2**20  # its memory, still charged to it
    with pytest.raises(TimeoutError):  # the kernel takes the connection; the frozen app cannot answer
        await _status(instance.url, 1.5)
    assert await backend.poll(instance) is None  # paused is not ended

    await backend.thaw(instance)
    started = time.monotonic()
    assert await _status(instance.url, 10) == 200
    assert time.monotonic() - started < 2

    assert await backend.freeze(instance)
    await backend.stop(instance, timeout=2)  # a paused container stops too
    assert (await backend.poll(instance)) is not None
