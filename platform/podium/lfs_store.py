"""Large files (Git LFS): git holds a small pointer, the content lives in Podium's object store.

Objects are kept as git-lfs keeps them in a clone, `<data folder>/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`,
one store for every space: an object is named by the sha256 of its content, so two spaces holding the
same file hold one copy. A space may point to an object only once it proved it has the content (it
uploaded it, see `grant`): knowing an object's sha256 is not enough to read another space's file.
An object is never trusted from its name: it is written to a temporary file while its sha256 is
computed, and only moved into place once that hash and its size are what the uploader declared.

A pointer is git-lfs's text file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md):

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 hex digits>
    size <bytes>
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.settings import Settings

SPEC_VERSION = "https://git-lfs.github.com/spec/v1"
# git-lfs never reads a blob of this size or more as a pointer (its `blobSizeCutoff`).
MAX_POINTER_SIZE = 1024
_OID = re.compile(r"^[0-9a-f]{64}$")
_POINTER = re.compile(
    rb"^version " + re.escape(SPEC_VERSION.encode()) + rb"\n"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\n"
    rb"size (?P<size>0|[1-9][0-9]{0,18})\n$"
)


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # the sha256 of the content, 64 lower-case hex digits
    size: int

    def text(self) -> bytes:
        """The pointer file git holds in place of the content, byte for byte as git-lfs writes it."""
        return f"version {SPEC_VERSION}\noid sha256:{self.oid}\nsize {self.size}\n".encode()


def parse_pointer(blob: bytes) -> LfsPointer | None:
    """The pointer a blob is, or None when it is ordinary content.

    Strict: exactly the three lines git-lfs writes, in its order, with `\\n` endings. Pointers with
    extensions (`ext-0-...` lines) are not taken as pointers, so their text is served as it is."""
    if len(blob) >= MAX_POINTER_SIZE:
        return None
    match = _POINTER.match(blob)
    if match is None:
        return None
    return LfsPointer(oid=match["oid"].decode(), size=int(match["size"]))


def check_oid(oid: str) -> str:
    """`oid` when it is a sha256 in lower-case hex, else ValueError: it becomes a path below."""
    if not isinstance(oid, str) or not _OID.match(oid):
        raise ValueError(f"{oid!r} is not an LFS object id: it must be a sha256, 64 lower-case hex digits")
    return oid


def objects_dir(data_folder: Path) -> Path:
    return data_folder / "lfs" / "objects"


def object_path(data_folder: Path, oid: str) -> Path:
    """Where the object `oid` is (or would be) stored; ValueError for anything but a sha256."""
    check_oid(oid)
    return objects_dir(data_folder) / oid[0:2] / oid[2:4] / oid


@functools.lru_cache(maxsize=4096)
def _content_blob_id(path: Path, size: int) -> str:
    """Objects never change under their sha256, so each is hashed once per process."""
    digest = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    with path.open("rb") as content:
        while chunk := content.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class ObjectRejected(Exception):
    """An upload that is not the object it claims to be, or is too large; the message says which."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class LfsStore:
    """The object store of one data folder, with the largest object it accepts."""

    def __init__(self, data_folder: Path, max_object_size: int):
        self.data_folder = data_folder
        self.max_object_size = max_object_size

    @classmethod
    def of(cls, settings: Settings) -> LfsStore:
        """The store of a running Podium: its data folder, objects up to max_file_size."""
        return cls(settings.data_dir, settings.limits.max_file_size)

    def path(self, oid: str) -> Path:
        return object_path(self.data_folder, oid)

    def has(self, oid: str, size: int | None = None) -> bool:
        """Whether the object is stored (with `size` bytes, when given)."""
        try:
            stored = self.path(oid).stat().st_size
        except (ValueError, FileNotFoundError):
            return False
        return size is None or stored == size

    def content_blob_id(self, pointer: LfsPointer) -> str | None:
        """The git blob id the object's content would have as a plain file, which huggingface_hub compares
        with its local file to skip an unchanged one; None when the object is not stored."""
        if not self.has(pointer.oid, pointer.size):
            return None
        return _content_blob_id(self.path(pointer.oid), pointer.size)

    def check(self, oid: object, size: object) -> None:
        """ObjectRejected saying why an object with this id and size cannot be stored, if it cannot."""
        try:
            check_oid(oid)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ObjectRejected(422, str(exc)) from None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ObjectRejected(422, f"the size of {oid} must be a whole number of bytes, not {size!r}")
        if size > self.max_object_size:
            raise ObjectRejected(
                413,
                f"{oid} is {size} bytes, larger than the limit max_file_size = {self.max_object_size} bytes "
                "(PODIUM_LIMITS__MAX_FILE_SIZE); make the file smaller or raise the limit",
            )

    @contextlib.contextmanager
    def _incoming(self, oid: str, size: int) -> Iterator[_Incoming]:
        """A temporary file for the object, moved into place by `_Incoming.finish`, else removed."""
        self.check(oid, size)
        incoming = self.data_folder / "lfs" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        temporary = incoming / f"{oid}.{secrets.token_hex(8)}"
        try:
            with open(temporary, "xb") as file:
                yield _Incoming(self, oid, size, file, temporary)
        finally:
            temporary.unlink(missing_ok=True)

    async def store(self, oid: str, size: int, chunks: AsyncIterable[bytes]) -> None:
        """Store the object whose content `chunks` are; ObjectRejected (nothing stored) when the
        content is not `size` bytes hashing to `oid`, or `size` is over the limit."""
        with self._incoming(oid, size) as incoming:
            async for chunk in chunks:
                incoming.write(chunk)
            incoming.finish()

    def store_bytes(self, oid: str, content: bytes) -> None:
        """`store` for content already in memory."""
        self.store_chunks(oid, len(content), [content])

    def store_chunks(self, oid: str, size: int, chunks: Iterable[bytes]) -> None:
        """`store` for content made as it is written (blocking)."""
        with self._incoming(oid, size) as incoming:
            for chunk in chunks:
                incoming.write(chunk)
            incoming.finish()


