"""Each space is a bare git repository on disk: every upload is a commit, a revision is a commit sha.

Commits are written with git's plumbing into a private index, so no working tree is ever shared
between uploads; builds get their own checkout of one revision (`checkout`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

BRANCH = "main"
_COMMITTER = {
    "GIT_AUTHOR_NAME": "podium",
    "GIT_AUTHOR_EMAIL": "podium@localhost",
    "GIT_COMMITTER_NAME": "podium",
    "GIT_COMMITTER_EMAIL": "podium@localhost",
}


class RevisionNotFound(LookupError):
    pass


class PathConflict(ValueError):
    """A commit would make one path both a file and a folder, which a git tree cannot hold."""


def _parents(path: str) -> list[str]:
    return [path.rsplit("/", depth)[0] for depth in range(1, path.count("/") + 1)]


class _TreeShape:
    """The files and folders of the tree a commit builds, to refuse a path that is both before git does."""

    def __init__(self, files: set[str]):
        self.files = files
        self._folders: set[str] | None = None  # made when first needed, again after a removal

    def add(self, path: str) -> None:
        if path in self.files:
            return
        if self._folders is None:
            self._folders = {parent for file in self.files for parent in _parents(file)}
        if path in self._folders:
            raise PathConflict(f"{path!r} is a folder in the space; delete the folder first or choose another name")
        if clash := next((parent for parent in _parents(path) if parent in self.files), None):
            raise PathConflict(
                f"{path!r} would be inside {clash!r}, which is a file; delete it first or choose another name"
            )
        self.files.add(path)
        self._folders.update(_parents(path))

    def remove(self, paths: list[str]) -> None:
        self.files.difference_update(paths)
        self._folders = None


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    blob: str


@dataclass(frozen=True)
class Change:
    """One operation of a commit: write `content` at `path`, or delete `path` (a file or a folder)."""

    path: str
    content: bytes | None = None
    delete_folder: bool = False


class SpaceRepo:
    def __init__(self, path: Path):
        self.path = path

    def _git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=stdin,
            capture_output=True,
            # Paths are file names, never pathspec magic: a file named ":0" or "*" means just that file.
            env={**os.environ, **_COMMITTER, "GIT_LITERAL_PATHSPECS": "1", **(env or {})},
        )
        if result.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed in {self.path}: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", BRANCH, str(self.path)], check=True)

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def head(self) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}").decode().strip() or None
        except RuntimeError:
            return None

    def resolve(self, revision: str) -> str:
        """The commit sha a revision (branch name or sha) names."""
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
        except RuntimeError:
            raise RevisionNotFound(revision) from None

    def files(self, revision: str) -> list[FileEntry]:
        sha = self.resolve(revision)
        out = self._git("ls-tree", "-r", "-l", "-z", sha).decode()
        entries = []
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            _mode, _kind, blob, size = meta.split()
            entries.append(FileEntry(path=path, size=int(size), blob=blob))
        return entries

    def read(self, revision: str, path: str) -> bytes:
        return self._git("cat-file", "blob", f"{self.resolve(revision)}:{path}")

    def log(self, revision: str = BRANCH, limit: int = 50) -> list[dict[str, str]]:
        out = self._git("log", f"-{limit}", "--format=%H%x00%cI%x00%s", self.resolve(revision)).decode()
        return [dict(zip(("id", "date", "title"), line.split("\0"), strict=True)) for line in out.splitlines()]

    def commit(self, changes: list[Change], summary: str, description: str = "", parent: str | None = None) -> str:
        """Apply `changes` on top of `parent` (default: the head) and move the branch; returns the sha."""
        parent = parent or self.head()
        with tempfile.TemporaryDirectory() as tmp:
            # A private index, and an empty work tree that index commands require but never touch.
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": tmp}
            if parent:
                self._git("read-tree", parent, env=env)
            else:
                self._git("read-tree", "--empty", env=env)
            shape = _TreeShape(set(filter(None, self._git("ls-files", "-z", env=env).decode().split("\0"))))
            for change in changes:
                if change.content is not None:
                    shape.add(change.path)
                    blob = self._git("hash-object", "-w", "--stdin", stdin=change.content).decode().strip()
                    self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{change.path}", env=env)
                    continue
                prefix = change.path.rstrip("/") + ("/" if change.delete_folder else "")
                listed = self._git("ls-files", "-z", "--", prefix, env=env).decode().split("\0")
                doomed = [p for p in listed if p and (p == change.path or change.delete_folder)]
                shape.remove(doomed)
                if doomed:
                    self._git(
                        "update-index",
                        "--force-remove",
                        "-z",
                        "--stdin",
                        stdin="\0".join(doomed).encode(),
                        env=env,
                    )
            tree = self._git("write-tree", env=env).decode().strip()
        message = summary + (f"\n\n{description}" if description else "")
        parents = ["-p", parent] if parent else []
        sha = self._git("commit-tree", tree, *parents, "-m", message).decode().strip()
        self._git("update-ref", f"refs/heads/{BRANCH}", sha, *([parent] if parent else []))
        return sha

    def checkout(self, revision: str, dest: Path) -> Path:
        """The files of `revision` in `dest` (made once per revision; reused afterwards)."""
        if dest.is_dir():
            return dest
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = self._git("archive", "--format=tar", self.resolve(revision))
        with tempfile.TemporaryFile() as tar_file:
            tar_file.write(archive)
            tar_file.seek(0)
            with tarfile.open(fileobj=tar_file) as tar:
                # Debian 12's Python 3.11.2 (Podium's own image) predates extraction filters; git
                # archive output has no paths outside the tree, so it is safe without one there.
                tar.extractall(partial, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        partial.rename(dest)
        return dest
