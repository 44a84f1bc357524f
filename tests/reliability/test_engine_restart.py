"""The engine under Podium going away: a Docker engine restarted while a space runs and while one builds.

The test runs a dockerd of its own (its own socket, data root, exec root and bridge, no iptables, its
own address pool), so restarting it touches no other test's engine; its data root lives in
the shared test cache, so Podium's base image is copied into it once per machine. It runs with
`live-restore`, as a production engine should: containers outlive a restart of dockerd. (Without it,
dockerd stops every container before it stops answering, so Podium sees each app exit: RUNTIME_ERROR
until the space is restarted.)
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.reliability.faults import answer_of, commit_folder, report, seconds_until_version
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import TEST_CACHE, free_port, write_space

pytestmark = [pytest.mark.slow, pytest.mark.docker]

BASE = "podium-base:bookworm"
BRIDGE, BRIDGE_ADDRESS = "podiumfault0", "10.214.0.1/24"  # the private engine's default bridge (builds' RUN steps)
APP = """
import http.server, json, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": os.environ.get("VERSION", "?")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("0.0.0.0", 7860), Handler).serve_forever()
"""


def boat(folder: Path, version: str, build_step: str = "") -> Path:
    """A docker space: Podium's base image, the standard library's server, and maybe a slow build step."""
    dockerfile = f"FROM {BASE}\n{build_step}\nCOPY app.py /srv/app.py\nENV VERSION={version}\nCMD python3 /srv/app.py\n"
    return write_space(folder, "sdk: docker\napp_port: 7860", dockerfile, app_file="Dockerfile", files={"app.py": APP})


class PrivateEngine:
    """A dockerd of the test's own, which it may stop and start."""

    def __init__(self, run: Path):
        self.run = run
        self.socket = run / "docker.sock"
        self.data_root = TEST_CACHE / "dockerd-faults"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=30)

    def start(self) -> None:
        (self.run / "exec").mkdir(parents=True, exist_ok=True)
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            for command in (
                ["ip", "link", "add", BRIDGE, "type", "bridge"],
                ["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE],
                ["ip", "link", "set", BRIDGE, "up"],
            ):
                subprocess.run(command, check=True)
        with open(self.run / "dockerd.log", "a") as log:
            self.process = subprocess.Popen(
                [
                    "dockerd",
                    f"--host={self.url}",
                    f"--data-root={self.data_root}",
                    f"--exec-root={self.run / 'exec'}",
                    f"--pidfile={self.run / 'docker.pid'}",
                    "--iptables=false",
                    "--ip6tables=false",
                    f"--bridge={BRIDGE}",
                    "--live-restore",
                    "--default-address-pool=base=10.213.0.0/16,size=24",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().ping()
                return
            except docker.errors.DockerException:
                assert self.process.poll() is None, (self.run / "dockerd.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the test's dockerd did not answer within 60 s"
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
            self.process = None

    def has_base(self) -> bool:
        try:
            self.client().images.get(BASE)
            return True
        except docker.errors.ImageNotFound:
            return False


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateEngine]:
    engine = PrivateEngine(tmp_path_factory.mktemp("dockerd"))
    engine.start()
    if not engine.has_base():  # once per machine: the data root is kept in the test cache
        saved = subprocess.Popen(["docker", "save", BASE], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", engine.url, "load", "-q"], stdin=saved.stdout, check=True, timeout=300)
        saved.wait(60)
    yield engine
    if engine.process is None:
        engine.start()
    client = engine.client()
    for container in client.containers.list(all=True):
        container.remove(force=True)
    client.close()
    engine.stop()
    subprocess.run(["ip", "link", "delete", BRIDGE], check=False)
    # dockerd makes its data root a bind mount onto itself, and leaves it (same device: no ismount test).
    subprocess.run(["umount", str(engine.data_root)], check=False, capture_output=True)


@pytest.fixture(scope="module")
def server(engine: PrivateEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServer]:
    podium = PodiumServer(
        tmp_path_factory.mktemp("podium-on-private-engine") / "data",
        free_port(),
        free_port(),
        {
            "PODIUM_BACKEND": "docker",
            "PODIUM_DOCKER_HOST": engine.url,
            "PODIUM_DOCKER_BASE_IMAGE": BASE,
            "PODIUM_WATCH_INTERVAL_S": "0.5",
            "PODIUM_DRAIN_S": "2",
        },
    )
    podium.start()
    yield podium
    podium.stop()


SPACE = "admin/boat"


def _container_id(server: PodiumServer) -> str:
    with sqlite3.connect(f"file:{server.data_dir / 'podium.db'}?mode=ro", uri=True) as db:
        (state,) = db.execute("SELECT instance_state FROM spaces WHERE owner='admin' AND name='boat'").fetchone()
    return json.loads(state)["id"]


def test_a_space_keeps_running_through_a_restart_of_its_engine(server, engine, tmp_path):
    assert server.push(SPACE, boat(tmp_path / "v1", "v1"), sdk="docker")["stage"] == "RUNNING"
    assert answer_of(server, SPACE) == {"version": "v1"}
    container = _container_id(server)
    engine.stop()
    # While the engine is away its port proxy is too, so the app cannot be reached; Podium says it cannot
    # poll the instance, and keeps it rather than call it ended.
    time.sleep(1.5)  # a few of the watcher's rounds
    assert "cannot poll its instance" in server.log()
    assert server.api().get_space_runtime(SPACE).stage == "RUNNING"
    began = time.monotonic()
    engine.start()
    took = seconds_until_version(server, SPACE, "v1", began)
    time.sleep(1.5)  # the watcher polls it again, now answered
    runtime = server.api().get_space_runtime(SPACE)
    assert runtime.stage == "RUNNING", runtime.raw
    assert _container_id(server) == container  # the same container: nothing restarted
    report(
        "dockerd restarted while a space runs",
        "the container ran on (live-restore) and Podium kept it; unreachable only while dockerd was down",
        took,
    )


def test_a_build_cut_by_an_engine_restart_fails_clearly_and_the_next_one_works(server, engine, tmp_path):
    marker = f"{30 + int.from_bytes(os.urandom(2)) / 100000:.5f}"
    commit_folder(server, SPACE, boat(tmp_path / "v2", "v2", f"RUN sleep {marker}"))
    deadline = time.monotonic() + 120
    while f"sleep {marker}" not in _build_log(server):
        assert time.monotonic() < deadline, _build_log(server)[-2000:]
        time.sleep(0.2)
    engine.stop()
    failed = server.wait_for_stage(SPACE, timeout=60)
    assert failed["stage"] == "BUILD_ERROR", failed
    assert failed["errorMessage"].startswith(f"the docker backend is unavailable: the Docker engine at {engine.url}")
    assert "Restart the space once it is back" in failed["errorMessage"]
    assert failed["errorMessage"].endswith("(the previous revision keeps serving)")
    began = time.monotonic()
    engine.start()
    assert answer_of(server, SPACE) == {"version": "v1"}
    commit_folder(server, SPACE, boat(tmp_path / "v3", "v3"))
    took = seconds_until_version(server, SPACE, "v3", began)
    assert server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    report(
        "dockerd restarted during a build",
        "BUILD_ERROR saying the engine does not answer; v1 served on; the next push built",
        took,
    )


def _build_log(server: PodiumServer) -> str:
    """The build log as Podium keeps it on disk while the build runs (the API's stream follows it live)."""
    path = server.data_dir / "logs" / SPACE / "build.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _running_containers(engine: PrivateEngine) -> list[str]:
    client = engine.client()
    try:
        # One call (the high-level list inspects each container, and one may go in between).
        return [c["Id"] for c in client.api.containers(filters={"label": "org.podium.managed=1"})]
    finally:
        client.close()


def test_a_replaced_container_the_engine_could_not_stop_while_away_is_stopped_once_it_is_back(server, engine, tmp_path):
    commit_folder(server, SPACE, boat(tmp_path / "v4", "v4"))
    seconds_until_version(server, SPACE, "v4", time.monotonic())
    engine.stop()  # while v3 drains: its stop finds no engine
    deadline = time.monotonic() + 30
    while "could not stop an instance (replaced by" not in server.log():
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.2)
    began = time.monotonic()
    engine.start()
    deadline = time.monotonic() + 90  # the engine's start, then the old container's stop (10 s to SIGKILL)
    while len(running := _running_containers(engine)) != 1:
        assert time.monotonic() < deadline, running
        time.sleep(0.2)
    assert running == [_container_id(server)]  # the serving one
    assert answer_of(server, SPACE) == {"version": "v4"}
    report(
        "dockerd away while a replaced container drains",
        "its stop waited for the engine; stopped once it answered, one container left",
        time.monotonic() - began,
    )
