"""A space's owner tries to fill Podium's disk through their app's /data, the one place it may write
that outlives it.

Each space's /data is a loop-mounted ext4 image of its own size (data_volume.py): the attacker's app
writes until it gets ENOSPC at its limit, the image takes no more than that on the host, and the app,
Podium and another space go on. The negative control, the same app on a plain data folder, writes past
the limit (up to a cap the test sets). The volume keeps the space's files across restarts, stays
mounted for the next instance while apps outlive Podium, takes in an older Podium's plain data folder,
and goes with the space. Without loop devices, `--sandbox on` is refused and `auto` warns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import httpx
import pytest
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.process.data_volume import DataVolumes, hand_over

from tests.runner.conftest import running
from tests.security.sandbox_fixtures import folders  # noqa: F401 (a fixture)
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import TEST_CACHE, free_port, stdlib_app, write_space

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting volumes needs root (CI runs as root)"),
]

LIMIT_GB = 0.05  # 51 MiB: small enough to fill in a test
LIMIT_BYTES = int(LIMIT_GB * 2**30)
CAP_MB = 120  # the filler stops here, so the negative control cannot fill the machine's disk
FILLER = f"""
import errno
written, error = 0, None
fd = os.open("/data/filler", os.O_WRONLY | os.O_CREAT, 0o600)
chunk = b"\\xff" * (1 << 20)
try:
    while written < {CAP_MB} << 20:
        written += os.write(fd, chunk)
    os.fsync(fd)
except OSError as exc:
    error = errno.errorcode[exc.errno]
os.close(fd)
REPORT["error"], REPORT["written_mb"] = error, written >> 20
REPORT["tmp_still_writable"] = os.write(os.open("/tmp/after", os.O_WRONLY | os.O_CREAT), b"ok") == 2
"""
# Lists /data, reads what an older Podium left there, and adds one file per start.
KEEPER = """
REPORT["listing"] = sorted(os.listdir("/data"))
REPORT["old"] = open("/data/old/notes.txt").read() if os.path.exists("/data/old/notes.txt") else None
open(f"/data/start-{len([n for n in os.listdir('/data') if n.startswith('start-')])}", "w").write("ok")
"""


async def _report(backend: ProcessBackend, folder: Path, space_id: str) -> dict:
    async with running(backend, folder, space_id=space_id) as space:
        async with aiohttp.ClientSession() as session, session.get(space.instance.url + "/") as response:
            assert response.status == 200
            return json.loads(await response.text())


def _on_disk(path: Path) -> int:
    return os.stat(path).st_blocks * 512


@pytest.mark.anyio
async def test_an_app_filling_its_data_gets_enospc_at_its_limit_and_nothing_else_notices(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    filler = write_space(tmp_path / "filler", "sdk: gradio", stdlib_app(FILLER))
    writer = stdlib_app('REPORT["wrote"] = open("/data/x", "w").write("ok")')
    victim = write_space(tmp_path / "victim", "sdk: gradio", writer)
    volumes = DataVolumes(folders.data)

    backend = ProcessBackend(folders, sandbox="on", data_size_gb=LIMIT_GB)
    report = await _report(backend, filler, "mallory/filler")
    assert report["error"] == "ENOSPC" and report["written_mb"] <= LIMIT_BYTES >> 20, report
    assert report["tmp_still_writable"] is True  # the app itself runs on
    # The host holds no more than the limit for it, and another space writes as before.
    assert _on_disk(volumes.image("mallory--filler")) <= LIMIT_BYTES
    other = ProcessBackend(folders, sandbox="on", data_size_gb=LIMIT_GB)
    assert await _report(other, victim, "alice/victim") == {"wrote": 2}


@pytest.mark.anyio
async def test_without_the_volume_the_same_app_writes_past_the_limit(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    """The negative control: /data a plain folder on Podium's disk, as before."""
    filler = write_space(tmp_path / "filler", "sdk: gradio", stdlib_app(FILLER))
    backend = ProcessBackend(folders, sandbox="on", data_size_gb=LIMIT_GB)
    backend.data_volumes = None
    report = await _report(backend, filler, "mallory/unbounded")
    assert report["error"] is None and report["written_mb"] == CAP_MB
    assert _on_disk(folders.data / "mallory--unbounded" / "filler") >= CAP_MB << 20
    (folders.data / "mallory--unbounded" / "filler").unlink()


