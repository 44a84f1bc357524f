"""Per-owner stores of environments: a folder, a uv cache and a build uid for each space owner.

Where Podium can sandbox (root, bubblewrap), each build runs in a build sandbox (build_sandbox.py) as
the build uid of one owner, and every owner has a store of its own (`OwnerStores`): its own folder of
environments and its own uv cache inside it, owned by that uid. Environments are shared between the
spaces of one owner (the 31 examples share one), never between owners, even for the same
requirements: whatever ran in a build could write the environment being built and the cache it was
hardlinked from, and the code that runs includes more than the space's own `./package`. Every sdist
or `git+` requirement runs its build code; and a build that only installs wheels from an index still
takes them from its owner's cache, which that owner's earlier build code could rewrite (a poisoned
`gradio` unpacked in the cache is hardlinked into every later environment made from it). So an
environment is only as trustworthy as its owner's builds; handed to another owner's space it would
run one owner's code in the other's app, with the other's secrets. Separate caches cost a download
and the disk of one environment per owner; one owner's spaces still share theirs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path

from podium_runner.backend import BuildError
from podium_runner.process.environments import EnvironmentStore
from podium_runner.process.sandbox import BUILD_UID_RANGE_SIZE, BUILD_UID_RANGE_START

OWN_CACHE = ".uv-cache"  # in a sandboxed owner's folder, owned by its build uid
CALLER = "caller"  # the folder of builds whose caller named no space (`podium run`, tests)


def owner_folder(space_id: str | None) -> str:
    """The folder name of the builds of a space's owner: readable, and never the same for two owners."""
    if space_id is None:
        return CALLER
    owner = space_id.partition("/")[0]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', owner)[:40]}-{hashlib.sha256(owner.encode()).hexdigest()[:12]}"


class OwnerStores:
    """One `EnvironmentStore` per owner under `root`. Sandboxed, each has its uv cache inside its folder,
    owned by the owner's build uid, which is allotted once, kept as that cache's owner, and never the
    same for two owners; unsandboxed, uv runs as Podium's user and all share `uv_cache`."""

    def __init__(self, root: Path, uv_cache: Path, *, sandboxed: bool, allow_python_downloads: bool = False):
        self.root = root
        self.uv_cache = uv_cache
        self.sandboxed = sandboxed
        self.allow_python_downloads = allow_python_downloads
        self._stores: dict[str, EnvironmentStore] = {}

    def for_space(self, space_id: str | None) -> EnvironmentStore:
        folder = owner_folder(space_id)
        if folder not in self._stores:
            root = self.root / folder
            build_uid = self._build_uid(folder) if self.sandboxed else None
            cache = root / OWN_CACHE if self.sandboxed else self.uv_cache
            self._stores[folder] = EnvironmentStore(
                root, cache, allow_python_downloads=self.allow_python_downloads, build_uid=build_uid
            )
        return self._stores[folder]

    def _build_uid(self, folder: str) -> int:
        """The owner's build uid: its cache's owner, or a free one from the range (under a lock, so two
        Podiums sharing `root` never hand out one uid twice)."""
        self.root.mkdir(parents=True, exist_ok=True)
        cache = self.root / folder / OWN_CACHE
        with open(self.root / ".build-uids.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if cache.is_dir():
                return cache.stat().st_uid
            taken = {c.stat().st_uid for c in self.root.glob(f"*/{OWN_CACHE}")}
            if len(taken) >= BUILD_UID_RANGE_SIZE:
                raise BuildError(f"all {BUILD_UID_RANGE_SIZE} build uids are taken; remove unused owners' folders")
            offset = int(hashlib.sha256(folder.encode()).hexdigest()[:8], 16)
            uid = next(
                BUILD_UID_RANGE_START + (offset + step) % BUILD_UID_RANGE_SIZE
                for step in range(BUILD_UID_RANGE_SIZE)
                if BUILD_UID_RANGE_START + (offset + step) % BUILD_UID_RANGE_SIZE not in taken
            )
            cache.mkdir(parents=True, mode=0o700)
            os.chown(cache, uid, uid)
            return uid
