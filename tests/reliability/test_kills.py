"""`kill -9` of a real `podium serve` in the middle of each kind of write, then a start on the same data.

Each window is hit exactly: a slow upload body killed half sent, a build held by a requirement whose
setup.py sleeps, and, for windows of microseconds, a named pause point (podium.pause_points) where
Podium blocks until the test kills it. After every start: each acknowledged commit is there, nothing
half-written is visible, every repository passes `git fsck --full`, the database's heads are the
branches', and the space serves again by itself; a client whose write was cut short got an error.

The tests run in order on one space (`admin/kills`), each one's revision following the last's.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub.errors import RepositoryNotFoundError

from tests.platform.spaces import version_space
from tests.reliability.faults import (
    Killable,
    answer_of,
    assert_whole,
    commit_folder,
    git,
    recorded_spaces,
    report,
    running_instances,
    seconds_until_version,
)
from tests.support.process_spaces import write_space

pytestmark = pytest.mark.slow

SPACE = "admin/kills"


@pytest.fixture(scope="module")
def killable(start_podium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killable]:
    pause_file = tmp_path_factory.mktemp("pause-points") / "armed"
    pause_file.write_text("")
    server = start_podium(
        env={
            "PODIUM_PAUSE_FILE": str(pause_file),
            # Apps outlive Podium, as in production, so a start re-adopts them.
            "PODIUM_STOP_SPACES_ON_EXIT": "false",
            "PODIUM_DRAIN_S": "0.5",
            "PODIUM_WATCH_INTERVAL_S": "0.2",
        }
    )
    folder = tmp_path_factory.mktemp("kills")
    server.push(SPACE, version_space(folder / "v1", "v1"))
    harness = Killable(server, start_podium, pause_file)
    yield harness
    # The apps outlive a Podium that stops, and this one may be held at a pause point: kill it, and stop
    # the next one with its apps.
    if harness.server.process is not None:
        harness.kill()
    harness.server = start_podium(like=harness.server, env={"PODIUM_STOP_SPACES_ON_EXIT": "true"})
    harness.server.stop()


def _head(killable: Killable) -> str:
    return git(killable.server.data_dir / "repos" / f"{SPACE}.git", "rev-parse", "refs/heads/main").stdout.strip()


def _upload(killable: Killable, folder: Path):
    server = killable.server
    return lambda: commit_folder(server, SPACE, folder).json()["commitOid"]


def test_a_kill_while_an_upload_streams_in_loses_that_upload_only(killable: Killable):
    before = _head(killable)
    sent = []

    def slow_body() -> Iterator[bytes]:
        yield (
            b'--B\r\nContent-Disposition: form-data; name="files"; filename="app.py"\r\n'
            b"Content-Type: text/plain\r\n\r\n"
        )
        for _ in range(600):
            sent.append(1)
            yield b"# half an upload\n" * 4096
            time.sleep(0.05)

    server = killable.server
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "multipart/form-data; boundary=B"}
    upload = killable.in_background(
        lambda: httpx.post(f"{server.url}/api/spaces/{SPACE}/upload", content=slow_body(), headers=headers, timeout=60)
    )
    while len(sent) < 10:
        time.sleep(0.05)
    killable.kill()
    with pytest.raises(httpx.HTTPError):  # the client is told: its connection broke, no answer came
        upload.result(timeout=60)
    began = killable.restart()
    took = seconds_until_version(killable.server, SPACE, "v1", began)
    assert _head(killable) == before
    assert_whole(killable.server.data_dir)
    report("kill -9 while an upload streams in", "upload lost, client got an error; v1 re-adopted", took)


def test_a_kill_after_a_commits_objects_but_before_its_branch_moves_leaves_no_trace(killable: Killable, tmp_path):
    before = _head(killable)
    since = killable.arm("commit.objects-written")
    commit = killable.in_background(_upload(killable, version_space(tmp_path / "v2", "v2")))
    killable.wait_until_paused("commit.objects-written", since)
    killable.kill()
    with pytest.raises(httpx.HTTPError):
        commit.result(timeout=60)
    began = killable.restart()
    took = seconds_until_version(killable.server, SPACE, "v1", began)
    assert _head(killable) == before  # the objects are there but nothing names them
    assert_whole(killable.server.data_dir)
    report("kill -9 while a commit is written", "commit not visible, client got an error; v1 serves", took)


def test_a_kill_inside_the_transaction_recording_a_commit_keeps_the_commit_and_deploys_it(killable: Killable, tmp_path):
    before = _head(killable)
    since = killable.arm("commit.recording")
    commit = killable.in_background(_upload(killable, version_space(tmp_path / "v3", "v3")))
    killable.wait_until_paused("commit.recording", since)
    assert recorded_spaces(killable.server.data_dir)[SPACE][0] == before  # the transaction is open
    killable.kill()
    with pytest.raises(httpx.HTTPError):
        commit.result(timeout=60)
    began = killable.restart()
    # The branch had moved: that is a commit's point of no return, so the record follows it, and the
    # space deploys it by itself as it would have right after the commit.
    after = _head(killable)
    assert after != before
    assert "v3" in git(killable.server.data_dir / "repos" / f"{SPACE}.git", "show", f"{after}:app.py").stdout
    assert_whole(killable.server.data_dir)
    took = seconds_until_version(killable.server, SPACE, "v3", began)
    assert killable.server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    report(
        "kill -9 inside the database transaction recording a commit",
        "commit kept (its branch had moved), recorded and deployed at start",
        took,
    )


def test_a_kill_between_a_new_instance_answering_and_the_switch_ends_with_only_the_new_one(
    killable: Killable, tmp_path
):
    since = killable.arm("deploy.switch")
    sha = killable.in_background(_upload(killable, version_space(tmp_path / "v4", "v4"))).result(timeout=60)
    killable.wait_until_paused("deploy.switch", since)
    assert len(running_instances(SPACE)) >= 2  # v3 serving, v4 ready to take over
    killable.kill()
    began = killable.restart()
    took = seconds_until_version(killable.server, SPACE, "v4", began)
    assert _head(killable) == sha  # acknowledged, so there
    assert_whole(killable.server.data_dir)
    deadline = time.monotonic() + 30  # v3 drains, the v4 no one owned was stopped at start
    while len(running_instances(SPACE)) != 1:
        assert time.monotonic() < deadline, running_instances(SPACE)
        time.sleep(0.2)
    assert killable.server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    report("kill -9 during the switch between revisions", "acknowledged v4 deployed at start, one instance left", took)


SLOW_SETUP = """
    import subprocess, sys
    # Held for a while in the build, where the test finds this process by its argument and kills Podium.
    subprocess.run(["sleep", "{marker}"])
    sys.exit("slowpkg never builds")
