"""Which files a space keeps in Git LFS, by the Hub's rule: files larger than 10 MiB, and files the
space's `.gitattributes` sends to LFS (`filter=lfs`, as the Hub's default attributes do for `*.bin`,
`*.safetensors`, ...). git holds a pointer for them, the object store the content (podium.lfs_store).

Files sent inline by the commit API or an upload follow the rule too: Podium stores them as LFS
itself. (The preupload answer sends ahead only the files `.gitattributes` tracks, through Xet or the
LFS batch API; a large file it does not track comes inline, and its line in `.gitattributes` is added
here, as the Hub adds one.)
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from podium import lfs_store
from podium.lfs_store import LfsPointer, LfsStore
from podium.repos import Change
from podium.settings import MiB

LFS_THRESHOLD = 10 * MiB
GITATTRIBUTES = ".gitattributes"
# A path a .gitattributes line names as it is: no glob characters, spaces or quotes to escape.
_LITERAL_PATTERN = re.compile(r"[A-Za-z0-9._/+=@,-]+")


def tracked_paths(repo: Path, revision: str | None, paths: list[str]) -> set[str]:
    """Those of `paths` that the `.gitattributes` of `revision` (a commit sha) send to LFS, as git
    itself reads the patterns (`git check-attr` on the revision's tree, in a private index)."""
    if revision is None or not paths:
        return set()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        git = ["git", "--git-dir", str(repo)]
        subprocess.run([*git, "read-tree", revision], env=env, check=True, capture_output=True)
        listing = subprocess.run(
            [*git, "check-attr", "--cached", "-z", "--stdin", "filter"],
            input="\0".join(paths).encode(),
            env=env,
            check=True,
            capture_output=True,
        ).stdout.decode(errors="surrogateescape")
    fields = listing.split("\0")
    return {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "lfs"}


def _attributes(repo: Path, head: str | None, changes: list[Change]) -> bytes:
    """The `.gitattributes` the commit leaves: its own when it writes one, else the head's."""
    for change in changes:
        if change.path == GITATTRIBUTES and change.content is not None:
            return change.content
    if head is None:
        return b""
    found = subprocess.run(
        ["git", "--git-dir", str(repo), "cat-file", "blob", f"{head}:{GITATTRIBUTES}"],
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull},
        capture_output=True,
    )
    return found.stdout if found.returncode == 0 else b""


def in_lfs(changes: list[Change], store: LfsStore, repo: Path, head: str | None) -> list[Change]:
    """`changes` with every file the Hub's rule keeps in LFS stored in `store` and written as its
    pointer, which the space may then follow (`lfs_store.grant`). A large file no pattern tracks gets
    its own line in `.gitattributes`, as the Hub adds one, so git-lfs clients fetch its content too;
    one whose path a pattern cannot spell literally stays an ordinary file."""
    written = [change for change in changes if change.content is not None and change.path != GITATTRIBUTES]
    tracked = tracked_paths(repo, head, [change.path for change in written])
    converted, newly_tracked = [], []
    for change in changes:
        content = change.content
        if not content or change.path == GITATTRIBUTES or lfs_store.parse_pointer(content) is not None:
            converted.append(change)
            continue
        if change.path not in tracked:
            if len(content) <= LFS_THRESHOLD or not _LITERAL_PATTERN.fullmatch(change.path):
                converted.append(change)
                continue
            newly_tracked.append(change.path)
        pointer = LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
        if not store.has(pointer.oid, pointer.size):
            store.store_bytes(pointer.oid, content)
        lfs_store.grant(repo, pointer.oid)
        converted.append(Change(change.path, pointer.text()))
    if newly_tracked:
        attributes = _attributes(repo, head, changes)
        lines = "".join(f"{path} filter=lfs diff=lfs merge=lfs -text\n" for path in newly_tracked)
        attributes += (b"" if not attributes or attributes.endswith(b"\n") else b"\n") + lines.encode()
        converted = [change for change in converted if change.path != GITATTRIBUTES]
        converted.append(Change(GITATTRIBUTES, attributes))
    return converted
