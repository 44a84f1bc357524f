"""What the fault tests share: a `podium serve` they may kill and start again on the same data folder,
and the checks that what it left on disk is whole.

Each test prints one `RELIABILITY` line per fault (the figures of the README's Reliability table):
the fault, what happened, and the seconds until the space answered again.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.podium_server import PodiumServer

PAUSED = "paused at"  # what podium.pause_points logs where it holds Podium for a kill


def report(fault: str, outcome: str, seconds: float | None) -> None:
    took = "-" if seconds is None else f"{seconds:.1f} s"
    print(f"\nRELIABILITY | {fault} | {outcome} | {took}")


@dataclass
class Killable:
    """The module's Podium: `arm` a pause point, `kill` it there, `restart` it on the same data."""

    server: PodiumServer
    start_podium: Callable[..., PodiumServer]
    pause_file: Path

    def arm(self, point: str) -> int:
        """Hold Podium at `point` next time it gets there; returns where its log ends now."""
        self.pause_file.write_text(point + "\n")
        return len(self.server.log())

    def wait_until_paused(self, point: str, since: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while f"{PAUSED} {point}" not in self.server.log()[since:]:
            assert time.monotonic() < deadline, f"Podium never reached {point}:\n{self.server.log()[since:]}"
            time.sleep(0.05)

    def kill(self) -> None:
        """`kill -9`, as a power cut or the OOM killer would."""
        assert self.server.process is not None
        self.server.process.kill()
        self.server.process.wait()
        self.server.process = None

    def restart(self) -> float:
        """Start Podium again on its data folder and ports; returns the moment it began."""
        self.pause_file.write_text("")
        began = time.monotonic()
        self.server = self.start_podium(like=self.server)
        return began

    def in_background(self, call: Callable[[], object]) -> Future:
        return ThreadPoolExecutor(max_workers=1).submit(call)


def commit_folder(server: PodiumServer, space_id: str, folder: Path, deleted: tuple[str, ...] = ()) -> httpx.Response:
    """Commit every file of `folder` to the space in Hugging Face's NDJSON form (what `upload_folder`
    sends), once: huggingface_hub would retry a broken commit for half a minute. `deleted` names files,
    and folders (ending in '/'), the commit removes."""
    lines = [{"key": "header", "value": {"summary": f"Upload {folder.name}"}}]
    for path in deleted:
        lines.append({"key": "deletedFolder" if path.endswith("/") else "deletedFile", "value": {"path": path}})
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = base64.b64encode(path.read_bytes()).decode()
        lines.append({"key": "file", "value": {"path": str(path.relative_to(folder)), "content": content}})
    response = server.http().post(
        f"/api/spaces/{space_id}/commit/main",
        content="\n".join(map(json.dumps, lines)).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    response.raise_for_status()
    return response


def answer_of(server: PodiumServer, space_id: str) -> dict | None:
    """What the space's stdlib app answers through the proxy, or None while it does not."""
    try:
        response = httpx.get(f"{server.spaces_url}/apps/{space_id}/", timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def seconds_until_version(
    server: PodiumServer, space_id: str, version: str, since: float, timeout: float = 180
) -> float:
    """Seconds from `since` until the space answers as `version` (failing the test past `timeout`)."""
    deadline = since + timeout
    while (answer := answer_of(server, space_id)) is None or answer.get("version") != version:
        assert time.monotonic() < deadline, f"{space_id} never answered as {version} (last: {answer})"
        time.sleep(0.1)
    return time.monotonic() - since


def recorded_spaces(data_dir: Path) -> dict[str, tuple[str | None, str]]:
    """Each space's recorded head and stage, read from Podium's SQLite database."""
    with sqlite3.connect(f"file:{data_dir / 'podium.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT owner, name, sha, stage FROM spaces").fetchall()
    return {f"{owner}/{name}": (sha, stage) for owner, name, sha, stage in rows}


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True, timeout=60)


def assert_whole(data_dir: Path) -> None:
    """Every repository passes `git fsck --full`, every space has one and every one a space, and each
    space's recorded head is its branch's."""
    spaces = recorded_spaces(data_dir)
    repos = {
        str(path.relative_to(data_dir / "repos"))[: -len(".git")]: path for path in (data_dir / "repos").glob("*/*.git")
    }
    assert set(repos) == set(spaces), f"repositories {sorted(repos)} but spaces {sorted(spaces)}"
    for space_id, repo in repos.items():
        fsck = git(repo, "fsck", "--full", "--strict", "--no-progress")
        assert fsck.returncode == 0 and "error" not in fsck.stderr.lower(), f"{space_id}: {fsck.stderr}"
        head = git(repo, "rev-parse", "--verify", "refs/heads/main").stdout.strip()
        assert spaces[space_id][0] == head, f"{space_id}: recorded {spaces[space_id][0]}, branch at {head}"


def running_instances(space_id: str) -> set[str]:
    """The space's app instances that have a process on this machine (process backend), by their ids: from
    the cgroups named after them, or the run folder on a command line (a warm start's has neither path
    nor folder of its own: the starter forked it, and its bwrap binds staged paths)."""
    slug = re.escape(space_id.replace("/", "--"))
    pattern = re.compile(rf"/runs/({slug}-\d+-\d+)/|/podium/({slug}-\d+-\d+)$", re.MULTILINE)
    found = set()
    for process in Path("/proc").glob("[0-9]*"):
        try:
            text = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            text += "\n" + (process / "cgroup").read_text()
        except OSError:
            continue
        found.update(run or group for run, group in pattern.findall(text))
    return found
