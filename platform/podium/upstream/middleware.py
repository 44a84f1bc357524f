"""The Hub's read routes for models and datasets Podium does not hold, answered from the upstream cache
(podium.upstream.cache): `model_info`/`dataset_info` (`/api/{type}s/{owner}/{name}[/revision/{rev}]`),
`tree` (`list_repo_tree`, which `from_pretrained` asks for a model's chat templates folder), `paths-info`
(`get_paths_info`, `HfFileSystem.info`, which `datasets` reads through) and `resolve` (`hf_hub_download`,
`from_pretrained`, HEAD and GET, byte ranges). The cache keeps one commit per revision it was asked for, not
the upstream's history: commits and refs of a cached repository are not answered.

It stands in front of the routes: a repository Podium holds (podium.models) is always answered by them,
never by the cache; so is everything when there is no upstream and nothing cached. The first fetch of a
repository needs a token of this Podium (any user's; a space's own counts), so anonymous callers cannot
fill the disk with the upstream's repositories; what is cached then reads like a public repository.
A cached repository's info says so in `podiumCache` (its upstream), which the pages read too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi.responses import FileResponse, JSONResponse, Response
from huggingface_hub.utils.sha import git_hash
from sqlalchemy import select
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.api.deps import require_user
from podium.api.errors import api_error_handler
from podium.context import context_of
from podium.db import HubRepo
from podium.errors import ApiError
from podium.hub.tree import paths_info_request
from podium.lfs_store import LfsPointer
from podium.upstream.cache import Commit, upstream_cache
from podium.upstream.store import CachedFile

_INFO = re.compile(r"/api/(?P<type>model|dataset)s/(?P<owner>[^/]+)/(?P<name>[^/]+)(?:/revision/(?P<rev>[^/]+))?/?")
_TREE = re.compile(
    r"/api/(?P<type>model|dataset)s/(?P<owner>[^/]+)/(?P<name>[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?"
)
_PATHS_INFO = re.compile(r"/api/(?P<type>model|dataset)s/(?P<owner>[^/]+)/(?P<name>[^/]+)/paths-info/(?P<rev>[^/]+)")
_RESOLVE = re.compile(
    r"/(?:(?P<dataset>datasets)/)?(?P<owner>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)"
)
# First segments that are no model's owner: the other repo types' prefixes and the API.
_NOT_OWNERS = frozenset({"spaces", "datasets", "api"})
MAIN = "main"


def cached_info(commit: Commit, endpoint: str | None) -> dict[str, Any]:
    return {**commit.info, "podiumCache": {"upstream": endpoint, "sha": commit.sha}}


def held_here(request: Request, repo_type: str, repo_id: str) -> bool:
    """Whether Podium holds this repository itself (whoever may read it)."""
    owner, _, name = repo_id.partition("/")
    ctx = context_of(request)
    with ctx.db.session() as session:
        query = select(HubRepo.id).where(HubRepo.repo_type == repo_type, HubRepo.owner == owner, HubRepo.name == name)
        return session.scalar(query) is not None


class UpstreamCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _read_route(scope: Scope) -> tuple[str, str, str, str | None, str] | None:
        """(repo_type, repo_id, revision, path or None, which read: info, tree, paths-info or resolve) of a read
        this cache may answer."""
        if scope["type"] != "http":
            return None
        raw = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if scope["method"] == "POST" and (match := _PATHS_INFO.fullmatch(raw)):
            return match["type"], f"{match['owner']}/{match['name']}", unquote(match["rev"]), None, "paths-info"
        if scope["method"] not in ("GET", "HEAD"):
            return None
        if match := _INFO.fullmatch(raw):
            return match["type"], f"{match['owner']}/{match['name']}", unquote(match["rev"] or MAIN), None, "info"
        if match := _TREE.fullmatch(raw):
            folder = unquote(match["path"] or "")
            return match["type"], f"{match['owner']}/{match['name']}", unquote(match["rev"]), folder, "tree"
        match = _RESOLVE.fullmatch(raw)
        if match is None or (match["dataset"] is None and match["owner"] in _NOT_OWNERS):
            return None
        repo_type = "dataset" if match["dataset"] else "model"
        repo_id, revision = f"{match['owner']}/{match['name']}", unquote(match["rev"])
        return repo_type, repo_id, revision, unquote(match["path"]), "resolve"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = self._read_route(scope)
        if wanted is not None:
            request = Request(scope, receive)
            repo_type, repo_id, revision, path, read = wanted
            try:
                cache = upstream_cache(context_of(request).settings)
                if cache.serves(repo_type, repo_id) and not held_here(request, repo_type, repo_id):
                    response = await self._answer(request, repo_type, repo_id, revision, path, read)
                    await response(scope, receive, send)
                    return
            except ApiError as exc:
                await (await api_error_handler(request, exc))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(
        self, request: Request, repo_type: str, repo_id: str, revision: str, path: str | None, read: str
    ) -> Response:
        cache = upstream_cache(context_of(request).settings)
        if not cache.holds(repo_type, repo_id):
            require_user(request)  # a first fetch: only for this Podium's users
        commit = await cache.commit(repo_type, repo_id, revision)
        if read == "info":
            return JSONResponse(cached_info(commit, cache.endpoint))
        if read == "paths-info":
            paths, _ = await paths_info_request(request, repo_id)  # no last commits to expand with
            return JSONResponse(paths_entries(commit.files, paths))
        if read == "tree":
            entries = tree_entries(commit.files, path or "", recursive=request.query_params.get("recursive") == "true")
            if entries is not None:
                return JSONResponse(entries)
        file = commit.files.get((path or "").strip("/")) if read == "resolve" else None
        if file is None:
            what = "folder" if read == "tree" else "file"
            missing = await api_error_handler(
                request,
                ApiError(404, f"{repo_id}: Entry not found: no {what} {path!r} there", code="EntryNotFound"),
            )
            missing.headers["X-Repo-Commit"] = commit.sha
            return missing
        headers = {"ETag": f'"{file.etag}"', "X-Repo-Commit": commit.sha, "Content-Disposition": "attachment"}
        if file.lfs:
            headers |= {"X-Linked-Etag": f'"{file.etag}"', "X-Linked-Size": str(file.size)}
        if request.method == "HEAD":
            return Response(headers=headers | {"Content-Length": str(file.size), "Accept-Ranges": "bytes"})
        content = await cache.file(commit, file)
        return FileResponse(content, headers=headers, media_type="application/octet-stream")


def tree_entries(files: dict[str, CachedFile], folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    """A cached commit's entries under `folder` as the Hub's tree lists them (its folders, then its files, or
    every entry below it when `recursive`); None where `folder` is no folder of the commit. A folder's tree
    id is not kept, so its `oid` is null."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    folders: dict[str, dict[str, Any]] = {}
    found: list[dict[str, Any]] = []
    for path, file in sorted(files.items()):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
            below = prefix + "/".join(parts[:depth])
            folders.setdefault(below, {"type": "directory", "oid": None, "path": below})
        if recursive or len(parts) == 1:
            found.append(_file_entry(file))
    if prefix and not found and not folders:
        return None
    return [*folders.values(), *found]


def paths_entries(files: dict[str, CachedFile], paths: list[str]) -> list[dict[str, Any]]:
    """The entries of a cached commit among `paths`, as `paths-info` answers them; paths that name nothing are
    left out, as on the Hub."""
    found = []
    for path in dict.fromkeys(path.strip("/") for path in paths):
        if path in files:
            found.append(_file_entry(files[path]))
        elif path and any(name.startswith(path + "/") for name in files):
            found.append({"type": "directory", "oid": None, "path": path})
    return found


def _file_entry(file: CachedFile) -> dict[str, Any]:
    if not file.lfs:
        return {"type": "file", "oid": file.etag, "size": file.size, "path": file.path}
    pointer = LfsPointer(file.etag, file.size).text()  # what git holds: its blob id is the entry's oid
    oid = git_hash(pointer)
    lfs = {"oid": file.etag, "size": file.size, "pointerSize": len(pointer)}
    return {"type": "file", "oid": oid, "size": file.size, "path": file.path, "lfs": lfs}
