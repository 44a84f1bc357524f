"""A docker space's owner asks the cloud metadata service for the host's credentials.

A fake metadata service at 169.254.169.254 (in a namespace the test creates: network_hosts.py) answers
the host, and a container on Docker's default bridge; a space's container, on either of Podium's
spaces networks, gets nothing from it, yet still reaches the outside (198.18.0.2 there). Podium's
rule in DOCKER-USER is there once per network however many spaces start.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest
from podium_runner.docker import DockerBackend
from podium_runner.docker.link_local import CHAIN, comment_for, rule_comment
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker import conftest as docker_fixtures
from tests.docker.spaces import TEST_FLAVORS, start_container, stdlib_space
from tests.security import network_hosts
from tests.security.network_hosts import METADATA, OUTSIDE, FakeHosts, first_line_from
from tests.support.process_spaces import free_port

pytestmark = pytest.mark.docker
hosts, base_image, cleanup, docker_client = (
    network_hosts.hosts,
    docker_fixtures.base_image,
    docker_fixtures.cleanup,
    docker_fixtures.docker_client,
)

# What a space runs to read the first line at host:port, or the error it got.
PROBE = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as connection:
        print(connection.makefile().readline().strip())
except OSError as exc:
    print(type(exc).__name__)
"""


def _podium_rules(network_name: str) -> list[list[str]]:
    listing = subprocess.run(["iptables", "-w", "-S", CHAIN], capture_output=True, text=True, check=True).stdout
    rules = [shlex.split(line) for line in listing.splitlines()]
    return [rule for rule in rules if rule_comment(rule) == comment_for(network_name)]


@pytest.mark.anyio
@pytest.mark.parametrize("reach_by_ip", [False, True], ids=["podium-spaces", "podium-spaces-shared"])
async def test_a_docker_space_cannot_reach_the_metadata_service_but_reaches_the_outside(
    base_image, hosts: FakeHosts, tmp_path, cleanup, docker_client, reach_by_ip
):
    spaces = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, reach_by_ip=reach_by_ip)
    plan = stdlib_space(tmp_path / "greedy")

    started = []
    for name in ("greedy", "greedier"):
        instance = await start_container(spaces, plan, RunContext(space_id=f"alice/{name}", port=free_port()), cleanup)
        await wait_until_ready(spaces, instance, "/", 60)
        started.append(instance)
    greedy, _ = started
    container = docker_client.containers.get(greedy.state["id"])

    def from_inside(address: str) -> str:
        return container.exec_run(["python", "-c", PROBE, address, str(hosts.port)]).output.decode().strip()

    assert first_line_from(METADATA, hosts.port) == f"FAKE-HOST {METADATA}"  # it is there for the host
    assert from_inside(OUTSIDE) == f"FAKE-HOST {OUTSIDE}"
    assert from_inside(METADATA) == "TimeoutError"  # dropped on the way
    # A container outside Podium's networks does reach it: the rule, not the fake host, stops the space.
    control = docker_client.containers.run(
        container.image.id,
        ["python", "-c", PROBE, METADATA, str(hosts.port)],
        network="bridge",
        remove=True,
        entrypoint=[],
        user="root",
    )
    assert control.decode().strip() == f"FAKE-HOST {METADATA}"
    assert len(_podium_rules(spaces.network.name)) == 1  # two starts, one rule
