"""Each space is a bare git repository on disk: every upload is a commit on a branch (`main` unless the
client names another), and a revision is a branch, a tag or a commit sha.

Commits are written with git's plumbing into a private index, so no working tree is ever shared
between uploads; builds get their own checkout of one revision (`checkout`). Branch and tag names come
from clients: `check_ref_name` refuses anything git could read as an option, a path or a revision
expression, and git only ever sees them as full `refs/heads/...` or `refs/tags/...` names.

Longer than most modules on purpose: every git command Podium runs on a repository goes through
`SpaceRepo`, so what git may be told (names, paths, no system or user configuration) is decided here
only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from podium.lfs_store import GRANTS
from podium.pause_points import pause_at

BRANCH = "main"
_COMMITTER = {
    "GIT_AUTHOR_NAME": "podium",
    "GIT_AUTHOR_EMAIL": "podium@localhost",
    "GIT_COMMITTER_NAME": "podium",
    "GIT_COMMITTER_EMAIL": "podium@localhost",
}


# Podium's git reads no system or user configuration: where `git lfs install` ran (Debian's git-lfs
# package runs it system-wide), `git archive` would otherwise run git-lfs's smudge filter on a checkout.
_NO_MACHINE_CONFIG = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


class RevisionNotFound(LookupError):
    pass


class EntryNotFound(LookupError):
    """No file or folder at that path in that revision."""


class BadRefName(ValueError):
    """A branch or tag name Podium refuses, with the reason in words."""


class RefExists(ValueError):
    """A branch or tag that cannot be created because the name is taken."""


MAX_REF_NAME = 200
_REF_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_SHORT_SHA = re.compile(r"[0-9a-f]{4,40}")
_NO_OBJECT = "0" * 40
BRANCHES, TAGS = "refs/heads/", "refs/tags/"


def _ref_name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_REF_NAME:
        return f"it is longer than {MAX_REF_NAME} characters"
    if not _REF_CHARACTERS.fullmatch(name):
        return "use only letters, digits, '.', '_', '-' and '/'"
    if name.startswith("-"):
        return "it starts with '-'"
    if name == "HEAD" or name.startswith("refs/"):
        return "'HEAD' and names under 'refs/' are git's own"
    if _FULL_SHA.fullmatch(name):
        return "it reads as a commit sha"
    if ".." in name:
        return "it contains '..'"
    if any(not part or part.startswith(".") or part.endswith((".", ".lock")) for part in name.split("/")):
        return "a part between '/' is empty, starts or ends with '.', or ends with '.lock'"
    return None


def check_ref_name(name: str, what: str) -> str:
    """`name` if it may name a branch or tag (`what`), else BadRefName saying why."""
    if (problem := _ref_name_problem(name)) is not None:
        raise BadRefName(f"{name[:MAX_REF_NAME]!r} is not a valid {what} name: {problem}")
    return name


def _revision_candidates(revision: str) -> list[str]:
    """What git may look up for a client's revision, best first: a full ref name, a branch, a tag, a
    (short) sha. Anything else (`HEAD~1`, `main@{1}`, `-x`, `:/text`) names nothing."""
    for namespace in (BRANCHES, TAGS):
        if revision.startswith(namespace) and _ref_name_problem(revision.removeprefix(namespace)) is None:
            return [revision]
    candidates = [BRANCHES + revision, TAGS + revision] if _ref_name_problem(revision) is None else []
    return candidates + ([revision] if _SHORT_SHA.fullmatch(revision) else [])


@dataclass(frozen=True)
class GitRef:
    """A branch or tag: its short name, its full ref and the commit it points at (a tag peeled)."""

    name: str
    ref: str
    target: str


@dataclass(frozen=True)
class TreeEntry:
    """One file (`blob`) or folder (`tree`) of a revision; a folder's size is 0."""

    path: str
    kind: str
    oid: str
    size: int

    @property
    def is_folder(self) -> bool:
        return self.kind == "tree"


def _tree_entries(listing: bytes) -> list[TreeEntry]:
    """`git ls-tree -l -z` records as entries (submodules, which spaces never have, left out)."""
    entries = []
    for record in filter(None, listing.decode().split("\0")):
        meta, path = record.split("\t", 1)
        _mode, kind, oid, size = meta.split()
        if kind in ("blob", "tree"):
            entries.append(TreeEntry(path=path, kind=kind, oid=oid, size=0 if kind == "tree" else int(size)))
    return entries


def _hub_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class CommitRecord:
    id: str
    title: str
    message: str
    author: str
    date: str  # ISO 8601 in UTC with milliseconds and a Z, as the Hub writes dates


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
class Change:
    """One operation of a commit: write `content` at `path`, or delete `path` (a file or a folder)."""

    path: str
    content: bytes | None = None
    delete_folder: bool = False