class _Incoming:
    """An object being written: counted and hashed as it comes, refused as soon as it is too long."""

    def __init__(self, store: LfsStore, oid: str, size: int, file, temporary: Path):
        self.store, self.oid, self.size = store, oid, size
        self.file, self.temporary = file, temporary
        self.hash = hashlib.sha256()
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self.size:
            raise ObjectRejected(400, f"the upload of {self.oid} is longer than its declared size of {self.size} bytes")
        self.hash.update(chunk)
        self.file.write(chunk)

    def finish(self) -> None:
        if self.written != self.size:
            raise ObjectRejected(
                400, f"the upload of {self.oid} is {self.written} bytes, not its declared size of {self.size}"
            )
        if (actual := self.hash.hexdigest()) != self.oid:
            raise ObjectRejected(
                400, f"the uploaded content hashes to sha256 {actual}, not to the object id {self.oid} it was sent as"
            )
        self.file.flush()
        os.fsync(self.file.fileno())
        final = self.store.path(self.oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temporary, final)  # two uploads of one object write the same bytes


# In a space's bare repository, one empty file per object the space may point to. git ignores the
# folder, and it moves with the repository.
GRANTS = "podium-lfs-objects"


def grant(repo: Path, oid: str) -> None:
    """Let the space whose repository is `repo` point to `oid`: it uploaded the content itself."""
    marker = repo / GRANTS / check_oid(oid)
    marker.parent.mkdir(exist_ok=True)
    marker.touch()


def granted(repo: Path, oid: str) -> bool:
    """Whether the space whose repository is `repo` may point to `oid` (and read its content)."""
    try:
        return (repo / GRANTS / check_oid(oid)).is_file()
    except ValueError:
        return False


def smudge(folder: Path, data_folder: Path, repo: Path) -> None:
    """Replace every LFS pointer in a checked-out `folder` with its object's content, so a build sees
    the real files. A pointer the space may not follow (`granted`) or whose object the store lacks
    stays as it is: commits and pushes refuse those, so only a pointer committed as text is one."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.is_symlink() or path.stat().st_size >= MAX_POINTER_SIZE:
                continue
            pointer = parse_pointer(path.read_bytes())
            if pointer is None:
                continue
            stored = object_path(data_folder, pointer.oid)
            if not granted(repo, pointer.oid) or not stored.is_file() or stored.stat().st_size != pointer.size:
                continue
            replacement = path.with_name(f".{name}.lfs-{secrets.token_hex(4)}")
            with open(stored, "rb") as source, open(replacement, "xb") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
            os.chmod(replacement, path.stat().st_mode & 0o777)
            os.replace(replacement, path)
