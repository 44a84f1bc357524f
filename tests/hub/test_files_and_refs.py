"""Reading a space's files and refs with the real huggingface_hub client, as a Hugging Face user reads a
space on the Hub: `file_exists`, `hf_hub_download`, `snapshot_download` and `HfFileSystem` at a branch,
a tag or a sha, `list_repo_tree`, `get_paths_info`, `list_repo_commits`, branches and tags, a commit
to a branch that does not deploy, and what a stranger and a bad ref name get.

Every space here is a static one (no environment to build), made by commits through the client.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    HfFileSystem,
    RepoFile,
    RepoFolder,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils.sha import git_hash

from tests.support.podium_server import PodiumServer
from tests.support.tokens import make_token

SPACE = "admin/files"
README = b"---\ntitle: Files\nsdk: static\n---\n# Files\n"
INDEX_V1 = b"<h1>version one</h1>\n"
INDEX_V2 = b"<h1>version two</h1>\n"
BIG = os.urandom(200_000)  # more than one read, more than one range; kept in git
WEIGHTS = os.urandom(300_000)  # `*.bin`: the Hub's .gitattributes keep it in LFS
WEIGHTS_OID = hashlib.sha256(WEIGHTS).hexdigest()
FIRST_FILES = {
    "README.md": README,
    "index.html": INDEX_V1,
    "data/top.txt": b"top v1\n",
    "data/nested/deep.txt": b"deep\n",
    "data/nested/deeper/leaf.txt": b"leaf\n",
    "big.dat": BIG,
    "weights.bin": WEIGHTS,
    "odd names/é #1 %41 +&?.txt": b"odd\n",  # each character the client must quote, read back as named
}


def _commit(api: HfApi, space_id: str, files: dict[str, bytes], message: str, revision: str | None = None) -> str:
    operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=content) for path, content in files.items()]
    return api.create_commit(space_id, operations, commit_message=message, repo_type="space", revision=revision).oid


@pytest.fixture(scope="module")
def space(hub: PodiumServer, hub_api: Callable[..., HfApi]) -> dict[str, str]:
    """A static space with nested folders, two commits on main and a tag `v1` on the first."""
    api = hub_api()
    api.create_repo(SPACE, repo_type="space", space_sdk="static")
    first = _commit(api, SPACE, FIRST_FILES, "First version")
    api.create_tag(SPACE, tag="v1", revision=first, repo_type="space")
    second = _commit(api, SPACE, {"index.html": INDEX_V2, "data/top.txt": b"top v2\n"}, "Second version")
    return {"first": first, "second": second}


def _download(hub: PodiumServer, tmp_path: Path, path: str, **kwargs: object) -> bytes:
    kwargs.setdefault("token", hub.token)
    local = hf_hub_download(SPACE, path, repo_type="space", endpoint=hub.url, cache_dir=tmp_path, **kwargs)
    return Path(local).read_bytes()


def test_files_download_at_a_branch_a_tag_and_a_sha(hub: PodiumServer, space: dict[str, str], tmp_path: Path) -> None:
    assert _download(hub, tmp_path, "index.html") == INDEX_V2
    assert _download(hub, tmp_path, "data/nested/deeper/leaf.txt") == b"leaf\n"
    assert _download(hub, tmp_path, "big.dat") == BIG
    assert _download(hub, tmp_path, "weights.bin") == WEIGHTS
    assert _download(hub, tmp_path, "odd names/é #1 %41 +&?.txt") == b"odd\n"
    assert _download(hub, tmp_path, "index.html", revision="v1") == INDEX_V1
    assert _download(hub, tmp_path, "data/top.txt", revision=space["first"]) == b"top v1\n"
    assert _download(hub, tmp_path, "data/top.txt", revision=space["first"][:7]) == b"top v1\n"
    assert _download(hub, tmp_path, "data/top.txt", revision="main") == b"top v2\n"

    api = HfApi(endpoint=hub.url, token=hub.token)
    assert api.file_exists(SPACE, "data/nested/deep.txt", repo_type="space")
    assert not api.file_exists(SPACE, "data/nested", repo_type="space")  # a folder is no file
    assert not api.file_exists(SPACE, "missing.txt", repo_type="space")
    assert not api.file_exists(SPACE, "index.html", revision="no-such-branch", repo_type="space")
    with pytest.raises(EntryNotFoundError):
        _download(hub, tmp_path, "missing.txt")
    with pytest.raises(RevisionNotFoundError):
        _download(hub, tmp_path, "index.html", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("admin/no-such-space", "index.html", repo_type="space", endpoint=hub.url, cache_dir=tmp_path)


def test_snapshot_download_takes_a_whole_revision(hub: PodiumServer, space: dict[str, str], tmp_path: Path) -> None:
    kwargs = {"repo_type": "space", "endpoint": hub.url, "token": hub.token, "cache_dir": tmp_path}
    at_tag = Path(snapshot_download(SPACE, revision="v1", **kwargs))
    assert at_tag.name == space["first"]
    assert {str(p.relative_to(at_tag)) for p in at_tag.rglob("*") if p.is_file()} >= set(FIRST_FILES)
    assert (at_tag / "index.html").read_bytes() == INDEX_V1
    assert (at_tag / "big.dat").read_bytes() == BIG
    assert (at_tag / "weights.bin").read_bytes() == WEIGHTS
    latest = Path(snapshot_download(SPACE, allow_patterns=["data/*"], **kwargs))
    assert latest.name == space["second"]
    assert (latest / "data/top.txt").read_bytes() == b"top v2\n"
    assert not (latest / "index.html").exists()


def test_resolve_answers_the_headers_and_ranges_the_client_reads(hub: PodiumServer, space: dict[str, str]) -> None:
    url = f"{hub.url}/spaces/{SPACE}/resolve/main/big.dat"
    with hub.http() as http:
        head = http.head(url)
        assert head.status_code == 200
        assert head.headers["etag"] == f'"{git_hash(BIG)}"'
        assert head.headers["x-repo-commit"] == space["second"]
        assert head.headers["content-length"] == str(len(BIG))
        assert head.headers["accept-ranges"] == "bytes"
        assert head.headers["content-type"] == "application/octet-stream"  # a stranger's file is never rendered
        assert head.content == b""
        assert "x-linked-etag" not in head.headers  # kept in git, not in LFS

        middle = http.get(url, headers={"Range": "bytes=1000-1999"})
        assert middle.status_code == 206
        assert middle.content == BIG[1000:2000]
        assert middle.headers["content-range"] == f"bytes 1000-1999/{len(BIG)}"
        tail = http.get(url, headers={"Range": "bytes=-10"})
        assert (tail.status_code, tail.content) == (206, BIG[-10:])
        assert http.get(url, headers={"Range": f"bytes={len(BIG)}-"}).status_code == 416
        backwards = http.get(url, headers={"Range": "bytes=20-10"})  # no range at all: the whole file
        assert (backwards.status_code, backwards.content) == (200, BIG)

        missing = http.head(f"{hub.url}/spaces/{SPACE}/resolve/main/missing.txt")
        assert (missing.status_code, missing.headers["x-error-code"]) == (404, "EntryNotFound")
        assert missing.headers["x-repo-commit"] == space["second"]
        unknown = http.head(f"{hub.url}/spaces/{SPACE}/resolve/nope/index.html")
        assert (unknown.status_code, unknown.headers["x-error-code"]) == (404, "RevisionNotFound")
        for hostile in ("HEAD~1", "main@{1}", "-h", ":/First", "main^"):  # revision syntax is no revision
            answer = http.head(f"{hub.url}/spaces/{SPACE}/resolve/{hostile}/index.html")
            assert answer.headers.get("x-error-code") == "RevisionNotFound", hostile

    fs = HfFileSystem(endpoint=hub.url, token=hub.token)
    with fs.open(f"spaces/{SPACE}/big.dat", "rb", block_size=4096) as remote:  # read through range requests
        remote.seek(150_000)
        assert remote.read(5000) == BIG[150_000:155_000]


def test_an_lfs_file_reads_as_on_the_hub(
    hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str]
) -> None:
    """git holds a pointer, the content comes from the LFS store: the headers, listings and sizes say
    what the Hub says of an LFS file (its sha256 and real size), the bytes are the content."""
    with hub.http() as http:
        head = http.head(f"/spaces/{SPACE}/resolve/v1/weights.bin")
        assert head.status_code == 200
        assert head.headers["x-linked-etag"] == head.headers["etag"] == f'"{WEIGHTS_OID}"'
        assert head.headers["x-linked-size"] == head.headers["content-length"] == str(len(WEIGHTS))
        assert head.headers["x-repo-commit"] == space["first"]
        ranged = http.get(f"/spaces/{SPACE}/resolve/main/weights.bin", headers={"Range": "bytes=299990-"})
        assert (ranged.status_code, ranged.content) == (206, WEIGHTS[-10:])

    api = hub_api()
    [listed] = [e for e in api.list_repo_tree(SPACE, repo_type="space") if e.path == "weights.bin"]
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{WEIGHTS_OID}\nsize {len(WEIGHTS)}\n".encode()
    assert (listed.size, listed.blob_id) == (len(WEIGHTS), git_hash(pointer))
    assert (listed.lfs.sha256, listed.lfs.size, listed.lfs.pointer_size) == (WEIGHTS_OID, len(WEIGHTS), len(pointer))
    [info] = api.get_paths_info(SPACE, "weights.bin", repo_type="space")
    assert info.lfs.sha256 == WEIGHTS_OID
    siblings = {sibling.rfilename: sibling for sibling in api.space_info(SPACE, files_metadata=True).siblings}
    assert (siblings["weights.bin"].size, siblings["weights.bin"].lfs.sha256) == (len(WEIGHTS), WEIGHTS_OID)
    assert siblings["big.dat"].lfs is None

    fs = HfFileSystem(endpoint=hub.url, token=hub.token)
    assert fs.info(f"spaces/{SPACE}/weights.bin")["size"] == len(WEIGHTS)
    with fs.open(f"spaces/{SPACE}/weights.bin", "rb", block_size=4096) as remote:
        remote.seek(123_456)
        assert remote.read(1000) == WEIGHTS[123_456:124_456]


def test_a_private_space_is_invisible_without_a_token_that_may_read_it(
    hub: PodiumServer, hub_api: Callable[..., HfApi], tmp_path: Path
) -> None:
    api = hub_api()
    api.create_repo("admin/secret", repo_type="space", space_sdk="static", private=True)
    _commit(api, "admin/secret", {"README.md": README, "index.html": b"<h1>secret</h1>\n"}, "Secret")
    _, bob = make_token(hub, user="bob", name="bob's token")
    for stranger in (hub_api(False), hub_api(bob)):
        assert not stranger.file_exists("admin/secret", "index.html", repo_type="space")
        with pytest.raises(RepositoryNotFoundError):
            stranger.list_repo_refs("admin/secret", repo_type="space")
        with pytest.raises(RepositoryNotFoundError):
            list(stranger.list_repo_tree("admin/secret", repo_type="space"))
        with pytest.raises(RepositoryNotFoundError):
            stranger.list_repo_commits("admin/secret", repo_type="space")
    anonymous = httpx.head(f"{hub.url}/spaces/admin/secret/resolve/main/index.html")
    assert (anonymous.status_code, anonymous.headers["x-error-code"]) == (404, "RepoNotFound")  # 404, not 403

    _, reader = make_token(hub, role="read", name="read-only")
    local = hf_hub_download(
        "admin/secret", "index.html", repo_type="space", endpoint=hub.url, token=reader, cache_dir=tmp_path
    )
    assert Path(local).read_bytes() == b"<h1>secret</h1>\n"


def test_list_repo_tree_has_folders_pages_and_last_commits(
    hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str]
) -> None:
    api = hub_api()
    root = {entry.path: entry for entry in api.list_repo_tree(SPACE, repo_type="space")}
    assert set(root) == {".gitattributes", "README.md", "index.html", "big.dat", "weights.bin", "data", "odd names"}
    assert isinstance(root["data"], RepoFolder) and isinstance(root["big.dat"], RepoFile)
    assert root["big.dat"].size == len(BIG) and root["big.dat"].blob_id == git_hash(BIG)

    folder = {entry.path for entry in api.list_repo_tree(SPACE, "data/nested", repo_type="space")}
    assert folder == {"data/nested/deep.txt", "data/nested/deeper"}
    everything = list(api.list_repo_tree(SPACE, "data", recursive=True, repo_type="space", revision="v1"))
    assert {e.path for e in everything if isinstance(e, RepoFolder)} == {"data/nested", "data/nested/deeper"}
    assert {e.path for e in everything if isinstance(e, RepoFile)} == {
        "data/top.txt",
        "data/nested/deep.txt",
        "data/nested/deeper/leaf.txt",
    }
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(SPACE, "index.html", repo_type="space"))  # a file is no folder

    expanded = {e.path: e for e in api.list_repo_tree(SPACE, "data", expand=True, repo_type="space")}
    assert expanded["data/top.txt"].last_commit.oid == space["second"]
    assert expanded["data/nested"].last_commit.title == "First version"

    with hub.http() as http:  # pages of two, followed through the Link header as the client does
        listed, url = [], f"/api/spaces/{SPACE}/tree/main?recursive=true&limit=2"
        while url:
            page = http.get(url)
            assert page.status_code == 200 and len(page.json()) <= 2
            listed += [entry["path"] for entry in page.json()]
            url = page.links.get("next", {}).get("url")
        assert listed == [entry.path for entry in api.list_repo_tree(SPACE, recursive=True, repo_type="space")]
        assert len(listed) == 13
        assert http.get(f"/api/spaces/{SPACE}/tree/main?cursor=bm9wZQ").status_code == 400


def test_paths_info_and_hf_file_system(hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str]) -> None:
    infos = hub_api().get_paths_info(SPACE, ["index.html", "data/nested", "missing.txt"], repo_type="space")
    assert [(type(info), info.path) for info in infos] == [(RepoFile, "index.html"), (RepoFolder, "data/nested")]
    assert infos[0].blob_id == git_hash(INDEX_V2) and infos[0].size == len(INDEX_V2)
    at_tag = hub_api().get_paths_info(SPACE, "index.html", expand=True, repo_type="space", revision="v1")
    assert at_tag[0].blob_id == git_hash(INDEX_V1) and at_tag[0].last_commit.oid == space["first"]

    fs = HfFileSystem(endpoint=hub.url, token=hub.token)
    root = f"spaces/{SPACE}"
    assert sorted(fs.ls(f"{root}/data", detail=False)) == [f"{root}/data/nested", f"{root}/data/top.txt"]
    assert fs.info(f"{root}/data/nested")["type"] == "directory"
    assert fs.info(f"{root}/data/nested/deep.txt")["size"] == 5
    assert sorted(fs.find(f"{root}/data")) == [
        f"{root}/data/nested/deep.txt",
        f"{root}/data/nested/deeper/leaf.txt",
        f"{root}/data/top.txt",
    ]
    assert fs.cat(f"{root}/data/nested/deeper/leaf.txt") == b"leaf\n"
    assert fs.cat(f"{root}@v1/data/top.txt") == b"top v1\n"

    info = hub_api().space_info(SPACE, files_metadata=True)
    siblings = {sibling.rfilename: sibling for sibling in info.siblings}
    assert siblings["big.dat"].size == len(BIG) and siblings["big.dat"].blob_id == git_hash(BIG)
    assert siblings["data/nested/deeper/leaf.txt"].size == 5
    assert "data/nested" not in siblings  # files only
    assert all(sibling.size is None for sibling in hub_api().space_info(SPACE).siblings)  # as on the Hub


def test_list_repo_commits_newest_first_in_pages(
    hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str]
) -> None:
    commits = hub_api().list_repo_commits(SPACE, repo_type="space")
    assert [c.commit_id for c in commits[:2]] == [space["second"], space["first"]]
    assert commits[0].title == "Second version" and commits[0].authors == ["admin"]  # who committed it
    assert commits[0].created_at >= commits[1].created_at
    assert [c.commit_id for c in hub_api().list_repo_commits(SPACE, repo_type="space", revision="v1")][0] == (
        space["first"]
    )
    with hub.http() as http:
        first_page = http.get(f"/api/spaces/{SPACE}/commits/main?limit=1")
        assert [c["id"] for c in first_page.json()] == [space["second"]]
        second_page = http.get(first_page.links["next"]["url"])
        assert [c["id"] for c in second_page.json()] == [space["first"]]
        assert int(first_page.headers["x-total-count"]) == len(commits)
    files_page = httpx.get(f"{hub.url}/spaces/{SPACE}/files").text  # the pages read the same history
    assert "Second version" in files_page and space["second"][:7] in files_page
    formatted = hub_api().list_repo_commits(SPACE, repo_type="space", formatted=True)
    assert formatted[0].formatted_title == "Second version"
    with pytest.raises(RevisionNotFoundError):
        hub_api().list_repo_commits(SPACE, repo_type="space", revision="nope")


def test_branches_and_tags_are_git_refs(
    hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str]
) -> None:
    api = hub_api()
    kwargs = {"repo_type": "space"}
    api.create_branch(SPACE, branch="from-v1", revision="v1", **kwargs)
    api.create_branch(SPACE, branch="feature/nested-name", **kwargs)  # quoted whole by the client
    api.create_tag(SPACE, tag="release-2", tag_message="The second release", **kwargs)
    refs = api.list_repo_refs(SPACE, include_pull_requests=True, **kwargs)
    assert {r.name: r.target_commit for r in refs.branches} == {
        "main": space["second"],
        "from-v1": space["first"],
        "feature/nested-name": space["second"],
    }
    assert {r.name: r.target_commit for r in refs.tags} == {"v1": space["first"], "release-2": space["second"]}
    assert {r.ref for r in refs.tags} == {"refs/tags/v1", "refs/tags/release-2"}
    assert refs.converts == [] and refs.pull_requests == []
    assert api.space_info(SPACE, revision="feature/nested-name").sha == space["second"]
    assert api.file_exists(SPACE, "index.html", revision="feature/nested-name", **kwargs)

    with pytest.raises(HfHubHTTPError, match="already exists") as taken:
        api.create_branch(SPACE, branch="from-v1", **kwargs)
    assert taken.value.response.status_code == 409
    api.create_branch(SPACE, branch="from-v1", exist_ok=True, **kwargs)
    with pytest.raises(HfHubHTTPError) as tag_taken:
        api.create_tag(SPACE, tag="v1", **kwargs)
    assert tag_taken.value.response.status_code == 409
    with pytest.raises(RevisionNotFoundError):
        api.create_branch(SPACE, branch="from-nothing", revision="no-such-revision", **kwargs)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main") as main:
        api.delete_branch(SPACE, branch="main", **kwargs)
    assert main.value.response.status_code == 403

    api.delete_branch(SPACE, branch="feature/nested-name", **kwargs)
    api.delete_tag(SPACE, tag="release-2", **kwargs)
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(SPACE, tag="release-2", **kwargs)
    with pytest.raises(RevisionNotFoundError):
        api.delete_branch(SPACE, branch="v1", **kwargs)  # a tag is no branch
    with pytest.raises(RevisionNotFoundError):
        api.space_info(SPACE, revision="feature/nested-name")
    refs = api.list_repo_refs(SPACE, **kwargs)
    assert {r.name for r in refs.branches} == {"main", "from-v1"} and {r.name for r in refs.tags} == {"v1"}

    with pytest.raises(HfHubHTTPError) as anonymous:  # refs change only with a token that may write
        hub_api(False).create_branch(SPACE, branch="anonymous", **kwargs)
    assert anonymous.value.response.status_code == 401
    _, reader = make_token(hub, role="read", name="reader of refs")
    with pytest.raises(HfHubHTTPError) as read_only:
        hub_api(reader).delete_tag(SPACE, tag="v1", **kwargs)
    assert read_only.value.response.status_code == 403


def test_a_commit_to_a_branch_lands_there_and_main_keeps_serving(
    hub: PodiumServer, hub_api: Callable[..., HfApi]
) -> None:
    api = hub_api()
    space_id = "admin/branchy"
    api.create_repo(space_id, repo_type="space", space_sdk="static")
    main_sha = _commit(api, space_id, {"README.md": README, "index.html": INDEX_V1}, "On main")
    assert hub.wait_for_stage(space_id, timeout=60)["stage"] == "RUNNING"
    app = f"{hub.spaces_url}/apps/{space_id}/"
    assert httpx.get(app, follow_redirects=True).content == INDEX_V1

    api.create_branch(space_id, branch="dev", repo_type="space")
    dev_sha = _commit(api, space_id, {"index.html": INDEX_V2}, "On dev", revision="dev")
    api.upload_file(
        path_or_fileobj=b"only on dev\n", path_in_repo="dev.txt", repo_id=space_id, repo_type="space", revision="dev"
    )
    refs = {r.name: r.target_commit for r in api.list_repo_refs(space_id, repo_type="space").branches}
    assert refs["main"] == main_sha and refs["dev"] not in (main_sha, dev_sha)
    assert api.list_repo_commits(space_id, repo_type="space", revision="dev")[1].commit_id == dev_sha

    assert not api.file_exists(space_id, "dev.txt", repo_type="space")
    assert api.file_exists(space_id, "dev.txt", repo_type="space", revision="dev")
    assert api.revision_exists(space_id, "dev", repo_type="space")
    assert not api.revision_exists(space_id, "nope", repo_type="space")

    fs = HfFileSystem(endpoint=hub.url, token=hub.token)  # writes through the file system land on dev too
    with fs.open(f"spaces/{space_id}@dev/written.txt", "wb") as remote:
        remote.write(b"written on dev\n")
    assert fs.cat(f"spaces/{space_id}@dev/written.txt") == b"written on dev\n"
    api.delete_file("dev.txt", space_id, repo_type="space", revision="dev")
    assert not api.file_exists(space_id, "dev.txt", repo_type="space", revision="dev")

    with pytest.raises(RevisionNotFoundError):
        _commit(api, space_id, {"x.txt": b"x"}, "Nowhere", revision="no-such-branch")
    api.create_tag(space_id, tag="t1", repo_type="space")
    with pytest.raises(BadRequestError, match="commits go to a branch"):
        _commit(api, space_id, {"x.txt": b"x"}, "On a tag", revision="t1")
    assert api.list_repo_refs(space_id, repo_type="space").tags[0].target_commit == main_sha

    runtime = hub.wait_for_stage(space_id, timeout=60)
    assert (runtime["stage"], runtime["sha"]) == ("RUNNING", main_sha)  # nothing was deployed from dev
    assert api.space_info(space_id).sha == main_sha
    assert httpx.get(app, follow_redirects=True).content == INDEX_V1


BAD_REF_NAMES = [
    *("a..b", "refs/heads/sneaky", "-rf", "--upload-pack=touch", "a\x01b", "a\nb", "a b", "x" * 300, "HEAD"),
    *("a/.hidden", "x.lock", "a//b", "trailing/", "main@{1}", "a~1", "a^", "a:b", "a*", "a\\b", "é"),
    "0123456789abcdef0123456789abcdef01234567",  # reads as a sha
]


@pytest.mark.parametrize("bad", BAD_REF_NAMES)
def test_bad_ref_names_are_refused_before_git_sees_them(
    hub: PodiumServer, hub_api: Callable[..., HfApi], space: dict[str, str], bad: str
) -> None:
    api = hub_api()
    before = api.list_repo_refs(SPACE, repo_type="space")
    with pytest.raises(BadRequestError, match="not a valid branch name"):
        api.create_branch(SPACE, branch=bad, repo_type="space")
    with pytest.raises(BadRequestError, match="not a valid tag name"):
        api.create_tag(SPACE, tag=bad, repo_type="space")
    assert api.list_repo_refs(SPACE, repo_type="space") == before


def test_dot_dot_as_a_ref_name_is_refused(hub: PodiumServer, space: dict[str, str]) -> None:
    """huggingface_hub's HTTP client folds a `..` path segment away; a raw client can send it quoted."""
    with hub.http() as http:
        for verb, url in (("POST", "branch/%2E%2E"), ("DELETE", "branch/%2E%2E"), ("DELETE", "tag/%2E%2E")):
            answer = http.request(verb, f"/api/spaces/{SPACE}/{url}", json={})
            assert answer.status_code == 400, (verb, url, answer.text)
            assert "not a valid" in answer.json()["error"]
        tag = http.post(f"/api/spaces/{SPACE}/tag/main", json={"tag": ".."})
        assert tag.status_code == 400 and "not a valid tag name" in tag.json()["error"]


def test_paths_and_pages_outside_the_tree_name_nothing(hub: PodiumServer, space: dict[str, str]) -> None:
    """A hostile path or page parameter is a 404 or a 400, never a file outside the revision's tree."""
    with hub.http() as http:
        # (a literal `../` never leaves httpx: it folds dot segments away before sending)
        for path in ("..%2F..%2Fconfig", "%2E%2E/HEAD", "data/..%2F..%2FHEAD", ".git/config", "%00", "a%0Ab"):
            answer = http.get(f"/spaces/{SPACE}/resolve/main/{path}")
            assert (answer.status_code, answer.headers.get("x-error-code")) == (404, "EntryNotFound"), path
            listing = http.get(f"/api/spaces/{SPACE}/tree/main/{path}")
            assert listing.status_code == 404, path
        assert http.post(f"/api/spaces/{SPACE}/paths-info/main", data={"paths": ["../../config"]}).json() == []
        too_many = http.post(f"/api/spaces/{SPACE}/paths-info/main", json={"paths": ["x"] * 10_001})
        assert too_many.status_code == 400
        for query in ("p=-1", "limit=0", "limit=100000", "p=x"):
            assert http.get(f"/api/spaces/{SPACE}/commits/main?{query}").status_code in (400, 422), query
