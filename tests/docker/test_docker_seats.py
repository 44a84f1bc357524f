"""Seats (issue 13): started containers of a dependency image that wait for a space's code.

A story on a real engine. A first space starts cold, and a seat of its dependency image is made. A second
space of that image takes the seat: its app runs in a container with the cold one's hardened settings, its
imports done ahead, its variables given to the app alone (they are not in the container's configuration), its
own /data volume mounted into the running container, and nothing of the seat's folder writable; links in its
code aimed at the host's files are copied as links, their targets untouched. Its /data
outlives the seat, the seat's folder goes with its app, and the seats of an image go once none of its spaces
runs. A seat whose container died is discarded, and the start that would have taken it starts cold. A start
cancelled while it takes a seat leaves no container behind.
"""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
import time

import aiohttp
import docker
import pytest
from podium_runner.docker import DockerBackend
from podium_runner.docker.containers import LABEL_SEAT, volume_name
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, containers_of, stdlib_space, write_probe
from tests.support.process_spaces import free_port

PROBED = ("/data/counter.txt", "/home/user/app/note.txt", "/podium-seat/note.txt", "/podium-seat/zygote.py")
REPORTER = textwrap.dedent("""
    import os, sys
    status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    REPORT["uid"] = os.getuid()
    REPORT["cap_eff"] = status["CapEff"].strip()
    REPORT["no_new_privs"] = status["NoNewPrivs"].strip()
    REPORT["imported_ahead"] = "gradio" in sys.modules  # this app never imports gradio itself
    REPORT["secret"] = os.environ.get("SECRET_TOKEN")
    REPORT["cwd"] = os.getcwd()
    try:
        REPORT["escape"] = open("escape-file").read()
    except OSError as exc:
        REPORT["escape"] = type(exc).__name__
""") + write_probe(*PROBED)
HARDENING = ("CapDrop", "CapAdd", "SecurityOpt", "ReadonlyRootfs", "Tmpfs", "Memory", "MemorySwap", "NanoCpus")
HARDENING += ("PidsLimit", "Privileged", "NetworkMode")


@pytest.fixture
async def seated(base_image: str, tmp_path, anyio_backend):
    seats = tmp_path / "seats"
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, seats_folder=seats, seats_per_image=1)
    yield backend
    await backend.close()
    # Where the story stopped early, a taken seat's folder still holds its space's volume.
    subprocess.run(["umount", "--recursive", "--lazy", str(seats)], capture_output=True, check=False)


async def _start(backend: DockerBackend, plan, space_id: str, cleanup: list[str], secret: str = "") -> tuple:
    log: list[str] = []
    env = await backend.prepare(plan, lambda _line: None)
    ctx = RunContext(space_id=space_id, port=free_port(), env={"SECRET_TOKEN": secret} if secret else {})
    instance = await backend.start(plan, env, ctx, log.append)
    cleanup.append(instance.state["id"])
    await wait_until_ready(backend, instance, "/", 120)
    async with aiohttp.ClientSession() as session, session.get(instance.url) as response:
        return instance, await response.json(), log


def _seats(client: docker.DockerClient) -> list:
    return client.containers.list(all=True, filters={"label": LABEL_SEAT})


