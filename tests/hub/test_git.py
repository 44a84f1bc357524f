"""`git clone` and `git push` with the real git binary, as a Hugging Face user uses a space's repository:
anonymous clones of public spaces, private spaces invisible without a token, a push to main that
deploys, a push to a branch that does not, and pushes Podium refuses with its own words in git's output,
changing nothing.

The spaces are static (nothing to build). This module's Podium takes files up to 1 MiB, so an oversized
file is cheap to push.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from tests.hub import git_fixtures
from tests.hub.git_fixtures import Git, deployed, remote, served, static_space
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port
from tests.support.tokens import make_token

# The fixtures of these stories (tests/hub/git_fixtures.py).
git = git_fixtures.git
new_clone = git_fixtures.new_clone

MAX_FILE_SIZE = 1024 * 1024
MAX_UPLOAD_SIZE = 3 * MAX_FILE_SIZE
PUBLIC, PRIVATE, MISSING = "admin/git-public", "admin/git-private", "admin/no-such-space"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServer]:
    """This module's `podium serve`, with a small max_file_size and max_upload_size."""
    server = PodiumServer(
        tmp_path_factory.mktemp("hub") / "data",
        free_port(),
        free_port(),
        {
            "PODIUM_LIMITS__MAX_FILE_SIZE": str(MAX_FILE_SIZE),
            "PODIUM_LIMITS__MAX_UPLOAD_SIZE": str(MAX_UPLOAD_SIZE),
        },
    )
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def spaces(hub: PodiumServer, hub_api: Callable[..., HfApi]) -> dict[str, str]:
    """A public and a private static space of admin's, by id: their head sha."""
    return {
        PUBLIC: static_space(hub_api(), PUBLIC, b"<h1>first</h1>\n"),
        PRIVATE: static_space(hub_api(), PRIVATE, b"<h1>secret</h1>\n", private=True),
    }


def test_anyone_clones_a_public_space(
    hub: PodiumServer, spaces: dict[str, str], git: Git, new_clone: Callable[..., Path]
) -> None:
    for url in (remote(hub, PUBLIC), remote(hub, PUBLIC, suffix=".git")):
        clone = new_clone(url)
        assert (clone / "index.html").read_bytes() == b"<h1>first</h1>\n"
        assert "filter=lfs" in (clone / ".gitattributes").read_text()  # the Hub's default attributes
        assert git.head(clone) == spaces[PUBLIC]


def _without_names(text: str, *names: str) -> str:
    for name in names:
        text = text.replace(name, "NAME")
    return text


def test_a_private_space_is_invisible_without_a_token_that_reads_it(
    hub: PodiumServer, spaces: dict[str, str], git: Git, tmp_path: Path, new_clone: Callable[..., Path]
) -> None:
    # Anonymous: git asks for credentials (here it may not), exactly as for a space that does not exist.
    private = git("clone", remote(hub, PRIVATE), str(tmp_path / "a"), check=False)
    missing = git("clone", remote(hub, MISSING), str(tmp_path / "b"), check=False)
    assert private.returncode != 0 and "could not read Username" in private.stderr
    assert _without_names(private.stderr, PRIVATE, "/a'") == _without_names(
        missing.stderr, "admin/no-such-space", "/b'"
    )
    assert not (tmp_path / "a").exists()

    # Another user's token: "not found", again word for word what a missing space answers.
    _, bobs = make_token(hub, user="bob", name="bob's")
    private = git("clone", remote(hub, PRIVATE, bobs), str(tmp_path / "c"), check=False)
    missing = git("clone", remote(hub, MISSING, bobs), str(tmp_path / "d"), check=False)
    assert private.returncode != 0 and "Repository not found" in private.stderr
    assert _without_names(private.stderr, PRIVATE, "/c'") == _without_names(
        missing.stderr, "admin/no-such-space", "/d'"
    )

    # The owner's read-only token clones it.
    _, reader = make_token(hub, name="reader", role="read")
    clone = new_clone(remote(hub, PRIVATE, reader))
    assert (clone / "index.html").read_bytes() == b"<h1>secret</h1>\n"


def test_a_push_to_main_deploys_it(
    hub: PodiumServer, spaces: dict[str, str], git: Git, new_clone: Callable[..., Path]
) -> None:
    clone = new_clone(remote(hub, PUBLIC))
    (clone / "index.html").write_text("<h1>pushed with git</h1>\n")
    git("commit", "--quiet", "-am", "edit the page", cwd=clone)
    pushed = git("push", remote(hub, PUBLIC, hub.token), "main", cwd=clone)
    assert "main -> main" in pushed.stderr
    runtime = deployed(hub, PUBLIC, git.head(clone))
    assert runtime["stage"] == "RUNNING", runtime
    assert served(hub, PUBLIC).text == "<h1>pushed with git</h1>\n"
    assert hub.api().space_info(PUBLIC).sha == git.head(clone)


