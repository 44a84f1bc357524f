"""What users upload, checked before it reaches a repository: safe paths, size limits, safe archives.

Every rejection is an `UploadRejected` carrying the HTTP status and a message that says which file,
what is wrong and what to do; a limit that was hit is named with its setting.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from podium.repos import Change
from podium.settings import Limits, MiB


class UploadRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def safe_path(path: str) -> str:
    """A repository path as given, or `UploadRejected` when it could escape the space."""
    if not path or "\x00" in path:
        raise UploadRejected(400, f"the path {path!r} is empty or contains a NUL byte; rename the file")
    if "\\" in path:
        raise UploadRejected(400, f"the path {path!r} contains a backslash; use / between folders")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise UploadRejected(
            400,
            f"the path {path!r} is absolute or climbs out with '..'; use a path "
            f"relative to the space folder, such as app.py or src/util.py",
        )
    if pure.parts and pure.parts[0] == ".git":
        raise UploadRejected(400, f"the path {path!r} is inside .git, which Podium manages itself")
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

    def read(self, name: str, stream: io.BufferedIOBase) -> bytes:
        chunks = []
        size = 0
        while chunk := stream.read(MiB):
            size += len(chunk)
            self.expanded += len(chunk)
            if size > self.limits.max_file_size:
                raise too_large(f"{name!r} in {self.filename}", "max_file_size", self.limits.max_file_size)
            if self.expanded > self.limits.max_archive_expansion:
                raise too_large(
                    f"{self.filename} once unpacked",
                    "max_archive_expansion",
                    self.limits.max_archive_expansion,
                )
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
                    f"{info.filename!r} in the zip archive is a symbolic link; "
                    f"Podium accepts regular files only",
                )
            with archive.open(info) as stream:
                yield info.filename, budget.read(info.filename, stream)


def _tar_entries(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    budget = _Budget("the tar.gz archive", limits)
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError as exc:
        raise UploadRejected(400, f"the upload is not a readable tar.gz archive ({exc})") from None
    with archive:
        for member in archive:
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
            yield name, budget.read(name, stream)