def _wait_for_a_ready_seat(client: docker.DockerClient, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(b"a seat of this image, ready" in seat.logs() for seat in _seats(client)):
            return
        time.sleep(0.5)
    raise AssertionError(f"no seat was ready within {timeout} s: {[seat.logs()[-500:] for seat in _seats(client)]}")


@pytest.mark.anyio
async def test_a_start_takes_a_ready_seat_with_the_cold_containers_settings(seated, tmp_path, cleanup, docker_client):
    first, _, log = await _start(seated, stdlib_space(tmp_path / "first"), "alice/first", cleanup)
    assert any(line.startswith("cold start: no seat of podium-deps:") for line in log), log
    _wait_for_a_ready_seat(docker_client)
    (seat_folder,) = (tmp_path / "seats").iterdir()

    plan = stdlib_space(tmp_path / "seated", REPORTER)
    # Its code is copied and handed to uid 1000 by root on the host: links in it aimed at the host's files.
    host_file, host_folder = tmp_path / "host-secret.txt", tmp_path / "host-folder"
    host_file.write_text("the host's")
    host_file.chmod(0o600)
    host_folder.mkdir(mode=0o700)
    (host_folder / "inside.txt").write_text("the host's")
    (plan.space_root / "escape-file").symlink_to(host_file)
    (plan.space_root / "escape-folder").symlink_to(host_folder)
    started = time.monotonic()
    seated_instance, report, log = await _start(seated, plan, "alice/seated", cleanup, secret="s3cret")
    print(f"a start in a seat answered in {time.monotonic() - started:.2f} s")
    assert any(line.startswith("warm start: in a seat of podium-deps:") for line in log), log
    assert (report["uid"], report["cap_eff"], report["no_new_privs"]) == (1000, "0000000000000000", "1")
    assert report["imported_ahead"] and report["cwd"] == "/home/user/app"
    assert report["secret"] == "s3cret"
    assert report["/data/counter.txt"] == "written"
    for path in PROBED[1:]:
        assert report[path] == "Read-only file system", (path, report[path])
    # The links were copied as links and given to uid 1000 themselves; what they aim at is still root's.
    for path in (host_file, host_folder, host_folder / "inside.txt"):
        assert path.stat().st_uid == 0, path
    assert report["escape"] == "FileNotFoundError"  # in the container the link leads nowhere

    cold = docker_client.containers.get(first.state["id"]).attrs
    warm = docker_client.containers.get(seated_instance.state["id"]).attrs
    assert {key: warm["HostConfig"][key] for key in HARDENING} == {key: cold["HostConfig"][key] for key in HARDENING}
    assert warm["Config"]["User"] == cold["Config"]["User"] == "1000:1000"
    assert warm["HostConfig"]["PortBindings"]["7860/tcp"][0]["HostIp"] == "127.0.0.1"
    assert warm["Name"].startswith("/podium-alice--seated-") and seated_instance.space_id == "alice/seated"
    # Its variables went to the app alone, down the seat's FIFO: the engine's record of the container has none.
    assert not any("s3cret" in item for item in warm["Config"]["Env"])

    await seated.stop(seated_instance)
    assert not seat_folder.exists()  # its folder went with it, the volume unmounted first
    docker_client.volumes.get(volume_name("alice/seated"))  # the space's /data stays

    _wait_for_a_ready_seat(docker_client)  # taking the seat made the next one
    again, report, _ = await _start(seated, plan, "alice/seated", cleanup)
    assert "counter.txt" in report["data"]  # what it wrote in the seat is in its volume

    await seated.stop(again)
    await seated.stop(first)
    deadline = time.monotonic() + 60  # one may still be being made; it goes once made
    while _seats(docker_client) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _seats(docker_client) == []  # none of the image's spaces runs: its seats are gone
    docker_client.volumes.get(volume_name("alice/seated")).remove(force=True)


@pytest.mark.anyio
async def test_a_seat_that_died_is_discarded_and_the_start_goes_cold(seated, tmp_path, cleanup, docker_client):
    first, _, _ = await _start(seated, stdlib_space(tmp_path / "first"), "alice/first", cleanup)
    _wait_for_a_ready_seat(docker_client)
    (seat,) = _seats(docker_client)
    seat.kill()  # its program will never read a start

    second, report, log = await _start(seated, stdlib_space(tmp_path / "second"), "alice/second", cleanup)
    assert report == {} and any(line.startswith("cold start: no seat of") for line in log), log
    assert seat.id not in {container.id for container in _seats(docker_client)}
    assert seat.labels[LABEL_SEAT] not in {folder.name for folder in (tmp_path / "seats").iterdir()}
    await seated.stop(second)
    await seated.stop(first)


@pytest.mark.anyio
async def test_a_start_cancelled_while_it_takes_a_seat_leaves_no_container(seated, tmp_path, cleanup, docker_client):
    """The hand-over runs in a thread that a cancelled start cannot stop: its app would run for nobody."""
    first, _, _ = await _start(seated, stdlib_space(tmp_path / "first"), "alice/first", cleanup)
    _wait_for_a_ready_seat(docker_client)
    (seat,) = _seats(docker_client)
    plan = stdlib_space(tmp_path / "cancelled")
    with (plan.space_root / "weights.bin").open("wb") as weights:  # its copy into the seat takes a while
        weights.truncate(0)
        for _ in range(256):
            weights.write(b"\1" * (1 << 20))
    env = await seated.prepare(plan, lambda _line: None)
    ctx = RunContext(space_id="alice/cancelled-seat", port=free_port())
    start = asyncio.ensure_future(seated.start(plan, env, ctx, lambda _line: None))
    copied = tmp_path / "seats" / seat.labels[LABEL_SEAT] / "app" / "weights.bin"
    deadline = time.monotonic() + 60
    while not copied.exists() and not start.done() and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    assert copied.exists() and not start.done(), "the hand-over did not begin"
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    deadline = time.monotonic() + 60
    left = lambda: (containers_of(docker_client, "alice/cancelled-seat", seat.id), copied.parent.parent.exists())  # noqa: E731
    while time.monotonic() < deadline and left() != ([], False):
        await asyncio.sleep(0.2)
    assert left() == ([], False)  # no container, and the seat's folder went with it
    await seated.stop(first)
