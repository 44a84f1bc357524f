"""Spaces cannot call each other: each runs on Podium's own bridge with inter-container traffic off.

Two spaces run side by side; from inside one, the other's app port and a Gradio-style reload server
on 7887 do not answer at its container IP, while Podium reaches both at their loopback ports and a
space still reaches the host. A container left on the default bridge by an older Podium is replaced
on adoption, and Podium in a container (`reach_by_ip`) gets a network where it reaches its spaces.
"""

from __future__ import annotations

import socket
import threading
import uuid

import aiohttp
import docker
import pytest
from podium_runner.backend import StartError
from podium_runner.docker import DockerBackend, network
from podium_runner.docker.network import ICC_OPTION, SpacesNetwork
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, start_container, stdlib_space
from tests.support.process_spaces import free_port

# Gradio's `spaces` package serves its reload endpoint on 7887 with no authentication.
RELOAD_SERVER = """
    import socket, threading
    reload_server = socket.create_server(("0.0.0.0", 7887))

    def serve_reloads():
        while True:
            reload_server.accept()[0].close()

    threading.Thread(target=serve_reloads, daemon=True).start()
"""
PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except OSError as exc:
    print(type(exc).__name__, exc)
"""


def _probe(container, host: str, port: int) -> str:
    """What a space sees when it connects to host:port from inside its container."""
    return container.exec_run(["python", "-c", PROBE, host, str(port)]).output.decode().strip()


def _address(docker_client, instance, network_name: str) -> str:
    attrs = docker_client.api.inspect_container(instance.state["id"])
    return attrs["NetworkSettings"]["Networks"][network_name]["IPAddress"]


async def _get(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


@pytest.mark.anyio
async def test_a_space_cannot_reach_another_but_podium_reaches_both_and_they_reach_the_host(
    backend, tmp_path, cleanup, docker_client
):
    private = stdlib_space(tmp_path / "private", RELOAD_SERVER)
    curious = stdlib_space(tmp_path / "curious")
    contexts = [
        RunContext(space_id="alice/private", port=free_port()),
        RunContext(space_id="alice/curious", port=free_port()),
    ]

    started = [
        await start_container(backend, plan, ctx, cleanup)
        for plan, ctx in zip((private, curious), contexts, strict=True)
    ]
    for instance in started:
        await wait_until_ready(backend, instance, "/", 60)
    answers = [await _get(instance.url) for instance in started]
    target, prober = started
    assert [instance.url for instance in (target, prober)] == [f"http://127.0.0.1:{ctx.port}" for ctx in contexts]
    assert answers == [200, 200]  # Podium, through the published loopback ports

    address = _address(docker_client, target, "podium-spaces")
    inside = docker_client.containers.get(prober.state["id"])
    assert _probe(inside, address, 7860) == "TimeoutError timed out"  # dropped at the bridge
    assert _probe(inside, address, 7887) == "TimeoutError timed out"
    # Both listen there: the host itself reaches them, only the other space is cut off.
    for port in (7860, 7887):
        socket.create_connection((address, port), timeout=3).close()

    settings = docker_client.api.inspect_network("podium-spaces")
    assert settings["Options"][ICC_OPTION] == "false" and settings["Internal"] is False
    # The way out stays open: the space reaches a server on the host through its gateway.
    gateway = settings["IPAM"]["Config"][0]["Gateway"]
    with socket.create_server(("0.0.0.0", 0)) as server:
        server.settimeout(10)
        accepted = []
        listener = threading.Thread(target=lambda: accepted.append(server.accept()[1]))
        listener.start()
        assert _probe(inside, gateway, server.getsockname()[1]) == "connected"
        listener.join()
    assert accepted[0][0] == _address(docker_client, prober, "podium-spaces")


@pytest.mark.anyio
async def test_a_container_an_older_podium_left_on_the_default_bridge_is_replaced(
    base_image, backend, tmp_path, cleanup, docker_client
):
    plan = stdlib_space(tmp_path / "veteran")
    ctx = RunContext(space_id="alice/veteran", port=free_port())
    older = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS)
    older.network = SpacesNetwork("bridge", icc=True)  # where every space ran before they had their own
    log: list[str] = []

    old = await start_container(older, plan, ctx, cleanup)
    await wait_until_ready(older, old, "/", 60)
    (orphan,) = [state for state in await backend.list_orphans(known=set()) if state["id"] == old.state["id"]]
    adopted = await backend.adopt(orphan, log.append)
    # The space starts again, on the same port, on the spaces network.
    new = await start_container(backend, plan, ctx, cleanup)
    await wait_until_ready(backend, new, "/", 60)
    answer = await _get(new.url)
    assert adopted is None
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(old.state["id"])
    assert log == [
        f"alice/veteran: its container {old.state['name']} runs on the Docker network bridge, "
        f"not on podium-spaces; removed it, to start it again there"
    ]
    assert list(docker_client.api.inspect_container(new.state["id"])["NetworkSettings"]["Networks"]) == [
        "podium-spaces"
    ]
    assert new.url == f"http://127.0.0.1:{ctx.port}" and answer == 200
    assert await backend.adopt(new.state, log.append) is not None  # once there, it is adopted as it runs


@pytest.mark.anyio
async def test_podium_reaching_spaces_by_ip_gets_a_network_where_it_can(base_image, tmp_path, cleanup, docker_client):
    by_ip = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, reach_by_ip=True)
    plan = stdlib_space(tmp_path / "plain")
    ctx = RunContext(space_id="alice/plain", port=free_port())

    instance = await start_container(by_ip, plan, ctx, cleanup)
    await wait_until_ready(by_ip, instance, "/", 60)
    answer = await _get(instance.url)
    assert instance.url == f"http://{_address(docker_client, instance, 'podium-spaces-shared')}:7860"
    assert answer == 200
    assert docker_client.api.inspect_container(instance.state["id"])["HostConfig"]["PortBindings"] in ({}, None)
    assert docker_client.api.inspect_network("podium-spaces-shared")["Options"][ICC_OPTION] == "true"


def test_a_network_of_that_name_with_other_settings_is_refused_with_what_to_do(docker_client):
    wanted = SpacesNetwork(f"podium-test-{uuid.uuid4().hex[:8]}", icc=False)
    docker_client.networks.create(wanted.name, driver="bridge")  # made by hand, the default way
    try:
        with pytest.raises(StartError) as refused:
            network.ensure(docker_client, wanted, "alice/any")
    finally:
        docker_client.api.remove_network(wanted.name)
    assert str(refused.value) == (
        f"alice/any: the Docker network {wanted.name} exists, but inter-container communication is on "
        f"({ICC_OPTION}). Stop the containers on it and remove it (docker network rm {wanted.name}); "
        f"Podium creates it again as it needs it"
    )


class _EngineSeeing:
    """The one engine call `reach_by_ip_here` makes (inspecting Podium's own container), answered as the engine
    answers for a container run with `network_mode`; a fake of the engine for the cases this host is not."""

    def __init__(self, network_mode: str) -> None:
        self.api = self
        self.network_mode = network_mode

    def inspect_container(self, container_id: str) -> dict:
        return {"Id": container_id, "HostConfig": {"NetworkMode": self.network_mode}}


def test_podium_reaches_spaces_by_ip_only_from_a_container_off_the_hosts_network(monkeypatch) -> None:
    def no_engine() -> None:
        raise AssertionError("the engine was asked on the host, where a backend is made before it answers")

    # Here, on the host: the spaces' ports on the loopback, and the engine is not asked.
    assert network.own_container_id() is None and network.reach_by_ip_here(no_engine) is False
    monkeypatch.setattr(network, "own_container_id", lambda: "f" * 64)
    for mode, by_ip in (("host", False), ("bridge", True), ("podium-net", True)):  # --network host is the README's
        assert network.reach_by_ip_here(lambda mode=mode: _EngineSeeing(mode)) is by_ip, mode
