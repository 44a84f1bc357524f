"""A full disk: Podium's data folder on a small tmpfs the test mounts, filled by a ballast file while
an upload, a build and an app's logs need room, and an app filling its own /data volume.

Every write refuses clearly (507 for an upload, BUILD_ERROR saying the disk is full), the serving
revision keeps serving, nothing is corrupted (git fsck, heads = records), Podium itself keeps
answering, and once the ballast goes the same requests work again.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.platform.spaces import version_space
from tests.reliability.faults import answer_of, assert_whole, commit_folder, git, report, seconds_until_version
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port, write_space
from tests.support.volumes import unmount_under

pytestmark = pytest.mark.slow

DISK_MB = 64
DATA_MB = 16  # each space's /data volume

# A space whose app fills its /data, or shouts into its log, on request, and says how far it got.
HOG_APP = """
import http.server, json, os

def fill_data():
    written, error = 0, None
    try:
        with open("/data/fill", "wb") as out:
            while True:
                out.write(b"x" * 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
                written += 1
    except OSError as exc:
        error = exc.strerror
    os.remove("/data/fill")
    return {"written_mb": written, "error": error}

def shout():
    lines, error = 0, None
    try:
        for _ in range(40_000):
            print("shouting " + "x" * 1000, flush=True)
            lines += 1
    except OSError as exc:
        error = exc.strerror
    return {"lines": lines, "error": error}

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/fill-data"):
            report = fill_data()
        elif self.path.endswith("/shout"):
            report = shout()
        else:
            report = {"version": "hog"}
        body = json.dumps(report).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]))
