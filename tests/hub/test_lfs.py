"""Large files in Git LFS, as on the Hub: an 11 MB upload through huggingface_hub kept as an LFS pointer
and read back identical (by the client, by `git lfs`, and by the space's own build); the LFS batch API
as huggingface_hub and git-lfs call it, with an `lfsFile` commit; a `git lfs` clone and push; and what
Podium refuses: content that does not hash to its oid, and pointers to objects a space never uploaded
(which would let anyone who knows a file's sha256 read it through their own space).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.lfs import UploadInfo, lfs_upload, post_lfs_batch_info
from podium.lfs_store import LfsPointer, object_path, parse_pointer

from tests.hub import git_fixtures
from tests.hub.git_fixtures import Git, deployed, remote, served, static_space
from tests.support.podium_server import PodiumServer

# The fixtures of these stories (tests/hub/git_fixtures.py).
git = git_fixtures.git
new_clone = git_fixtures.new_clone

SPACE, OTHER = "admin/lfs", "admin/lfs-other"
LARGE = os.urandom(11_000_000)  # over the Hub's 10 MiB: LFS whatever its name
SMALL_WEIGHTS = os.urandom(300_000)  # *.bin: LFS by the Hub's default .gitattributes
needs_git_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="git-lfs is not installed")


@pytest.fixture(scope="module")
def space(hub: PodiumServer, hub_api: Callable[..., HfApi]) -> str:
    """A static space with an 11 MB file and a small *.bin, uploaded by huggingface_hub; its head sha."""
    api = hub_api()
    static_space(api, SPACE, b"<h1>large files</h1>\n")
    static_space(api, OTHER, b"<h1>another space</h1>\n")
    operations = [
        CommitOperationAdd(path_in_repo="data/large.dat", path_or_fileobj=LARGE),
        CommitOperationAdd(path_in_repo="weights.bin", path_or_fileobj=SMALL_WEIGHTS),
    ]
    return api.create_commit(SPACE, operations, commit_message="large files", repo_type="space").oid


def _pointer(content: bytes) -> LfsPointer:
    return LfsPointer(hashlib.sha256(content).hexdigest(), len(content))


def test_a_large_upload_is_kept_in_lfs_and_read_back_identical(
    hub: PodiumServer, space: str, git: Git, new_clone: Callable[..., Path], tmp_path: Path
) -> None:
    # git holds pointers, exactly as git-lfs writes them ...
    clone = new_clone(remote(hub, SPACE), GIT_LFS_SKIP_SMUDGE="1")
    assert (clone / "data" / "large.dat").read_bytes() == _pointer(LARGE).text()
    assert parse_pointer((clone / "weights.bin").read_bytes()) == _pointer(SMALL_WEIGHTS)
    # (a large file no pattern tracks gets its own line, so git-lfs clients fetch it too)
    assert "data/large.dat filter=lfs diff=lfs merge=lfs -text\n" in (clone / ".gitattributes").read_text()
    # ... the store the content, under git-lfs's layout ...
    assert object_path(hub.data_dir, _pointer(LARGE).oid).read_bytes() == LARGE
    # ... which the client downloads ...
    downloaded = hf_hub_download(SPACE, "data/large.dat", repo_type="space", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(downloaded).read_bytes() == LARGE
    # ... and the space's build sees: its checkout has the content, not the pointer.
    runtime = deployed(hub, SPACE, space)
    assert runtime["stage"] == "RUNNING", runtime
    assert served(hub, SPACE, "data/large.dat").content == LARGE
    assert served(hub, SPACE, "weights.bin").content == SMALL_WEIGHTS


def test_the_batch_api_takes_huggingface_hubs_lfs_upload_and_an_lfs_file_commit(
    hub: PodiumServer, space: str, tmp_path: Path
) -> None:
    content = os.urandom(2_000_000)
    operation = CommitOperationAdd(path_in_repo="model.safetensors", path_or_fileobj=content)
    actions, errors, transfer = post_lfs_batch_info(
        [UploadInfo.from_bytes(content)], token=hub.token, repo_type="space", repo_id=SPACE, endpoint=hub.url
    )
    assert (errors, transfer) == ([], "basic")
    assert set(actions[0]["actions"]) == {"upload", "verify"}
    lfs_upload(operation, actions[0], token=hub.token, endpoint=hub.url)  # PUT, then verify

    answer = hub.commit_lfs_file(SPACE, "model.safetensors", _pointer(content))
    assert answer.status_code == 200, answer.text
    downloaded = hf_hub_download(SPACE, "model.safetensors", repo_type="space", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(downloaded).read_bytes() == content

    # Asked again, the batch API knows the space holds it: nothing to upload.
    again, _, _ = post_lfs_batch_info(
        [UploadInfo.from_bytes(content)], token=hub.token, repo_type="space", repo_id=SPACE, endpoint=hub.url
    )
    assert "actions" not in again[0]


def test_content_that_does_not_hash_to_its_oid_is_refused(hub: PodiumServer, space: str) -> None:
    claimed, sent = os.urandom(100_000), os.urandom(100_000)
    pointer = _pointer(claimed)
    actions, _, _ = post_lfs_batch_info(
        [UploadInfo.from_bytes(claimed)], token=hub.token, repo_type="space", repo_id=SPACE, endpoint=hub.url
    )
    link = actions[0]["actions"]["upload"]["href"]
    sent_oid = hashlib.sha256(sent).hexdigest()
    elsewhere = httpx.put(link.replace(pointer.oid, sent_oid), content=sent, timeout=60)  # the link names one object
    assert elsewhere.status_code == 403 and not object_path(hub.data_dir, sent_oid).exists()
    upload = httpx.put(link, content=sent, timeout=60)
    assert upload.status_code == 400
    assert f"hashes to sha256 {sent_oid}, not to the object id {pointer.oid}" in upload.text
    assert not object_path(hub.data_dir, pointer.oid).exists()
    assert not any((hub.data_dir / "lfs" / "incoming").iterdir())  # the temporary file is gone too
    verify = httpx.post(actions[0]["actions"]["verify"]["href"], json={"oid": pointer.oid, "size": pointer.size})
    assert verify.status_code == 404

    refused = hub.commit_lfs_file(SPACE, "claimed.bin", pointer)
    assert refused.status_code == 422 and "which this space has not uploaded" in refused.json()["error"]


def test_a_space_cannot_point_to_an_object_it_never_uploaded(
    hub: PodiumServer, space: str, git: Git, new_clone: Callable[..., Path]
) -> None:
    """Knowing the sha256 of another space's file must not be enough to read it."""
    theirs = _pointer(LARGE)  # stored, but uploaded by admin/lfs, not admin/lfs-other
    commit = hub.commit_lfs_file(OTHER, "stolen.dat", theirs)
    assert commit.status_code == 422, commit.text

    batch = httpx.post(
        f"{hub.url}/spaces/{OTHER}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": theirs.oid, "size": theirs.size}]},
        headers={"Authorization": f"Bearer {hub.token}", "Accept": "application/vnd.git-lfs+json"},
    )
    assert batch.json()["objects"][0]["error"]["code"] == 404

    # A pointer pushed as a plain file (no git-lfs involved) is refused by Podium's hook.
    url = remote(hub, OTHER, hub.token)
    clone = new_clone(url, GIT_LFS_SKIP_SMUDGE="1")
    (clone / "stolen.txt").write_bytes(theirs.text())
    git("add", "stolen.txt", cwd=clone)
    git("commit", "--quiet", "-m", "a pointer to someone else's file", cwd=clone)
    pushed = git("push", url, "main", cwd=clone, check=False, env={"GIT_LFS_SKIP_PUSH": "1"})
    assert pushed.returncode != 0
    assert f"'stolen.txt' is an LFS pointer to {theirs.oid}, which this space has not uploaded" in pushed.stderr
    assert "stolen.txt" not in served(hub, OTHER, "stolen.txt").text


