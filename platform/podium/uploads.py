"""What users upload, checked before it reaches a repository: safe paths, size limits, safe archives.

Every rejection is an `UploadRejected` carrying the HTTP status and a message that says which file,
what is wrong and what to do; a limit that was hit is named with its setting.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from podium.repos import Change
from podium.settings import Limits, MiB


class UploadRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# What a file system and git accept in one name and in a whole path; longer names fail at checkout.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024


def _is_git_folder(part: str) -> bool:
    """`.git` as git itself refuses it, in any case and with what Windows and macOS file systems ignore."""
    return part.lower().rstrip(". ") in (".git", "git~1")


def safe_path(path: str) -> str:
    """A repository path (normalised: `a//b` and `./a` become `b` and `a`), or `UploadRejected` when it
    names no file, could escape the space, reach git's own folder, or carry what a terminal, git's
    index or a file system would read differently (control characters, invalid UTF-8, huge names)."""
    shown = repr(path[:80]) + ("..." if len(path) > 80 else "")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise UploadRejected(400, f"the path {shown} is not valid UTF-8; rename the file") from None
    if not path or any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in path):
        raise UploadRejected(400, f"the path {shown} is empty or contains control characters; rename the file")
    if "\\" in path:
        raise UploadRejected(400, f"the path {shown} contains a backslash; use / between folders")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise UploadRejected(
            400,
            f"the path {shown} is absolute or climbs out with '..'; use a path "
            f"relative to the space folder, such as app.py or src/util.py",
        )
    if not pure.parts:
        raise UploadRejected(400, f"the path {shown} names no file; use a path such as app.py")
    if any(_is_git_folder(part) for part in pure.parts):
        raise UploadRejected(400, f"the path {shown} is inside a .git folder, which git itself refuses")
    if len(encoded) > MAX_PATH_BYTES or any(len(part.encode()) > MAX_NAME_BYTES for part in pure.parts):
        raise UploadRejected(
            400,
            f"the path {shown} is too long: at most {MAX_NAME_BYTES} bytes a name and {MAX_PATH_BYTES} bytes in all",
        )
    return str(pure)


def human_size(size: int) -> str:
    return f"{size / MiB:.0f} MiB" if size >= MiB else f"{size / 1024:.0f} KiB"


def too_large(what: str, limit_name: str, limit: int) -> UploadRejected:
    """A 413 that names the limit that was hit and the setting that raises it."""
    return UploadRejected(
        413,
        f"{what} is larger than the limit {limit_name} = {human_size(limit)} "
        f"(PODIUM_LIMITS__{limit_name.upper()}); make it smaller or raise the limit",
    )


def checked_file(path: str, content: bytes, limits: Limits) -> Change:
    path = safe_path(path)
    if len(content) > limits.max_file_size:
        raise too_large(f"the file {path!r}", "max_file_size", limits.max_file_size)
    return Change(path=path, content=content)


def is_archive(filename: str) -> bool:
    return filename.endswith((".zip", ".tar.gz", ".tgz"))


def archive_changes(filename: str, data: bytes, limits: Limits) -> list[Change]:
    """The files of a `.zip` or `.tar.gz`, after refusing links, unsafe paths and bombs.

    Sizes are counted while reading, not trusted from headers, so a lying header cannot slip past.
    A single top folder holding everything (`myspace/app.py`) is removed, as users zip a folder."""
    entries = list(_zip_entries(data, limits) if filename.endswith(".zip") else _tar_entries(data, limits))
    return [checked_file(path, content, limits) for path, content in without_top_folder(entries)]


def without_top_folder(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """(path, content) pairs inside one top folder (`myspace/app.py`), without it; others as they are.
    The space's files are what is inside the folder a user zipped or chose."""
    tops = {PurePosixPath(path).parts[0] for path, _ in entries}
    if len(tops) == 1 and all(len(PurePosixPath(path).parts) > 1 for path, _ in entries):
        return [(str(PurePosixPath(*PurePosixPath(path).parts[1:])), content) for path, content in entries]
    return entries


READ_BYTES = 64 * 1024  # a file in an archive is read this much at a time