http.server.ThreadingHTTPServer(address, Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mount_point = tmp_path_factory.mktemp("small-disk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "podium-test", str(mount_point)], check=True)
    yield mount_point
    unmount_under(mount_point)
    subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


@pytest.fixture(scope="module")
def server(disk: Path) -> Iterator[PodiumServer]:
    podium = PodiumServer(
        disk / "data",
        free_port(),
        free_port(),
        {"PODIUM_SPACE_DATA_GB": str(DATA_MB / 1024), "PODIUM_STOP_SPACES_ON_EXIT": "true"},
    )
    # Its log lives off the small disk: the test reads it whatever happens there.
    podium.log_path = disk.parent / "full-disk-serve.log"
    podium.start()
    yield podium
    podium.stop()  # stops the apps and unmounts their /data before the disk goes


class Ballast:
    """A file taking all but `leave` bytes of the disk, as whatever else filled it would."""

    def __init__(self, disk: Path):
        self.path = disk / "ballast"

    def fill(self, leave: int) -> None:
        self.path.unlink(missing_ok=True)
        free = os.statvfs(self.path.parent).f_bavail * os.statvfs(self.path.parent).f_frsize
        with open(self.path, "wb") as out:
            os.posix_fallocate(out.fileno(), 0, max(free - leave, 0))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def spaces(server: PodiumServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("full-disk-spaces")
    server.push("admin/steady", version_space(folder / "steady", "v1"))
    assert server.push("admin/hog", write_space(folder / "hog", "sdk: gradio", HOG_APP))["stage"] == "RUNNING"
    assert answer_of(server, "admin/steady") == {"version": "v1"}
    return {"steady": "admin/steady", "hog": "admin/hog"}


def _api_answers(server: PodiumServer) -> bool:
    return httpx.get(f"{server.url}/api/spaces", timeout=10).status_code == 200


def test_an_app_filling_its_own_data_gets_no_space_left_and_nothing_else_notices(server, spaces, disk):
    before = os.statvfs(disk).f_bavail
    got = httpx.get(f"{server.spaces_url}/apps/{spaces['hog']}/fill-data", timeout=120).json()
    assert got["error"] == "No space left on device"
    assert DATA_MB / 2 <= got["written_mb"] <= DATA_MB  # its volume's size, not the disk's
    assert answer_of(server, spaces["hog"]) == {"version": "hog"}  # the app itself carries on
    assert answer_of(server, spaces["steady"]) == {"version": "v1"}
    assert _api_answers(server)
    assert server.api().get_space_runtime(spaces["hog"]).stage == "RUNNING"
    # Its removed file gives the host disk its room back (the volume is mounted with `discard`).
    deadline = time.monotonic() + 30
    while os.statvfs(disk).f_bavail < before - 256:
        assert time.monotonic() < deadline, f"{(before - os.statvfs(disk).f_bavail) * 4} KiB still taken"
        time.sleep(0.2)
    report("an app fills its /data volume", f"ENOSPC at {got['written_mb']} MB for that app only", None)


def test_an_upload_to_a_full_disk_is_refused_with_507_and_nothing_is_half_written(server, spaces, disk, tmp_path):
    ballast = Ballast(disk)
    head = git(disk / "data" / "repos" / f"{spaces['steady']}.git", "rev-parse", "refs/heads/main").stdout
    folder = version_space(tmp_path / "big", "v1")
    (folder / "weights.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # incompressible: git stores it whole
    ballast.fill(leave=512 * 1024)
    try:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            commit_folder(server, spaces["steady"], folder)
    finally:
        ballast.remove()
    assert refused.value.response.status_code == 507
    assert "disk holding Podium's data folder is full" in refused.value.response.json()["error"]
    assert git(disk / "data" / "repos" / f"{spaces['steady']}.git", "rev-parse", "refs/heads/main").stdout == head
    assert_whole(disk / "data")
    assert answer_of(server, spaces["steady"]) == {"version": "v1"}
    began = time.monotonic()
    commit_folder(server, spaces["steady"], folder)  # the same upload, once there is room
    took = seconds_until_version(server, spaces["steady"], "v1", began)
    assert server.wait_for_stage(spaces["steady"])["stage"] == "RUNNING"
    report("upload while the disk is full", "507 naming the full disk; nothing written; works once freed", took)


def test_an_app_logging_onto_a_full_disk_does_not_take_podium_down(server, spaces, disk):
    ballast = Ballast(disk)
    ballast.fill(leave=256 * 1024)
    try:
        shouted = httpx.get(f"{server.spaces_url}/apps/{spaces['hog']}/shout", timeout=120).json()
        assert server.process is not None and server.process.poll() is None
        assert _api_answers(server)
        assert answer_of(server, spaces["steady"]) == {"version": "v1"}
        assert answer_of(server, spaces["hog"]) == {"version": "hog"}
        # Podium noticed, said so, and kept the lines in memory. Its log pump may trail the app by seconds on
        # a busy host, so the disk stays full until it has come to the lines (freed earlier, they fit).
        deadline = time.monotonic() + 120
        while "cannot be written" not in server.log():
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.5)
    finally:
        ballast.remove()
    outcome = f"the app's own prints fail ({shouted['lines']} lines, then {shouted['error']}); Podium and spaces up"
    report("an app logs onto a full disk", outcome, None)


def test_a_build_on_a_full_disk_fails_saying_so_the_old_revision_serves_and_the_next_build_works(
    server, spaces, disk, tmp_path
):
    ballast = Ballast(disk)
    folder = version_space(tmp_path / "v2", "v2")
    # Compresses to a few kilobytes in git, takes 8 MB in the build's checkout.
    (folder / "table.csv").write_text("0,0,0,0\n" * (1024 * 1024))
    ballast.fill(leave=3 * 1024 * 1024)
    try:
        commit_folder(server, spaces["steady"], folder)
        failed = server.wait_for_stage(spaces["steady"], timeout=120)
    finally:
        ballast.remove()
    assert failed["stage"] == "BUILD_ERROR", failed
    assert "disk holding Podium's data folder is full" in failed["errorMessage"]
    assert failed["errorMessage"].endswith("(the previous revision keeps serving)")
    assert answer_of(server, spaces["steady"]) == {"version": "v1"}
    assert_whole(disk / "data")
    began = time.monotonic()
    server.api().restart_space(spaces["steady"])
    took = seconds_until_version(server, spaces["steady"], "v2", began)
    assert server.wait_for_stage(spaces["steady"])["stage"] == "RUNNING"
    report("build while the disk is full", "BUILD_ERROR naming the full disk; v1 serves on; restart builds", took)