def test_a_push_to_another_branch_only_moves_that_branch(
    hub: PodiumServer, spaces: dict[str, str], git: Git, new_clone: Callable[..., Path]
) -> None:
    url = remote(hub, PUBLIC, hub.token)
    clone = new_clone(url)
    main = git.head(clone)
    (clone / "index.html").write_text("<h1>work in progress</h1>\n")
    git("commit", "--quiet", "-am", "draft", cwd=clone)
    git("push", url, "HEAD:refs/heads/draft", cwd=clone)
    assert git.remote_refs(url)["refs/heads/draft"] == git.head(clone)
    runtime = hub.wait_for_stage(PUBLIC, timeout=60)
    assert (runtime["stage"], runtime["sha"]) == ("RUNNING", main)
    assert served(hub, PUBLIC).text != "<h1>work in progress</h1>\n"


def _oversized(tool: Git, clone: Path) -> str:
    (clone / "weights.dat").write_bytes(os.urandom(MAX_FILE_SIZE + 100_000))  # not an LFS pattern
    tool("add", "weights.dat", cwd=clone)
    tool("commit", "--quiet", "-m", "a big file", cwd=clone)
    return "HEAD"


def _too_much(tool: Git, clone: Path) -> str:
    """Files each within max_file_size, together more than an upload may bring."""
    for number in range(4):
        (clone / f"part{number}.dat").write_bytes(os.urandom(MAX_FILE_SIZE - 50_000))
    tool("add", ".", cwd=clone)
    tool("commit", "--quiet", "-m", "too much at once", cwd=clone)
    return "HEAD"


def _edit(tool: Git, clone: Path) -> str:
    (clone / "index.html").write_text("<h1>should not land</h1>\n")
    tool("commit", "--quiet", "-am", "an ordinary edit", cwd=clone)
    return "HEAD"


# name: (what the push brings, whose token pushes, what git must show of Podium's refusal[, the ref it updates])
REFUSED = {
    "climbing out with ..": (
        lambda tool, clone: tool.crafted_commit(clone, ["..", "x.py"], tool.blob(clone, b"evil")),
        "admin",
        "climbs out with '..'",
    ),
    "into .git/config": (
        lambda tool, clone: tool.crafted_commit(clone, [".git", "config"], tool.blob(clone, b"[core]\n")),
        "admin",
        "inside a .git folder",
    ),
    "a symbolic link": (
        lambda tool, clone: tool.crafted_commit(clone, ["passwd"], tool.blob(clone, b"/etc/passwd"), mode="120000"),
        "admin",
        "is a symbolic link; a space holds regular files only",
    ),
    "an oversized file": (_oversized, "admin", "larger than the limit max_file_size = 1 MiB"),
    "more than an upload may bring": (_too_much, "admin", "pack exceeds maximum allowed size"),
    "deleting main": (lambda tool, clone: "", "admin", "main cannot be deleted"),
    "with a read-only token": (_edit, "reader", "is read-only, so it may not push to admin/git-public"),
    "to another owner's space": (_edit, "bob", "'bob' may not push to admin/git-public"),
    "to a ref outside branches and tags": (_edit, "admin", "a space holds branches and tags only", "refs/pr/1"),
    "to a branch the Hub API cannot name": (_edit, "admin", "is not a valid branch name", "refs/heads/café"),
}


@pytest.fixture(scope="module")
def tokens(hub: PodiumServer) -> dict[str, str]:
    return {
        "admin": hub.token,
        "reader": make_token(hub, name="read only", role="read")[1],
        "bob": make_token(hub, user="bob", name="bob's own")[1],
    }


@pytest.mark.parametrize("case", REFUSED)
def test_a_push_breaking_the_upload_rules_is_refused_in_podiums_words(
    case: str,
    hub: PodiumServer,
    spaces: dict[str, str],
    tokens: dict[str, str],
    git: Git,
    new_clone: Callable[..., Path],
) -> None:
    bring, who, words, *target = REFUSED[case]
    ref = target[0] if target else "refs/heads/main"
    admin_url = remote(hub, PUBLIC, hub.token)
    clone = new_clone(admin_url)
    commit = bring(git, clone)
    refs_before, sha_before = git.remote_refs(admin_url), hub.api().space_info(PUBLIC).sha

    pushed = git("push", remote(hub, PUBLIC, tokens[who]), f"{commit}:{ref}", cwd=clone, check=False)

    assert pushed.returncode != 0
    assert words in pushed.stderr and "remote: " in pushed.stderr, pushed.stderr
    assert git.remote_refs(admin_url) == refs_before
    assert hub.api().space_info(PUBLIC).sha == sha_before


def test_an_anonymous_push_is_asked_for_credentials(
    hub: PodiumServer, spaces: dict[str, str], git: Git, new_clone: Callable[..., Path]
) -> None:
    clone = new_clone(remote(hub, PUBLIC))
    _edit(git, clone)
    pushed = git("push", remote(hub, PUBLIC), "main", cwd=clone, check=False)
    assert pushed.returncode != 0 and "could not read Username" in pushed.stderr
