"""Apps that misbehave inside their container, and an engine that goes away under Podium.

Each app here is a stdlib server on the shared Gradio dependency image, so a case costs one small
layer and no Gradio start-up. Limits come from the test flavor table (768 MB, 1 CPU, 128 pids).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import docker
import pytest
from podium_runner.backend import BackendUnavailable, StartError
from podium_runner.docker import DockerBackend
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, containers_of, start_container, stdlib_space
from tests.support.cancelled_starts import cancel_once_made
from tests.support.process_spaces import free_port


@pytest.mark.anyio
async def test_an_app_allocating_past_its_memory_limit_is_killed_as_out_of_memory(backend, tmp_path, cleanup):
    plan = stdlib_space(
        tmp_path / "hog",
        """
        hoard = []
        while True:
            hoard.append(bytearray(32 * 1024 * 1024))
    """,
    )
    ctx = RunContext(space_id="alice/hog", port=free_port())

    instance = await start_container(backend, plan, ctx, cleanup)
    with pytest.raises(StartError) as failure:
        await wait_until_ready(backend, instance, "/", 60)
    ended = await backend.poll(instance)
    await backend.stop(instance)
    assert ended.reason == "out of memory" and ended.code == 137
    assert "the app stopped before it answered (out of memory)" in str(failure.value)


@pytest.mark.anyio
async def test_a_fork_bomb_stops_at_the_pids_limit_and_the_space_still_stops(backend, tmp_path, cleanup, docker_client):
    plan = stdlib_space(
        tmp_path / "forks",
        """
        import time
        if os.fork() == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.05)
    """,
    )
    ctx = RunContext(space_id="alice/forks", port=free_port())
    limit = TEST_FLAVORS["cpu-basic"].pids

    instance = await start_container(backend, plan, ctx, cleanup)
    container = docker_client.containers.get(instance.state["id"])
    highest = 0
    deadline = time.monotonic() + 30
    while highest < limit - 5 and time.monotonic() < deadline:
        highest = max(highest, container.stats(stream=False)["pids_stats"].get("current", 0))
    started = time.monotonic()
    await backend.stop(instance, timeout=2)
    stop_took = time.monotonic() - started
    assert limit - 5 <= highest <= limit  # it reached the limit and never passed it
    assert stop_took < 30
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(cleanup[0])


class SocketRelay:
    """A unix socket that forwards to the real engine's socket, and can be cut like a stopped dockerd.

    Stopping the real dockerd would break every other test using the engine at the same time; what
    Podium sees is the same: its socket stops answering, then answers again."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock"):
        self.path, self.target = path, target
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []

    def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(str(self.path))
        self._server.listen(16)
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self.path.unlink(missing_ok=True)
        for connection in self._connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        self._connections.clear()


@pytest.mark.anyio
async def test_the_engine_going_away_gives_a_clear_error_and_podium_recovers_when_it_is_back(
    base_image, tmp_path, cleanup
):
    relay = SocketRelay(tmp_path / "engine.sock")
    relay.start()
    backend = DockerBackend(docker_host=f"unix://{relay.path}", base_image=base_image, flavors=TEST_FLAVORS)
    plan = stdlib_space(tmp_path / "steady", 'REPORT["ok"] = True')
    ctx = RunContext(space_id="alice/steady", port=free_port())

    instance = await start_container(backend, plan, ctx, cleanup)
    await wait_until_ready(backend, instance, "/", 60)
    relay.stop()
    with pytest.raises(BackendUnavailable) as gone:
        await backend.poll(instance)
    with pytest.raises(BackendUnavailable):
        await backend.prepare(plan, lambda _line: None)
    relay.start()
    still_running = await backend.poll(instance)
    await backend.stop(instance)
    assert f"the Docker engine at unix://{relay.path} does not answer" in str(gone.value)
    assert "Start dockerd" in str(gone.value)
    assert still_running is None  # the container kept running; Podium picks it up again


@pytest.mark.anyio
async def test_no_engine_at_all_is_a_clear_error(base_image, tmp_path):
    backend = DockerBackend(docker_host=f"unix://{tmp_path}/nothing.sock", base_image=base_image)
    plan = stdlib_space(tmp_path / "lonely")
    with pytest.raises(BackendUnavailable, match="does not answer.*Start dockerd"):
        await backend.prepare(plan, lambda _line: None)


@pytest.mark.anyio
async def test_a_start_cancelled_while_its_container_starts_leaves_no_container(backend, tmp_path, docker_client):
    """docker-py's calls run in a thread that a cancelled start cannot stop: its container would run for nobody."""
    plan = stdlib_space(tmp_path / "cancelled")
    env = await backend.prepare(plan, lambda _line: None)

    def named() -> list[str]:
        return containers_of(docker_client, "alice/cancelled-cold")

    async def container_made(_ctx: RunContext) -> bool:
        return bool(await asyncio.to_thread(named))

    def context() -> RunContext:
        return RunContext(space_id="alice/cancelled-cold", port=free_port())

    await cancel_once_made(backend, plan, env, context, container_made, "container")
    deadline = time.monotonic() + 60
    while await asyncio.to_thread(named) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert await asyncio.to_thread(named) == []
