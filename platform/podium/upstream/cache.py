"""A pull-through cache of an upstream Hub (`PODIUM_HUB_UPSTREAM`: the public Hub, or another Podium): the
models and datasets Podium does not hold are fetched from there with huggingface_hub, once, and served
from the store (podium.upstream.store) from then on.

What is cached, every user of this Podium reads, as a public repository: a gated repository (read with
PODIUM_HUB_UPSTREAM_TOKEN, its terms accepted by the operator) too, but never one the upstream says is private.

Revisions are pinned by sha: a branch or tag is asked of the upstream again once its answer is older than
`hub_upstream_refresh_s`, and a new sha is a new commit, fetched anew; a sha is never asked twice. Files are
fetched when first read (or all at once by `pull`), each under a lock of its own, so spaces asking at once
cause one download. Once the upstream is gone the store answers what it holds (a branch at the sha it was
last seen at). Without an upstream the store still serves what was cached, and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
from huggingface_hub import hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from podium.errors import ApiError
from podium.settings import Settings
from podium.upstream.store import CachedFile, UpstreamStore

_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Commit:
    repo_type: str
    repo_id: str
    sha: str
    info: dict[str, Any]

    @property
    def files(self) -> dict[str, CachedFile]:
        return UpstreamStore.files(self.info)


def _unreachable(exc: Exception) -> bool:
    """Whether `exc` says the upstream did not answer (no connection, a timeout, its 5xx)."""
    # httpx2: huggingface_hub's own HTTP client
    if isinstance(exc, httpx2.TransportError):
        return True
    return isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code >= 500


class UpstreamCache:
    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.hub_upstream.rstrip("/") if settings.hub_upstream else None
        self.token = settings.hub_upstream_token.get_secret_value() if settings.hub_upstream_token else None
        self.refresh_s = settings.hub_upstream_refresh_s
        self.store = UpstreamStore(settings)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def holds(self, repo_type: str, repo_id: str) -> bool:
        return self.store.holds(repo_type, repo_id)

    def serves(self, repo_type: str, repo_id: str) -> bool:
        """Whether a request for this repository is the cache's to answer (Podium does not hold it)."""
        return self.endpoint is not None or self.holds(repo_type, repo_id)

    # Revisions
    async def commit(self, repo_type: str, repo_id: str, revision: str) -> Commit:
        """The commit `revision` names: from the store when it holds a sha or a fresh enough name, else
        asked of the upstream (and stored); the last known sha of a name when the upstream is unreachable."""
        held = self.store.commit(repo_type, repo_id, revision)
        if held is not None:
            return Commit(repo_type, repo_id, revision, held)
        seen = self.store.ref(repo_type, repo_id, revision)
        if seen is not None and time.time() - seen[1] < self.refresh_s:
            return self._held(repo_type, repo_id, seen[0])
        if self.endpoint is None:
            if seen is not None:
                return self._held(repo_type, repo_id, seen[0])
            raise self._not_found(repo_type, repo_id, "no upstream Hub is set (PODIUM_HUB_UPSTREAM)")
        async with self._locks[f"ref {repo_type} {repo_id} {revision}"]:
            try:
                info = await asyncio.to_thread(self._fetch_info, repo_type, repo_id, revision)
            except Exception as exc:
                if seen is not None and _unreachable(exc):
                    return self._held(repo_type, repo_id, seen[0])
                raise self._refusal(exc, repo_type, repo_id, revision) from None
            sha = info["sha"]
            if self.store.commit(repo_type, repo_id, sha) is None:
                self.store.add_commit(repo_type, repo_id, info)
            self.store.set_ref(repo_type, repo_id, revision, sha)
        return self._held(repo_type, repo_id, sha)

    def _held(self, repo_type: str, repo_id: str, sha: str) -> Commit:
        info = self.store.commit(repo_type, repo_id, sha)
        if info is None:
            raise self._not_found(repo_type, repo_id, f"its commit {sha} is no longer cached")
        return Commit(repo_type, repo_id, sha, info)

    def _fetch_info(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        url = f"{self.endpoint}/api/{repo_type}s/{repo_id}/revision/{quote(revision, safe='')}"
        response = get_session().get(
            url, params={"blobs": "true"}, headers=build_hf_headers(token=self.token or False), timeout=_TIMEOUT_S
        )
        hf_raise_for_status(response)
        info = response.json()
        if not isinstance(info, dict) or not isinstance(info.get("sha"), str):
            raise ApiError(502, f"the upstream Hub answered no commit for {repo_id}@{revision}")
        if info.get("private") is True:  # what is cached, every user of this Podium reads
            raise ApiError(
                403,
                f"{repo_id} is private on the upstream Hub: Podium caches public and gated repositories only; "
                "upload it to Podium itself to keep it private here",
            )
        return info

    # Files
    async def file(self, commit: Commit, file: CachedFile) -> Path:
        """The file's content in the store, fetched from the upstream the first time."""
        if self.store.has_blob(file.etag):
            return self.store.blob_path(file.etag)
        if self.endpoint is None:
            raise self._not_found(
                commit.repo_type, commit.repo_id, f"{file.path} was never fetched and no upstream is set"
            )
        async with self._locks[f"blob {file.etag}"]:
            if not self.store.has_blob(file.etag):  # fetched while this one waited
                try:
                    await asyncio.to_thread(self._download, commit, file)
                except Exception as exc:
                    raise self._refusal(exc, commit.repo_type, commit.repo_id, commit.sha) from None
        return self.store.blob_path(file.etag)

    def _download(self, commit: Commit, file: CachedFile) -> None:
        """One file from the upstream into the store, checked against what the commit's info says of it.
        Once: no retries (huggingface_hub's download retries for half a minute against an upstream that is down)."""
        staging = self.store.staging()
        try:
            url = hf_hub_url(
                commit.repo_id, file.path, repo_type=commit.repo_type, revision=commit.sha, endpoint=self.endpoint
            )
            part = staging / "content"
            digest = hashlib.sha256()
            headers = build_hf_headers(token=self.token or False)
            with get_session().stream("GET", url, headers=headers, follow_redirects=True, timeout=_TIMEOUT_S) as answer:
                hf_raise_for_status(answer)
                with part.open("wb") as out:
                    for chunk in answer.iter_bytes(1024 * 1024):
                        digest.update(chunk)
                        out.write(chunk)
            if part.stat().st_size != file.size or (file.lfs and digest.hexdigest() != file.etag):
                raise ApiError(502, f"the upstream sent {file.path} of {commit.repo_id} not as its info describes it")
            self.store.add_blob(file.etag, part)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    async def pull(self, repo_type: str, repo_id: str, revision: str) -> Commit:
        """Fetch a revision whole: its info and every file."""
        commit = await self.commit(repo_type, repo_id, revision)
        for file in commit.files.values():
            await self.file(commit, file)
        return commit

    # Refusals
    def _not_found(self, repo_type: str, repo_id: str, why: str) -> ApiError:
        return ApiError(
            404, f"Repository Not Found: Podium holds no {repo_type} {repo_id!r} and {why}", code="RepoNotFound"
        )

    def _refusal(self, exc: Exception, repo_type: str, repo_id: str, revision: str) -> ApiError:
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, GatedRepoError):
            return ApiError(403, f"{repo_id} is gated upstream and PODIUM_HUB_UPSTREAM_TOKEN may not read it")
        if isinstance(exc, RevisionNotFoundError):
            return ApiError(404, f"{repo_id}: revision {revision!r} does not exist upstream", code="RevisionNotFound")
        if isinstance(exc, RepositoryNotFoundError):
            return self._not_found(repo_type, repo_id, f"neither does the upstream Hub {self.endpoint}")
        if _unreachable(exc):
            return ApiError(502, f"the upstream Hub {self.endpoint} did not answer for {repo_id}: {exc}")
        if isinstance(exc, HfHubHTTPError):
            return ApiError(502, f"the upstream Hub {self.endpoint} refused {repo_id}@{revision}: {exc}")
        raise exc


_CACHES: dict[Path, UpstreamCache] = {}


def upstream_cache(settings: Settings) -> UpstreamCache:
    """The one cache of a data folder, shared by the pages' app and the door's (one lock per file)."""
    key = settings.data_dir.resolve()
    if key not in _CACHES:
        _CACHES[key] = UpstreamCache(settings)
    return _CACHES[key]