"""


def _sleepers(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().split(b"\0")[:2] == [b"sleep", marker.encode()]:
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def test_a_kill_during_a_build_stops_the_build_and_the_serving_revision_serves_on(killable: Killable, tmp_path):
    serving = answer_of(killable.server, SPACE)["version"]
    marker = f"{40 + int.from_bytes(os.urandom(2)) / 100000:.5f}"  # seconds, unique to this run
    slow = write_space(
        tmp_path / "v5",
        "sdk: gradio",
        "print('never started')\n",
        requirements="./slowpkg\n",
        files={"slowpkg/setup.py": textwrap.dedent(SLOW_SETUP).format(marker=marker)},
    )
    killable.in_background(_upload(killable, slow)).result(timeout=60)
    deadline = time.monotonic() + 180
    while not _sleepers(marker):
        assert time.monotonic() < deadline, killable.server.log()[-3000:]
        time.sleep(0.1)
    killable.kill()
    deadline = time.monotonic() + 30
    while _sleepers(marker):  # the build's sandbox dies with the Podium that started it
        assert time.monotonic() < deadline, "the killed Podium's build went on"
        time.sleep(0.1)
    began = killable.restart()
    took = seconds_until_version(killable.server, SPACE, serving, began)
    # The serving revision serves on while the revision that was building builds again.
    assert killable.server.api().get_space_runtime(SPACE).stage in ("RUNNING_BUILDING", "BUILD_ERROR")
    assert_whole(killable.server.data_dir)
    commit_folder(killable.server, SPACE, version_space(tmp_path / "v6", "v6"), ("requirements.txt", "slowpkg/"))
    seconds_until_version(killable.server, SPACE, "v6", began)
    assert killable.server.wait_for_stage(SPACE)["stage"] == "RUNNING"
    assert not _sleepers(marker)  # the rebuild was cancelled by the newer push, its sandbox gone
    report(
        "kill -9 during a build",
        "build sandbox died with Podium; serving revision re-adopted, the build ran again at start",
        took,
    )


def test_a_kill_while_a_space_is_created_leaves_no_half_made_space(killable: Killable):
    since = killable.arm("create.recorded")
    body = {"type": "space", "name": "halfmade", "organization": "admin", "sdk": "gradio"}
    http = killable.server.http()
    create = killable.in_background(lambda: http.post("/api/repos/create", json=body).raise_for_status())
    killable.wait_until_paused("create.recorded", since)
    assert "admin/halfmade" in recorded_spaces(killable.server.data_dir)  # the record, with no repository
    killable.kill()
    with pytest.raises(httpx.HTTPError):
        create.result(timeout=60)
    began = killable.restart()
    took = time.monotonic() - began
    with pytest.raises(RepositoryNotFoundError):
        killable.server.api().space_info("admin/halfmade")
    assert_whole(killable.server.data_dir)
    killable.server.api().create_repo("admin/halfmade", repo_type="space", space_sdk="gradio")
    assert_whole(killable.server.data_dir)
    report("kill -9 while a space is created", "half-made space removed at start; the name is free again", took)


def test_an_instance_state_cut_short_by_a_kill_does_not_stop_the_next_start(killable: Killable):
    """Podium saves each instance's state beside its app (for adoption); a release that wrote it in place
    could be killed halfway, and the next start read half a JSON document and died."""
    serving = answer_of(killable.server, SPACE)["version"]
    killable.kill()
    torn = killable.server.data_dir / "process" / "runs" / "admin--kills-1-1"
    torn.mkdir(parents=True)
    (torn / "state.json").write_text('{"instance_id": "admin--kills-1-1", "details": {"pid": 12')
    began = killable.restart()
    took = seconds_until_version(killable.server, SPACE, serving, began)
    assert f"{torn}: its saved state cannot be read" in killable.server.log()
    assert_whole(killable.server.data_dir)
    report("kill -9 while an instance's state is saved", "Podium starts and says which state it could not read", took)
