"""Podium's pre-receive hook: a push follows the rules an upload follows, or nothing of it lands.

git runs this (`python -m podium.git_http.pre_receive`, see podium.git_http.backend) after the pack
arrived, with the pushed objects still in quarantine and before any ref moves. It reads the ref
updates on stdin; what it writes to stderr reaches `git push` as `remote: ...` lines, and a non-zero
exit refuses the whole push. It refuses:
- refs other than branches and tags (and names the Hub API could not address), and deleting `main`;
- a path an upload may not have (podium.uploads.safe_path: `..`, `.git`, control characters, ...),
  anything but regular files (symbolic links, submodules), a file over max_file_size;
- an LFS pointer to an object that is not in Podium's store or that this space never uploaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from podium import lfs_store
from podium.repos import BRANCHES, TAGS, BadRefName, check_ref_name
from podium.uploads import UploadRejected, human_size, safe_path

ZERO = "0" * 40
MAIN = "refs/heads/main"
FILE_MODES = ("100644", "100755")


class PushRefused(Exception):
    pass


def _git(*args: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["git", *args], input=stdin, capture_output=True)
    if result.returncode != 0:
        raise PushRefused(f"Podium could not read the push (git {args[0]}): {result.stderr.decode(errors='replace')}")
    return result.stdout


def check_ref(ref: str, new: str) -> None:
    """Only branches and tags whose names the Hub API can address too (podium.repos.check_ref_name)."""
    kind = "branch" if ref.startswith(BRANCHES) else "tag" if ref.startswith(TAGS) else None
    if kind is None:
        raise PushRefused(f"{ref}: a space holds branches and tags only; push to refs/heads/... or refs/tags/...")
    if ref == MAIN and new == ZERO:
        raise PushRefused("main cannot be deleted: it is the revision the space runs")
    try:
        check_ref_name(ref.removeprefix(BRANCHES if kind == "branch" else TAGS), kind)
    except BadRefName as exc:
        raise PushRefused(str(exc)) from None


class Checker:
    """The checks of one push, each object read once however many commits share it."""

    def __init__(self, repo: Path, data_folder: Path, max_file_size: int):
        self.repo, self.data_folder, self.max_file_size = repo, data_folder, max_file_size
        self.checked_trees: set[str] = set()
        self.checked_blobs: set[str] = set()

    def check_update(self, new: str) -> None:
        """Every commit `new` brings that the repository lacks: its tree's paths, files and pointers."""
        trees = _git("log", "--format=%T", new, "--not", "--all").decode().split()  # each new commit's tree
        for tree in trees:
            if tree not in self.checked_trees:
                self.check_tree(tree)
                self.checked_trees.add(tree)

    def check_tree(self, tree: str) -> None:
        listing = _git("ls-tree", "-r", "-t", "-l", "-z", "--full-tree", tree).decode(errors="surrogateescape")
        small_blobs: dict[str, str] = {}
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, blob, size = meta.split()
            self.check_path(path)
            if kind == "tree":
                continue
            if mode not in FILE_MODES:
                what = "a symbolic link" if mode == "120000" else "a submodule" if kind == "commit" else f"mode {mode}"
                raise PushRefused(f"{path!r} is {what}; a space holds regular files only")
            if int(size) > self.max_file_size:
                raise PushRefused(
                    f"{path!r} is {human_size(int(size))}, larger than the limit max_file_size = "
                    f"{human_size(self.max_file_size)} (PODIUM_LIMITS__MAX_FILE_SIZE); track it with git lfs "
                    "or make it smaller"
                )
            if int(size) < lfs_store.MAX_POINTER_SIZE and blob not in self.checked_blobs:
                small_blobs[blob] = path
        self.check_pointers(small_blobs)

    def check_path(self, path: str) -> None:
        try:
            if safe_path(path) != path:
                raise UploadRejected(400, f"the path {path!r} is not in its plain form")
        except UploadRejected as exc:
            raise PushRefused(f"{exc}") from None

    def check_pointers(self, blobs: dict[str, str]) -> None:
        """Every LFS pointer among `blobs` (blob id: path) names an object this space uploaded."""
        if not blobs:
            return
        self.checked_blobs.update(blobs)
        out = _git("cat-file", "--batch", stdin="".join(f"{blob}\n" for blob in blobs).encode())
        offset = 0
        for path in blobs.values():
            header_end = out.index(b"\n", offset)
            size = int(out[offset:header_end].split()[2])
            content = out[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
            pointer = lfs_store.parse_pointer(content)
            if pointer is None:
                continue
            stored = lfs_store.object_path(self.data_folder, pointer.oid)
            if not lfs_store.granted(self.repo, pointer.oid) or not stored.is_file():
                raise PushRefused(
                    f"{path!r} is an LFS pointer to {pointer.oid}, which this space has not uploaded: "
                    "push the object first (git lfs push, which git push runs when git-lfs is installed)"
                )
            if stored.stat().st_size != pointer.size:
                raise PushRefused(
                    f"{path!r} is an LFS pointer saying {pointer.size} bytes, but object {pointer.oid} "
                    f"has {stored.stat().st_size}"
                )


def main() -> int:
    repo = Path(os.environ.get("GIT_DIR", ".")).resolve()
    checker = Checker(repo, Path(os.environ["PODIUM_HOOK_DATA_DIR"]), int(os.environ["PODIUM_HOOK_MAX_FILE_SIZE"]))
    try:
        for line in sys.stdin.read().splitlines():
            _old, new, ref = line.split(" ", 2)
            check_ref(ref, new)
            if new != ZERO:
                checker.check_update(new)
    except PushRefused as exc:
        print(f"Podium refused this push: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