class _Budget:
    def __init__(self, filename: str, limits: Limits):
        self.filename, self.limits = filename, limits
        self.entries = 0
        self.expanded = 0

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_archive_entries:
            raise UploadRejected(
                413,
                f"{self.filename} has more than {self.limits.max_archive_entries} entries "
                f"(limit max_archive_entries, PODIUM_LIMITS__MAX_ARCHIVE_ENTRIES)",
            )

    def expand(self, size: int) -> None:
        self.expanded += size
        if self.expanded > self.limits.max_archive_expansion:
            raise too_large(
                f"{self.filename} once unpacked", "max_archive_expansion", self.limits.max_archive_expansion
            )

    def read(self, name: str, stream: BinaryIO, *, expands: bool = True) -> bytes:
        """A file's content; `expands=False` where the archive's stream counts every byte itself."""
        chunks = []
        size = 0
        while chunk := stream.read(READ_BYTES):
            size += len(chunk)
            if expands:
                self.expand(len(chunk))
            if size > self.limits.max_file_size:
                raise too_large(f"{name!r} in {self.filename}", "max_file_size", self.limits.max_file_size)
            chunks.append(chunk)
        return b"".join(chunks)


def _zip_entries(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    budget = _Budget("the zip archive", limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UploadRejected(400, f"the upload is not a readable zip archive ({exc})") from None
    with archive:
        for info in archive.infolist():
            budget.count_entry()
            safe_path(info.filename.rstrip("/") or info.filename)
            if info.is_dir():
                continue
            # Unix mode bits live in the high half of external_attr; 0o12 is a symlink.
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UploadRejected(
                    400,
                    f"{info.filename!r} in the zip archive is a symbolic link; Podium accepts regular files only",
                )
            with archive.open(info) as stream:
                yield info.filename, budget.read(info.filename, stream)


class _UnpackedTar:
    """The unpacked bytes of a tar as `tarfile` reads them, headers included, each counted against
    `max_archive_expansion`. Headers that say how long they are (a GNU long name, pax records) cannot
    make `tarfile` read more than `READ_BYTES` at once: 65 KB of such headers, gzipped, made it hold
    80 MB before, and none of it counted."""

    def __init__(self, data: bytes, budget: _Budget):
        self.stream: BinaryIO = gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
        self.budget = budget

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > READ_BYTES:
            raise UploadRejected(
                413,
                f"{self.budget.filename} has a header (a long name or pax records) larger than "
                f"{READ_BYTES // 1024} KiB, which no real file needs",
            )
        data = self.stream.read(size)
        self.budget.expand(len(data))
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        assert whence == io.SEEK_SET  # tarfile seeks to offsets it read
        self.budget.expand(max(0, offset - self.stream.tell()))  # skipped bytes are unpacked too
        return self.stream.seek(offset)

    def tell(self) -> int:
        return self.stream.tell()


def _tar_entries(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    budget = _Budget("the tar.gz archive", limits)
    with _unreadable_tar_refused():
        archive = tarfile.open(fileobj=_UnpackedTar(data, budget), mode="r:")  # type: ignore[call-overload]
    with archive, _unreadable_tar_refused():
        while (member := archive.next()) is not None:
            archive.members.clear()  # tarfile keeps every member it read, pax records included
            budget.count_entry()
            name = member.name.removeprefix("./")
            if member.isdir() or name in ("", "."):
                continue
            safe_path(name)
            if member.issym() or member.islnk():
                raise UploadRejected(
                    400,
                    f"{member.name!r} in the tar.gz archive is a "
                    f"{'symbolic' if member.issym() else 'hard'} link; "
                    f"Podium accepts regular files only",
                )
            if not member.isfile():
                raise UploadRejected(400, f"{member.name!r} in the tar.gz archive is not a regular file")
            stream = archive.extractfile(member)
            assert stream is not None  # regular files always have a stream
            yield name, budget.read(name, stream, expands=False)


@contextlib.contextmanager
def _unreadable_tar_refused() -> Iterator[None]:
    try:
        yield
    except RecursionError:  # tarfile recurses through the extended headers before a member
        raise UploadRejected(400, "the tar.gz archive chains hundreds of extended headers to one file") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UploadRejected(400, f"the upload is not a readable tar.gz archive ({exc})") from None
