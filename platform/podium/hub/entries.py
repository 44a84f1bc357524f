"""A revision's files and folders in the Hub's JSON shapes (tree, paths-info, siblings), files kept in
Git LFS described by their content (its sha256 and size) rather than by their pointer."""

from __future__ import annotations

from typing import Any

from podium.hub.access import HubRepo
from podium.lfs_store import MAX_POINTER_SIZE, LfsPointer, granted, object_path, parse_pointer
from podium.repos import CommitRecord, TreeEntry


def followed_pointer(repo: HubRepo, blob: bytes) -> LfsPointer | None:
    """The LFS object a blob stands for, when it is a pointer the repository may follow and the store
    holds that object; else None, and the blob is an ordinary file (as `lfs_store.smudge` treats it)."""
    pointer = parse_pointer(blob)
    if pointer is None or not granted(repo.git.path, pointer.oid):
        return None
    try:
        stored = object_path(repo.data_dir, pointer.oid).stat().st_size
    except FileNotFoundError:
        return None
    return pointer if stored == pointer.size else None


def pointers_of(repo: HubRepo, entries: list[TreeEntry]) -> dict[str, LfsPointer]:
    """The LFS objects among `entries`, by path (blocking: reads the small blobs in one git process)."""
    small = [entry for entry in entries if not entry.is_folder and entry.size < MAX_POINTER_SIZE]
    blobs = repo.git.small_blobs(sorted({entry.oid for entry in small}))
    pointers = {entry.path: followed_pointer(repo, blobs[entry.oid]) for entry in small}
    return {path: pointer for path, pointer in pointers.items() if pointer is not None}


def last_commits(repo: HubRepo, sha: str, entries: list[TreeEntry]) -> dict[str, CommitRecord]:
    """The last commit that changed each entry, by path (blocking: one git log per entry, so callers
    page these by the Hub's 50 expanded entries)."""
    found = {entry.path: repo.git.log(sha, limit=1, path=entry.path) for entry in entries}
    return {path: commits[0] for path, commits in found.items() if commits}


def entry_json(
    entry: TreeEntry, pointer: LfsPointer | None = None, last_commit: CommitRecord | None = None
) -> dict[str, Any]:
    """One entry as `tree` and `paths-info` answer it (huggingface_hub's RepoFile / RepoFolder)."""
    if entry.is_folder:
        data: dict[str, Any] = {"type": "directory", "oid": entry.oid, "size": 0, "path": entry.path}
    else:
        data = {"type": "file", "oid": entry.oid, "size": pointer.size if pointer else entry.size, "path": entry.path}
        if pointer is not None:
            data["lfs"] = {"oid": pointer.oid, "size": pointer.size, "pointerSize": entry.size}
    if last_commit is not None:
        data["lastCommit"] = {"id": last_commit.id, "title": last_commit.title, "date": last_commit.date}
    return data


async def entries_json(repo: HubRepo, sha: str, entries: list[TreeEntry], expand: bool) -> list[dict[str, Any]]:
    pointers = await repo.run(pointers_of, repo, entries)
    commits = await repo.run(last_commits, repo, sha, entries) if expand else {}
    return [entry_json(entry, pointers.get(entry.path), commits.get(entry.path)) for entry in entries]


async def siblings_json(repo: HubRepo, sha: str, blobs: bool) -> list[dict[str, Any]]:
    """A revision's files as `model_info`/`space_info` list them: names only, and with `blobs`
    (`files_metadata=True`) their size, blob id and LFS object, as on the Hub."""
    files = [entry for entry in await repo.run(repo.git.tree, sha, "", True) if not entry.is_folder]
    if not blobs:
        return [{"rfilename": entry.path} for entry in files]
    pointers = await repo.run(pointers_of, repo, files)
    siblings = []
    for entry in files:
        sibling: dict[str, Any] = {"rfilename": entry.path, "size": entry.size, "blobId": entry.oid}
        if (pointer := pointers.get(entry.path)) is not None:
            sibling["size"] = pointer.size
            sibling["lfs"] = {"sha256": pointer.oid, "size": pointer.size, "pointerSize": entry.size}
        siblings.append(sibling)
    return siblings
