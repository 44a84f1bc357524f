"""Podium restarts while a space's container runs: the new Podium finds it by its labels and keeps it."""

from __future__ import annotations

import aiohttp
import pytest
from podium_runner.docker import DockerBackend
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, start_container, stdlib_space
from tests.support.process_spaces import free_port


@pytest.mark.anyio
async def test_a_restarted_podium_adopts_the_running_container_without_restarting_it(
    backend, base_image, tmp_path, cleanup, docker_client
):
    plan = stdlib_space(
        tmp_path / "steady",
        """
        print("ready", flush=True)
    """,
    )
    ctx = RunContext(space_id="alice/steady", port=free_port())

    started = await start_container(backend, plan, ctx, cleanup)
    await wait_until_ready(backend, started, "/", 60)
    state = started.state
    started_at = docker_client.api.inspect_container(state["id"])["State"]["StartedAt"]

    restarted = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS)  # a new Podium process

    orphans = await restarted.list_orphans(known=set())
    mine = [orphan for orphan in orphans if orphan["id"] == state["id"]]
    instance = await restarted.adopt(mine[0], lambda _line: None)
    running = await restarted.poll(instance)
    async with aiohttp.ClientSession() as session, session.get(instance.url) as response:
        answered = response.status
    known_now = await restarted.list_orphans(known={state["id"]})
    started_then = docker_client.api.inspect_container(state["id"])["State"]["StartedAt"]
    await restarted.stop(instance)
    gone = await restarted.adopt(state, lambda _line: None)
    assert mine == [state]  # the labels alone rebuild the state Podium had saved
    assert instance.space_id == "alice/steady" and instance.url == f"http://127.0.0.1:{ctx.port}"
    assert running is None and answered == 200
    assert started_then == started_at  # the same run of the container, never restarted
    assert state["id"] not in [orphan["id"] for orphan in known_now]
    assert gone is None  # once stopped, there is nothing to adopt


@pytest.mark.anyio
async def test_a_container_the_previous_release_saved_is_adopted(backend, base_image, tmp_path, cleanup):
    """The previous release saved a container's state without "instance_id"; the upgraded Podium
    adopts it from that record, and finds it by its labels (unchanged) as well."""
    plan = stdlib_space(
        tmp_path / "kept",
        """
        print("ready", flush=True)
    """,
    )
    ctx = RunContext(space_id="alice/kept", port=free_port())

    started = await start_container(backend, plan, ctx, cleanup)
    await wait_until_ready(backend, started, "/", 60)
    previous = {key: started.state[key] for key in ("id", "name", "space_id", "image", "url", "gpu_ids")}
    upgraded = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS)

    instance = await upgraded.adopt(previous, lambda _line: None)
    running = await upgraded.poll(instance)
    found = [orphan for orphan in await upgraded.list_orphans(known=set()) if orphan["id"] == previous["id"]]
    unknown = [
        orphan for orphan in await upgraded.list_orphans(known={instance.instance_id}) if orphan["id"] == previous["id"]
    ]
    await upgraded.stop(instance)
    assert running is None and instance.instance_id == previous["id"]
    assert (instance.space_id, instance.url) == ("alice/kept", f"http://127.0.0.1:{ctx.port}")
    assert [{key: orphan[key] for key in previous} for orphan in found] == [previous]
    assert unknown == []