@pytest.mark.anyio
async def test_data_moves_in_from_an_older_folder_survives_restarts_and_goes_with_the_space(
    folders: ProcessFolders,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    space_id, name = "alice/keeper", "alice--keeper"
    folder = folders.data / name
    # What an older Podium left: a plain folder, the app's files its alone, owned by the uid that release gave
    # the space (from one range for all owners' spaces; now each owner has a block of its own).
    (folder / "old").mkdir(parents=True)
    (folder / "old" / "notes.txt").write_text("from before")
    (folder / "old" / "notes.txt").chmod(0o600)
    older_release_uid = 200_000 + int(hashlib.sha256(space_id.encode()).hexdigest()[:8], 16) % 50_000
    for path in (folder, folder / "old", folder / "old" / "notes.txt"):
        os.chown(path, older_release_uid, older_release_uid)
    space = write_space(tmp_path / "keeper", "sdk: gradio", stdlib_app(KEEPER))
    volumes = DataVolumes(folders.data)

    # Apps outliving Podium: the volume stays mounted when it exits, for the next instance.
    first = await _report(
        ProcessBackend(folders, sandbox="on", outlive_caller=True, data_size_gb=LIMIT_GB), space, space_id
    )
    assert first == {"listing": ["old"], "old": "from before"}  # no lost+found
    assert os.path.ismount(folder)
    second = await _report(ProcessBackend(folders, sandbox="on", data_size_gb=LIMIT_GB), space, space_id)
    assert second == {"listing": ["old", "start-0"], "old": "from before"}
    # Apps ending with Podium: unmounted at its exit; the files are in the image, not on the host.
    assert not os.path.ismount(folder) and list(folder.iterdir()) == []
    third = await _report(ProcessBackend(folders, sandbox="on", data_size_gb=LIMIT_GB), space, space_id)
    assert third == {"listing": ["old", "start-0", "start-1"], "old": "from before"}
    await ProcessBackend(folders, sandbox="on").delete_data(space_id)
    assert not folder.exists() and not volumes.image(name).exists() and not os.path.ismount(folder)


def test_a_bigger_flavor_grows_the_volume_and_a_smaller_one_never_shrinks_it(tmp_path: Path) -> None:
    volumes, lines = DataVolumes(tmp_path / "data"), []
    folder = volumes.mount("alice--growing", 64 << 20, lines.append)
    (folder / "kept").write_text("ok")
    before = os.statvfs(folder).f_blocks
    try:
        # In use, ext4 grows where the kernel lets Podium (CAP_SYS_RESOURCE), else at the next mount.
        volumes.mount("alice--growing", 128 << 20, lines.append)
        if lines == ["alice--growing: its /data grew to 128 MB"]:
            assert os.statvfs(folder).f_blocks > 1.8 * before
        else:
            assert "stays at 64 MB until it is next mounted" in lines[0] and os.statvfs(folder).f_blocks == before
            volumes.unmount("alice--growing")
            volumes.mount("alice--growing", 128 << 20, lines.append)
            assert lines[1:] == ["alice--growing: its /data grew to 128 MB"]
        grown = os.statvfs(folder).f_blocks
        assert grown > 1.8 * before and (folder / "kept").read_text() == "ok"
        volumes.mount("alice--growing", 32 << 20, lines.append)
        volumes.unmount("alice--growing")
        volumes.mount("alice--growing", 32 << 20, lines.append)
        assert os.statvfs(folder).f_blocks == grown and "grew" in lines[-1]  # nothing said since
    finally:
        volumes.remove("alice--growing")


def test_a_deleted_spaces_data_goes_with_it_and_a_new_space_of_that_name_starts_empty(
    podium: PodiumServer, tmp_path: Path
) -> None:
    space_id = "admin/data-gone"
    folder = podium.data_dir / "space-data" / "admin--data-gone"
    app = stdlib_app('REPORT["found"] = sorted(os.listdir("/data")); open("/data/diary", "w").write("private")')
    space = write_space(tmp_path / "space", "sdk: gradio", app)
    assert podium.push(space_id, space)["stage"] == "RUNNING", podium.log()
    assert httpx.get(f"{podium.spaces_url}/apps/{space_id}/", timeout=30).json() == {"found": []}
    assert os.path.ismount(folder) and (folder / "diary").read_text() == "private"
    podium.api().delete_repo(space_id, repo_type="space")
    assert not os.path.ismount(folder) and not folder.exists()
    assert not DataVolumes(folder.parent).image("admin--data-gone").exists()
    # Someone creates a space of the same name: it finds nothing of the deleted one's.
    assert podium.push(space_id, space)["stage"] == "RUNNING", podium.log()
    assert httpx.get(f"{podium.spaces_url}/apps/{space_id}/", timeout=30).json() == {"found": []}
    podium.api().delete_repo(space_id, repo_type="space")


PODIUM = Path(sys.executable).with_name("podium")


def _podium_run_without_loop_devices(folder: Path, port: int, sandbox: str) -> subprocess.Popen[str]:
    """`podium run` in a mount namespace where /dev/loop-control is /dev/null: no loop devices."""
    hide = 'mount --bind /dev/null /dev/loop-control && exec "$@"'
    command = [str(PODIUM), "run", str(folder), "--home", str(TEST_CACHE), "--port", str(port), "--sandbox", sandbox]
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "hide", *command],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.timeout(180)
def test_without_loop_devices_sandbox_on_is_refused_and_auto_says_data_is_unbounded(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space", "sdk: gradio", stdlib_app())
    refused = _podium_run_without_loop_devices(space, free_port(), "on")
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode != 0 and "no loop devices" in output, output
    auto = _podium_run_without_loop_devices(space, free_port(), "auto")
    try:
        lines = []
        assert auto.stdout is not None
        while (line := auto.stdout.readline()) and "is running at" not in line:
            lines.append(line)
        assert "is running at" in line, "".join(lines)
    finally:
        auto.terminate()
        auto.communicate(timeout=30)
    assert "/data has no size limit, so one app can fill Podium's disk (no loop devices" in "".join(lines)


def test_handing_data_over_changes_only_the_old_uids_files_and_follows_no_link(tmp_path: Path) -> None:
    """What a space's /data holds is handed to its new uid; a link its app planted to someone else's file, or
    to a folder outside, is changed itself (if at all), never what it points at."""
    old_uid, new_uid, other_uid = 201_000, 300_001, 201_001
    folder, outside = tmp_path / "data", tmp_path / "victim"
    (folder / "nested").mkdir(parents=True)
    outside.mkdir()
    (folder / "nested" / "mine.txt").write_text("mine")
    (outside / "theirs.txt").write_text("theirs")
    (folder / "link-to-file").symlink_to(outside / "theirs.txt")
    (folder / "link-to-folder").symlink_to(outside)
    for path in (folder, folder / "nested", folder / "nested" / "mine.txt"):
        os.chown(path, old_uid, old_uid)
    for path in (outside, outside / "theirs.txt"):
        os.chown(path, other_uid, other_uid)
    for link in (folder / "link-to-file", folder / "link-to-folder"):
        os.lchown(link, old_uid, old_uid)

    hand_over(folder, range(200_000, 250_000), new_uid)

    for path in (folder, folder / "nested", folder / "nested" / "mine.txt"):
        assert path.stat().st_uid == new_uid, path
    for link in (folder / "link-to-file", folder / "link-to-folder"):
        assert link.lstat().st_uid == new_uid
    assert outside.stat().st_uid == other_uid and (outside / "theirs.txt").stat().st_uid == other_uid


# The app of the space whose /data is handed over, still running: it swaps each of its folders for a link to
# another space's /data and back, as fast as it can, for a bounded time.
_SWAPPER = """
import os, sys, time
folder, victim, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
names = sorted(os.listdir(folder))
deadline, swaps = time.monotonic() + seconds, 0
while time.monotonic() < deadline and swaps < 200_000:
    for name in names:
        path, aside = os.path.join(folder, name), os.path.join(folder, "." + name)
        os.rename(path, aside)
        os.symlink(victim, path)
        os.unlink(path)
        os.rename(aside, path)
        swaps += 1
print(swaps)
"""


def test_a_running_app_swapping_its_folders_for_links_while_its_data_is_handed_over_reaches_nothing_outside(
    tmp_path: Path,
) -> None:
    """The walk goes by folder descriptors and changes entries themselves, never what they lead to
    (os.fwalk compares each folder it opens with the one it listed): another space's /data under an older
    uid, one the walk would hand over too if it followed a link, keeps its owner."""
    old_uid, victim_uid, new_uid = 201_000, 201_002, 300_001
    folder, victim = tmp_path / "data", tmp_path / "other-space-data"
    victim.mkdir()
    (victim / "theirs.txt").write_text("theirs")
    os.chown(victim, victim_uid, victim_uid)
    os.chown(victim / "theirs.txt", victim_uid, victim_uid)
    for index in range(50):
        sub = folder / f"d{index}"
        sub.mkdir(parents=True)
        (sub / "mine.txt").write_text("mine")
    swapper = subprocess.Popen(
        [sys.executable, "-c", _SWAPPER, str(folder), str(victim), "4"], stdout=subprocess.PIPE, text=True
    )
    rounds = 0
    try:
        while swapper.poll() is None and rounds < 2_000:
            for path in (folder, *folder.iterdir()):  # as the older release left it: all the old uid's
                with contextlib.suppress(FileNotFoundError):
                    os.lchown(path, old_uid, old_uid)
            hand_over(folder, range(200_000, 250_000), new_uid)
            rounds += 1
    finally:
        swaps = int(swapper.communicate(timeout=30)[0])
    assert swaps > 100 and rounds > 5, (swaps, rounds)  # the race was run, many times over
    assert victim.stat().st_uid == victim_uid and (victim / "theirs.txt").stat().st_uid == victim_uid