@needs_git_lfs
def test_git_lfs_clones_and_pushes_large_files(
    hub: PodiumServer, space: str, git: Git, new_clone: Callable[..., Path], tmp_path: Path
) -> None:
    url = remote(hub, SPACE, hub.token)
    clone = new_clone(url)
    assert (clone / "data" / "large.dat").read_bytes() == LARGE  # git-lfs fetched it through the batch API

    pushed_weights = os.urandom(3_000_000)
    (clone / "more.bin").write_bytes(pushed_weights)
    git("add", "more.bin", cwd=clone)
    git("commit", "--quiet", "-m", "more weights", cwd=clone)
    pushed = git("push", url, "main", cwd=clone)
    assert "main -> main" in pushed.stderr
    assert git("show", "HEAD:more.bin", cwd=clone, env={"GIT_LFS_SKIP_SMUDGE": "1"}).stdout.encode() == (
        _pointer(pushed_weights).text()
    )
    assert object_path(hub.data_dir, _pointer(pushed_weights).oid).read_bytes() == pushed_weights

    runtime = deployed(hub, SPACE, git.head(clone))
    assert runtime["stage"] == "RUNNING", runtime
    assert served(hub, SPACE, "more.bin").content == pushed_weights
    fresh = new_clone(remote(hub, SPACE))
    assert (fresh / "more.bin").read_bytes() == pushed_weights


