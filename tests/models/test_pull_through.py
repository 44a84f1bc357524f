"""A pull-through cache of an upstream Hub (issue 12 item 4): a second real Podium (`origin`) is the
upstream of `edge` (PODIUM_HUB_UPSTREAM), through a relay that counts downloads and can go away."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import RepoFile, RepoFolder, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

from tests.models import cache_fixtures
from tests.models.cache_fixtures import CountingUpstream, publish_model
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port

WEIGHTS = os.urandom(300_000)  # *.bin: kept in LFS by the Hub's .gitattributes, an LFS object upstream

# The fixtures of these stories (tests/models/cache_fixtures.py).
origin = cache_fixtures.origin
upstream = cache_fixtures.upstream
edge = cache_fixtures.edge


def download(server: PodiumServer, repo_id: str, filename: str, cache: Path, revision: str | None = None) -> bytes:
    path = hf_hub_download(
        repo_id, filename, revision=revision, endpoint=server.url, token=server.token, cache_dir=cache
    )
    return Path(path).read_bytes()


def podium_cli(server: PodiumServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PODIUM_URL": server.url, "PODIUM_TOKEN": server.token}
    env.pop("HF_TOKEN", None)
    return subprocess.run(
        [str(Path(sys.executable).with_name("podium")), "models", *args], env=env, capture_output=True, text=True
    )


def test_a_model_podium_does_not_hold_is_fetched_once_and_pinned_by_sha(
    origin: PodiumServer, upstream: CountingUpstream, edge: PodiumServer, tmp_path: Path
) -> None:
    first = publish_model(origin.api(), "org/tiny", {"config.json": b'{"v": 1}', "weights.bin": WEIGHTS})
    info = edge.api().model_info("org/tiny", files_metadata=True)
    assert info.sha == first
    assert {s.rfilename for s in info.siblings} >= {"config.json", "weights.bin"}
    # Read twice, by two clients with caches of their own: the upstream sends each file once.
    for cache in ("one", "two"):
        assert download(edge, "org/tiny", "weights.bin", tmp_path / cache) == WEIGHTS
        assert download(edge, "org/tiny", "config.json", tmp_path / cache) == b'{"v": 1}'
    assert upstream.file_downloads("org/tiny", "weights.bin") == 1
    assert upstream.file_downloads("org/tiny", "config.json") == 1

    # The upstream changes: main is a new sha, fetched anew; the old sha still reads what it held.
    second = publish_model(origin.api(), "org/tiny", {"config.json": b'{"v": 2}'})
    assert edge.api().model_info("org/tiny").sha == second
    assert download(edge, "org/tiny", "config.json", tmp_path / "three") == b'{"v": 2}'
    assert download(edge, "org/tiny", "config.json", tmp_path / "four", revision=first) == b'{"v": 1}'
    assert upstream.file_downloads("org/tiny", "config.json") == 2
    # A file whose content did not change (same blob) is not fetched again under the new sha.
    assert download(edge, "org/tiny", "weights.bin", tmp_path / "five") == WEIGHTS
    assert upstream.file_downloads("org/tiny", "weights.bin") == 1
    with pytest.raises(EntryNotFoundError):
        download(edge, "org/tiny", "missing.txt", tmp_path / "six")
    with pytest.raises(RepositoryNotFoundError):
        edge.api().model_info("org/nothing-upstream")
    # The cache is marked as such, for the pages.
    raw = edge.http().get("/api/models/org/tiny").json()
    assert raw["podiumCache"]["upstream"] == upstream.url and raw["sha"] == second


def test_a_cached_models_tree_lists_what_the_upstream_lists(edge: PodiumServer, origin: PodiumServer) -> None:
    """`list_repo_tree`, which `from_pretrained` asks for a chat templates folder, and `get_paths_info`: the same
    entries as the upstream's (an LFS file's pointer blob id included); a folder that is not there is
    EntryNotFound."""
    files = {"config.json": b"{}", "weights.bin": WEIGHTS, "templates/chat.jinja": b"{{ x }}"}
    sha = publish_model(origin.api(), "org/treed", files)

    def describe(entries: Iterable[RepoFile | RepoFolder]) -> list[tuple]:
        return sorted((entry.path, type(entry).__name__, getattr(entry, "size", None), getattr(entry, "blob_id", None),
                       getattr(getattr(entry, "lfs", None), "sha256", None)) for entry in entries)  # fmt: skip

    def listing(server: PodiumServer, **options: object) -> list[tuple]:
        return describe(server.api().list_repo_tree("org/treed", revision=sha, **options))

    for options in ({}, {"recursive": True}, {"path_in_repo": "templates"}):
        assert listing(edge, **options) == listing(origin, **options), options
    with pytest.raises(EntryNotFoundError):
        listing(edge, path_in_repo="additional_chat_templates")
    # paths-info (HfFileSystem.info, which `datasets` reads through) too; a path that names nothing is left out.
    paths = ["config.json", "weights.bin", "templates", "templates/chat.jinja", "missing.txt"]
    cached, held = (describe(s.api().get_paths_info("org/treed", paths, revision=sha)) for s in (edge, origin))
    assert cached == held and len(cached) == 4


def test_a_model_podium_holds_is_never_fetched_from_upstream(
    origin: PodiumServer, upstream: CountingUpstream, edge: PodiumServer, tmp_path: Path
) -> None:
    publish_model(origin.api(), "org/both", {"config.json": b'"upstream"'})
    publish_model(edge.api(), "org/both", {"config.json": b'"edge"'})
    assert download(edge, "org/both", "config.json", tmp_path) == b'"edge"'
    assert upstream.file_downloads("org/both", "config.json") == 0
    assert "podiumCache" not in edge.http().get("/api/models/org/both").json()
    # Moved away, its old name leads to where it went, not to the upstream's model of that name.
    edge.api().move_repo("org/both", "org/both-moved")
    assert edge.api().model_info("org/both").id == "org/both-moved"
    assert download(edge, "org/both", "config.json", tmp_path / "moved") == b'"edge"'
    assert upstream.file_downloads("org/both", "config.json") == 0


def test_pull_and_evict_from_the_cli(origin: PodiumServer, upstream: CountingUpstream, edge: PodiumServer) -> None:
    publish_model(origin.api(), "org/pulled", {"a.txt": b"a", "b.txt": b"b"})
    pulled = podium_cli(edge, "pull", "org/pulled")
    assert pulled.returncode == 0, pulled.stderr
    assert "3 files cached" in pulled.stdout  # with the .gitattributes every new repository starts with
    assert upstream.file_downloads("org/pulled", "a.txt") == upstream.file_downloads("org/pulled", "b.txt") == 1
    assert "model\torg/pulled" in podium_cli(edge, "cached").stdout
    evicted = podium_cli(edge, "evict", "org/pulled")
    assert evicted.returncode == 0 and "evicted" in evicted.stdout, evicted.stderr
    again = edge.http().delete("/api/upstream-cache/models/org/pulled")
    assert again.status_code == 404 and "no cached upstream model" in again.json()["error"]
    assert "org/pulled" not in [cached["id"] for cached in edge.http().get("/api/upstream-cache").json()]
    # Only an admin manages the cache; a Podium-held model is never pulled.
    alice = edge.http().post("/api/tokens", json={"name": "alice's", "user": "alice"}).json()["token"]
    assert (
        httpx.post(
            f"{edge.url}/api/upstream-cache/models/org/pulled/pull", headers={"Authorization": f"Bearer {alice}"}
        ).status_code
        == 403
    )
    publish_model(edge.api(), "org/held", {"x.txt": b"x"})
    assert edge.http().post("/api/upstream-cache/models/org/held/pull").status_code == 409


def test_the_cache_serves_on_once_the_upstream_is_gone(
    origin: PodiumServer, edge: PodiumServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The last test of the module: it takes the upstream away."""
    relay = CountingUpstream(origin.url)
    # With a token that reads the upstream's private repositories (for gated ones).
    env = {
        "PODIUM_HUB_UPSTREAM": relay.url,
        "PODIUM_HUB_UPSTREAM_REFRESH_S": "0",
        "PODIUM_HUB_UPSTREAM_TOKEN": origin.token,
    }
    lonely = PodiumServer(tmp_path_factory.mktemp("lonely") / "data", free_port(), free_port(), env).start()
    try:
        sha = publish_model(origin.api(), "org/kept", {"config.json": b"kept", "other.txt": b"never read"})
        assert download(lonely, "org/kept", "config.json", tmp_path / "a") == b"kept"
        # Never a repository the upstream keeps private: every user of this Podium would read it.
        publish_model(origin.api(), "org/private-upstream", {"config.json": b"private"}, private=True)
        refused = lonely.http().get("/org/private-upstream/resolve/main/config.json")
        assert refused.status_code == 403 and "private on the upstream" in refused.json()["error"]
        relay.go_away()
        assert lonely.api().model_info("org/kept").sha == sha  # main as last seen
        assert download(lonely, "org/kept", "config.json", tmp_path / "b") == b"kept"
        assert download(lonely, "org/kept", "config.json", tmp_path / "c", revision=sha) == b"kept"
        # What was never fetched cannot be: a clear error, not a hang.
        answer = lonely.http().get("/org/kept/resolve/main/other.txt")
        assert answer.status_code == 502 and "did not answer" in answer.json()["error"]
        answer = lonely.http().get("/api/models/org/never-seen")
        assert answer.status_code == 502 and relay.url in answer.json()["error"]
    finally:
        lonely.stop()


def test_without_an_upstream_a_missing_model_is_a_clear_404(origin: PodiumServer) -> None:
    answer = origin.http().get("/api/models/org/not-here")
    assert answer.status_code == 404
    answer = origin.http().get("/org/not-here/resolve/main/config.json")
    assert answer.status_code == 404


def test_hostile_names_revisions_and_paths_read_nothing(edge: PodiumServer) -> None:
    for path in (
        "/api/models/..%2F..%2Fetc/passwd",
        "/api/models/org/tiny/revision/..%2F..%2Frefs",
        "/%2E%2E/tiny/resolve/main/config.json",
        "/org/tiny/resolve/main/..%2F..%2Frefs.json",
        "/org/tiny/resolve/..%2Fcommits/config.json",
        "/org/tiny/resolve/main/%00",
    ):
        answer = edge.http().get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
