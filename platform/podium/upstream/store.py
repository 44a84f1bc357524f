"""Where cached upstream repositories live, under `<data folder>/upstream/`:

- `repos/{type}s/{owner}/{name}/refs.json`: each revision name asked for, the sha the upstream said it was
  and when (a branch is asked again once that is older than `hub_upstream_refresh_s`);
- `repos/{type}s/{owner}/{name}/commits/{sha}.json`: the upstream's info of that commit, its files' sizes,
  blob ids and LFS objects included, which is all a `HEAD` of a file needs;
- `blobs/{etag[:2]}/{etag}`: file contents by what the Hub calls their ETag (the LFS object's sha256, or the
  git blob id), shared by every cached repository and revision, fetched once.

Files are written whole then renamed into place, so a kill leaves no half file behind a name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.errors import ApiError
from podium.names import check_name
from podium.settings import Settings
from podium.whole_files import write_whole

FOLDER = "upstream"
_SHA = re.compile(r"[0-9a-f]{40}")
_ETAG = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class CachedFile:
    """One file of a cached commit, as a `HEAD` of it answers."""

    path: str
    size: int
    etag: str  # the LFS object's sha256, else the git blob id
    lfs: bool


class UpstreamStore:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.data_dir / FOLDER

    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        owner, _, name = repo_id.partition("/")
        check_name(owner, "owner name")
        check_name(name, "repository name")
        return self.root / "repos" / f"{repo_type}s" / owner / name

    def holds(self, repo_type: str, repo_id: str) -> bool:
        return (self.repo_dir(repo_type, repo_id) / "commits").is_dir()

    def blob_path(self, etag: str) -> Path:
        if not _ETAG.fullmatch(etag):
            raise ApiError(502, f"the upstream named a file by {etag!r}, which is no blob id or sha256")
        return self.root / "blobs" / etag[:2] / etag

    # Revisions
    def ref(self, repo_type: str, repo_id: str, revision: str) -> tuple[str, float] | None:
        """The sha `revision` was last seen at, and when (seconds since the epoch)."""
        found = self._refs(repo_type, repo_id).get(revision)
        return (found["sha"], found["at"]) if found else None

    def set_ref(self, repo_type: str, repo_id: str, revision: str, sha: str) -> None:
        refs = self._refs(repo_type, repo_id) | {revision: {"sha": sha, "at": time.time()}}
        write_whole(self.repo_dir(repo_type, repo_id) / "refs.json", json.dumps(refs).encode())

    def _refs(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        try:
            return json.loads((self.repo_dir(repo_type, repo_id) / "refs.json").read_bytes())
        except FileNotFoundError:
            return {}

    # Commits
    def commit(self, repo_type: str, repo_id: str, sha: str) -> dict[str, Any] | None:
        if not _SHA.fullmatch(sha):
            return None
        try:
            return json.loads((self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json").read_bytes())
        except FileNotFoundError:
            return None

    def add_commit(self, repo_type: str, repo_id: str, info: dict[str, Any]) -> None:
        sha = info.get("sha")
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise ApiError(502, f"the upstream's info of {repo_id} names no commit sha")
        write_whole(self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json", json.dumps(info).encode())

    # Files
    @staticmethod
    def files(info: dict[str, Any]) -> dict[str, CachedFile]:
        """The files of a commit's info (fetched with blobs), by path."""
        found = {}
        for sibling in info.get("siblings") or []:
            lfs = sibling.get("lfs") or None
            etag = lfs["sha256"] if lfs else sibling.get("blobId")
            size = lfs["size"] if lfs else sibling.get("size")
            if isinstance(etag, str) and isinstance(size, int):
                found[sibling["rfilename"]] = CachedFile(sibling["rfilename"], size, etag, lfs is not None)
        return found

    def has_blob(self, etag: str) -> bool:
        return self.blob_path(etag).is_file()

    def add_blob(self, etag: str, downloaded: Path) -> Path:
        target = self.blob_path(etag)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(downloaded, target)
        return target

    def staging(self) -> Path:
        """A fresh folder for one download, on the store's filesystem (so it is renamed, not copied)."""
        (self.root / "staging").mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root / "staging"))

    # Listing and eviction
    def cached_repos(self) -> list[tuple[str, str]]:
        """(repo_type, repo_id) of every cached repository."""
        found = []
        for commits in sorted((self.root / "repos").glob("*/*/*/commits")):
            type_folder, owner, name = commits.parent.relative_to(self.root / "repos").parts
            found.append((type_folder.removesuffix("s"), f"{owner}/{name}"))
        return found

    def evict(self, repo_type: str, repo_id: str) -> int:
        """Forget a cached repository, and the blobs no other cached repository names; the bytes freed."""
        folder = self.repo_dir(repo_type, repo_id)
        if not folder.is_dir():
            raise ApiError(404, f"no cached upstream {repo_type} {repo_id!r} here; `podium models cached` lists them")
        shutil.rmtree(folder)
        named = set()
        for commit in (self.root / "repos").glob("*/*/*/commits/*.json"):
            named |= {file.etag for file in self.files(json.loads(commit.read_bytes())).values()}
        freed = 0
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in named:
                freed += blob.stat().st_size
                blob.unlink()
        return freed
