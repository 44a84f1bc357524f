"""`git` and `git lfs` as a user runs them against Podium: the real binaries, a HOME and a global git
config of the test's own (nothing of the machine's), no terminal prompts, every command bounded in time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.support.podium_server import PodiumServer

GIT_TIMEOUT_S = 120
STATIC_README = b"---\ntitle: Pushed\nsdk: static\n---\n# Pushed\n"


@dataclass(frozen=True)
class Git:
    home: Path
    env: dict[str, str]

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            input=input if input is not None else "",
        )
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def head(self, clone: Path) -> str:
        return self("rev-parse", "HEAD", cwd=clone).stdout.strip()

    def blob(self, clone: Path, content: bytes) -> str:
        """The id of `content`, written into the clone's objects."""
        path = clone.parent / "blob"
        path.write_bytes(content)
        return self("hash-object", "-w", str(path), cwd=clone).stdout.strip()

    def crafted_commit(self, clone: Path, path: list[str], blob: str, mode: str = "100644") -> str:
        """A commit on the clone's head adding `blob` at the path whose parts are `path`, made with git's
        plumbing: git refuses to add such paths (`..`, `.git`) from a work tree."""
        entry = f"{mode} blob {blob}\t{path[-1]}\n"
        for part in reversed(path[:-1]):
            entry = f"040000 tree {self('mktree', '--missing', cwd=clone, input=entry).stdout.strip()}\t{part}\n"
        head = self("ls-tree", "HEAD", cwd=clone).stdout
        tree = self("mktree", "--missing", cwd=clone, input=head + entry).stdout.strip()
        return self("commit-tree", tree, "-p", "HEAD", "-m", "crafted", cwd=clone).stdout.strip()

    def remote_refs(self, url: str) -> dict[str, str]:
        """The refs a space's repository holds, as `git ls-remote` shows them to an admin."""
        lines = self("ls-remote", url).stdout.splitlines()
        return {ref: sha for sha, ref in (line.split("\t") for line in lines)}


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> Git:
    """git with a private HOME and global config (a committer, `main` as the first branch, git-lfs's
    filters when installed), GIT_TERMINAL_PROMPT=0 so a refused credential fails instead of asking."""
    home = tmp_path_factory.mktemp("git-home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Tester\n\temail = tester@example.invalid\n[init]\n\tdefaultBranch = main\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
    }
    tool = Git(home, env)
    if shutil.which("git-lfs"):
        tool("lfs", "install", "--skip-repo")
    return tool


def remote(server: PodiumServer, space_id: str, token: str | None = None, suffix: str = "") -> str:
    """The space's git URL, with `token` as the basic-auth password as on the Hub (any user name)."""
    credentials = f"user:{token}@" if token else ""
    return f"http://{credentials}127.0.0.1:{server.port}/spaces/{space_id}{suffix}"


def static_space(api: HfApi, space_id: str, html: bytes, private: bool = False) -> str:
    """A static space (nothing to build) serving `html`; its head sha."""
    api.create_repo(space_id, repo_type="space", space_sdk="static", private=private)
    operations = [
        CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=STATIC_README),
        CommitOperationAdd(path_in_repo="index.html", path_or_fileobj=html),
    ]
    return api.create_commit(space_id, operations, commit_message="a static page", repo_type="space").oid


def deployed(server: PodiumServer, space_id: str, sha: str, timeout: float = 60) -> dict:
    """The runtime once the space serves `sha` (or has settled elsewhere past `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        runtime = server.wait_for_stage(space_id, timeout=timeout)
        if runtime["sha"] == sha or time.monotonic() > deadline:
            return runtime
        time.sleep(0.3)


def served(server: PodiumServer, space_id: str, path: str = "") -> httpx.Response:
    """What a visitor of a public space gets at `path` of its app."""
    return httpx.get(f"{server.spaces_url}/apps/{space_id}/{path}", timeout=30, follow_redirects=True)


@pytest.fixture(scope="module")
def new_clone(git: Git, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`new_clone(url)`: a fresh clone of `url` in a folder of its own."""

    def clone(url: str, **env: str) -> Path:
        folder = tmp_path_factory.mktemp("clone") / "space"
        git("clone", "--quiet", url, str(folder), env=env)
        return folder

    return clone