def test_the_batch_api_asks_for_credentials_as_git_lfs_expects(hub: PodiumServer, space: str) -> None:
    body = {"operation": "upload", "objects": [{"oid": "0" * 64, "size": 1}]}
    anonymous = httpx.post(f"{hub.url}/spaces/{SPACE}.git/info/lfs/objects/batch", json=body)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
    basic = base64.b64encode(f"anyone:{hub.token}".encode()).decode()
    bad_oid = {"operation": "upload", "objects": [{"oid": "../../etc/passwd", "size": 1}]}
    answer = httpx.post(
        f"{hub.url}/spaces/{SPACE}.git/info/lfs/objects/batch",
        json=bad_oid,
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200 and answer.json()["objects"][0]["error"]["code"] == 422
    too_large = {"operation": "upload", "objects": [{"oid": "a" * 64, "size": 51 * 1024 * 1024}]}
    answer = httpx.post(
        f"{hub.url}/spaces/{SPACE}/info/lfs/objects/batch", json=too_large, headers={"Authorization": f"Basic {basic}"}
    )
    error = answer.json()["objects"][0]["error"]
    assert error["code"] == 413 and "PODIUM_LIMITS__MAX_FILE_SIZE" in error["message"]


def test_a_commit_to_a_branch_follows_that_branchs_gitattributes(
    hub: PodiumServer, hub_api: Callable[..., HfApi], git: Git, tmp_path: Path
) -> None:
    """`dev` sends *.dat to LFS, main does not: the same small file is a pointer on dev and inline on main."""
    api, space_id = hub_api(), "admin/lfs-branches"
    static_space(api, space_id, b"<h1>branches</h1>\n")
    api.create_branch(space_id, repo_type="space", branch="dev")
    attributes = b"*.dat filter=lfs diff=lfs merge=lfs -text\n"
    api.upload_file(
        path_or_fileobj=attributes, path_in_repo=".gitattributes", repo_id=space_id, repo_type="space", revision="dev"
    )
    content = os.urandom(1000)
    for branch in ("dev", "main"):
        api.upload_file(
            path_or_fileobj=content, path_in_repo="small.dat", repo_id=space_id, repo_type="space", revision=branch
        )
    for branch, expected in (("dev", _pointer(content).text()), ("main", content)):
        git(
            "clone",
            "--quiet",
            "--branch",
            branch,
            remote(hub, space_id),
            str(tmp_path / branch),
            env={"GIT_LFS_SKIP_SMUDGE": "1"},
        )
        assert (tmp_path / branch / "small.dat").read_bytes() == expected, branch