def _author_env(author: str | None) -> dict[str, str] | None:
    """The user a commit is for, as its author (its history shows them, as the Hub's does)."""
    return {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@podium"} if author else None


class SpaceRepo:
    def __init__(self, path: Path):
        self.path = path

    def _git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=stdin,
            capture_output=True,
            # Paths are file names, never pathspec magic: a file named ":0" or "*" means just that file.
            env={**os.environ, **_COMMITTER, **_NO_MACHINE_CONFIG, "GIT_LITERAL_PATHSPECS": "1", **(env or {})},
        )
        if result.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed in {self.path}: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", BRANCH, str(self.path)], check=True)

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _target(self, ref: str) -> str | None:
        """The commit a full ref name (`refs/...`, never an option) points at, or None."""
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip() or None
        except RuntimeError:
            return None

    def head(self, branch: str = BRANCH) -> str | None:
        """The commit `branch` points at; None before its first commit or when there is no such branch."""
        return self._target(BRANCHES + check_ref_name(branch, "branch"))

    def resolve(self, revision: str) -> str:
        """The commit sha a client's revision names: a branch, a tag, `refs/heads/...` or `refs/tags/...`,
        or a full or short sha; a branch wins over a tag of the same name, both over a sha."""
        if candidates := _revision_candidates(revision):
            # Each line is an object name for git, never an option: the candidates are checked names.
            answer = self._git(
                "cat-file", "--batch-check", stdin="".join(f"{name}^{{commit}}\n" for name in candidates).encode()
            )
            for line in answer.decode().splitlines():
                sha, _, kind = line.partition(" ")
                if kind.startswith("commit "):
                    return sha
        raise RevisionNotFound(revision)

    def refs(self) -> tuple[list[GitRef], list[GitRef]]:
        """The branches and the tags, by name; a tag's target is the commit it names, even when annotated."""
        listing = self._git(
            "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", BRANCHES, TAGS
        ).decode()
        branches: list[GitRef] = []
        tags: list[GitRef] = []
        for line in listing.splitlines():
            ref, target, peeled = line.split("\0")
            namespace, kept = (BRANCHES, branches) if ref.startswith(BRANCHES) else (TAGS, tags)
            kept.append(GitRef(name=ref.removeprefix(namespace), ref=ref, target=peeled or target))
        return branches, tags

    def _create_ref(self, ref: str, target: str) -> None:
        try:
            self._git("update-ref", ref, target, _NO_OBJECT)  # the zero id: only if the ref does not exist yet
        except RuntimeError:
            if self._target(ref) is not None:
                raise RefExists(f"Reference {ref} already exists") from None
            raise RefExists(
                f"Reference {ref} clashes with an existing one: a name cannot be both 'a' and 'a/b'"
            ) from None

    def _delete_ref(self, ref: str) -> None:
        if self._target(ref) is None:
            raise RevisionNotFound(ref)
        self._git("update-ref", "-d", ref)

    def create_branch(self, name: str, start: str) -> str:
        """A new branch at the commit `start` names; returns that commit."""
        ref = BRANCHES + check_ref_name(name, "branch")
        target = self.resolve(start)
        self._create_ref(ref, target)
        return target

    def delete_branch(self, name: str) -> None:
        self._delete_ref(BRANCHES + check_ref_name(name, "branch"))

    def create_tag(self, name: str, revision: str, message: str | None = None) -> str:
        """A tag at the commit `revision` names, annotated when there is a message; returns that commit."""
        target = self.resolve(revision)
        ref = TAGS + check_ref_name(name, "tag")
        tagged = target
        if message:
            # A tag object, written by mktag (which checks it); git messages cannot hold NUL bytes.
            tagger = f"podium <podium@localhost> {int(time.time())} +0000"
            body = f"object {target}\ntype commit\ntag {name}\ntagger {tagger}\n\n{message.replace(chr(0), '')}\n"
            tagged = self._git("mktag", stdin=body.encode()).decode().strip()
        self._create_ref(ref, tagged)
        return target

    def delete_tag(self, name: str) -> None:
        self._delete_ref(TAGS + check_ref_name(name, "tag"))

    def entry(self, sha: str, path: str) -> TreeEntry | None:
        """The file or folder at `path` in commit `sha`, or None (also for paths no file can have)."""
        parts = path.split("/")
        if "\0" in path or any(part in ("", ".", "..") for part in parts):
            return None
        found = _tree_entries(self._git("ls-tree", "-l", "-z", sha, "--", path))
        return found[0] if found and found[0].path == path else None

    def tree(self, sha: str, folder: str = "", recursive: bool = False) -> list[TreeEntry]:
        """The entries of `folder` (the root when empty) in commit `sha`, with every one below it when
        `recursive`, folders included, each folder before what it holds. EntryNotFound if no such folder."""
        tree = sha
        if folder:
            found = self.entry(sha, folder)
            if found is None or not found.is_folder:
                raise EntryNotFound(folder)
            tree = found.oid
        listing = self._git("ls-tree", *(["-r", "-t"] if recursive else []), "-l", "-z", tree)
        prefix = f"{folder}/" if folder else ""
        return [TreeEntry(prefix + e.path, e.kind, e.oid, e.size) for e in _tree_entries(listing)]

    def files(self, revision: str) -> list[TreeEntry]:
        """Every file of a revision, folders left out."""
        return [entry for entry in self.tree(self.resolve(revision), recursive=True) if not entry.is_folder]

    def read(self, revision: str, path: str) -> bytes:
        return self._git("cat-file", "blob", f"{self.resolve(revision)}:{path}")

    def blob(self, oid: str) -> bytes:
        return self._git("cat-file", "blob", oid)

    def small_blobs(self, oids: list[str]) -> dict[str, bytes]:
        """The content of several blobs in one git process (for telling LFS pointers from files)."""
        if not oids:
            return {}
        answer = self._git("cat-file", "--batch", stdin="".join(f"{oid}\n" for oid in oids).encode())
        contents, at = {}, 0
        for oid in oids:
            header_end = answer.index(b"\n", at)
            size = int(answer[at:header_end].split()[2])
            contents[oid] = answer[header_end + 1 : header_end + 1 + size]
            at = header_end + 1 + size + 1
        return contents

    def log(
        self, revision: str = BRANCH, limit: int = 50, skip: int = 0, path: str | None = None
    ) -> list[CommitRecord]:
        """Up to `limit` commits reachable from `revision`, newest first, after the first `skip`; only
        those that changed `path` when one is given."""
        listing = self._git(
            "log",
            "-z",
            f"--max-count={limit}",
            f"--skip={skip}",
            "--format=%H%x00%an%x00%ct%x00%s%x00%b",
            self.resolve(revision),
            "--",
            *([path] if path else []),
        ).decode(errors="replace")
        fields = listing.split("\0")
        return [
            CommitRecord(id=sha, author=author, date=_hub_date(int(stamp)), title=title, message=body.strip())
            for sha, author, stamp, title, body in zip(*[iter(fields)] * 5, strict=False)
        ]

    def count(self, revision: str) -> int:
        return int(self._git("rev-list", "--count", self.resolve(revision)))

    def commit(
        self,
        changes: list[Change],
        summary: str,
        description: str = "",
        parent: str | None = None,
        branch: str = BRANCH,
        author: str | None = None,
    ) -> str:
        """Apply `changes` on top of `parent` (default: the branch's head) and move `branch` there; returns
        the sha. Only `main` may be born by a commit: another branch must exist first (create_branch).
        `author` is the user the commit is for (its history shows them, as the Hub's does); Podium commits it.
        """
        parent = parent or self.head(branch)
        if parent is None and branch != BRANCH:
            raise RevisionNotFound(BRANCHES + branch)
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
        sha = self._git("commit-tree", tree, *parents, "-m", message, env=_author_env(author)).decode().strip()
        pause_at("commit.objects-written")  # the commit exists; the branch does not name it yet
        self._git("update-ref", BRANCHES + branch, sha, parent or _NO_OBJECT)
        return sha

    def squash(self, branch: str, message: str, author: str | None = None) -> str:
        """Replace the history of `branch` by one commit of its files as they are (the Hub's super-squash),
        only if nobody moved the branch meanwhile; returns that commit. The old commits stay in the
        repository while a tag or another branch reaches them."""
        head = self.head(branch)
        if head is None:
            raise RevisionNotFound(BRANCHES + branch)
        tree = self._git("rev-parse", f"{head}^{{tree}}").decode().strip()
        sha = self._git("commit-tree", tree, "-m", message, env=_author_env(author)).decode().strip()
        self._git("update-ref", BRANCHES + branch, sha, head)
        return sha

    def copy_to(self, target: Path) -> None:
        """Every branch, tag and commit of this repository in a new bare repository `target` (objects
        hardlinked, as git does for a local clone), with the LFS objects this one may use granted to it too."""
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--quiet", "--mirror", str(self.path), str(target)], check=True, capture_output=True
        )
        # The copy is a repository of its own, not a mirror that remembers where it came from.
        SpaceRepo(target)._git("remote", "remove", "origin")
        if (self.path / GRANTS).is_dir():
            shutil.copytree(self.path / GRANTS, target / GRANTS, dirs_exist_ok=True)

    def checkout(self, revision: str, dest: Path) -> Path:
        """The files of `revision` in `dest` (made once per revision; reused afterwards)."""
        if dest.is_dir():
            return dest
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = self._git("archive", "--format=tar", self.resolve(revision))
        try:
            with tempfile.TemporaryFile() as tar_file:
                tar_file.write(archive)
                tar_file.seek(0)
                with tarfile.open(fileobj=tar_file) as tar:
                    # Debian 12's Python 3.11.2 (Podium's own image) predates extraction filters; git
                    # archive output has no paths outside the tree, so it is safe without one there.
                    tar.extractall(partial, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # a full disk gets its space back at once
            raise
        partial.rename(dest)
        return dest
