"""An app's output file, followed line by line into its instance's LogTail, and kept bounded.

The app writes straight into the file (not through a pipe to Podium), so it keeps running and logging
while its caller restarts, and `adopt` can pick the file up again where the caller left it.

The file does not grow past `MAX_BYTES` for long while it is followed: once the follower has read
that much, what it read moves to `<file>.1` (replacing the one before) and is cut from the front of
the file. The app opened the file to append, so it writes on at the new end. Where the filesystem can
cut a file's front (fallocate's collapse-range: ext4, xfs) not a byte is lost, even while the app
writes; the cut falls on a block boundary, so a line may begin in one file and end in the other.
Elsewhere (tmpfs, btrfs, zfs) the file is truncated once the follower has read all of it, which loses
what the app writes in that instant.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import os
from collections.abc import Callable
from pathlib import Path

from podium_runner.backend import LogTail
from podium_runner.loglines import LineSplitter

MAX_BYTES = 10 * 1024 * 1024
_CHUNK = 1024 * 1024  # read at most this much before handing the event loop back
_POLL_S = 0.2
_FALLOC_FL_COLLAPSE_RANGE = 0x08
_libc = ctypes.CDLL(None)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def previous(path: Path) -> Path:
    """Where the lines before the last rotation are."""
    return path.with_name(path.name + ".1")


def last_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines, reaching back into `previous(path)` when the file holds fewer."""
    lines: collections.deque[str] = collections.deque(maxlen=count)
    splitter = LineSplitter()  # one stream across both files: a line the rotation cut in two is whole again
    for part in (previous(path), path):
        try:
            with part.open("rb") as file:
                while chunk := file.read(_CHUNK):
                    lines.extend(splitter.feed(chunk))
        except OSError:
            continue
    lines.extend(splitter.end())
    return list(lines)


async def follow(path: Path, tail: LogTail, finished: Callable[[], bool], *, offset: int = 0) -> None:
    """Forward complete lines appended to `path` from `offset` on, until `finished()` and drained,
    rotating the file past `MAX_BYTES`. Lines are cut at `MAX_LINE_BYTES`, so output without newlines
    costs bounded memory."""
    splitter = LineSplitter()
    collapsible = True  # until the filesystem says otherwise
    with path.open("r+b", buffering=0) as file:
        fd, position = file.fileno(), offset
        while True:
            done = finished()  # read before draining, so lines written just before the exit still come
            chunk = os.pread(fd, _CHUNK, position)
            if not chunk:
                if done:
                    for line in splitter.end():
                        tail(line)
                    return
                await asyncio.sleep(_POLL_S)
                continue
            position += len(chunk)
            # A rotation copies and flushes megabytes: in a thread, not in the caller's event loop.
            if position > MAX_BYTES and collapsible:
                cut = await asyncio.to_thread(_cut_front, path, fd, position)
                collapsible = cut is not None
                position -= cut or 0
            if position > MAX_BYTES and not collapsible and len(chunk) < _CHUNK:  # read all there was
                chunk += await asyncio.to_thread(_truncate, path, fd, position)
                position = 0
            for line in splitter.feed(chunk):
                tail(line)
            await asyncio.sleep(0)  # a chatty app does not hold up everything else


def _cut_front(path: Path, fd: int, read_to: int) -> int | None:
    """Move the whole blocks of what was read to `previous(path)` and collapse them out of the file.
    Returns how many bytes left the file, or None where the filesystem cannot collapse (EOPNOTSUPP)."""
    block = os.fstat(fd).st_blksize
    cut = (read_to - 1) // block * block  # short of the file's end, which collapse-range needs
    staged = _copy_front(path, fd, cut)
    if _libc.fallocate(fd, _FALLOC_FL_COLLAPSE_RANGE, 0, cut) != 0:
        staged.unlink()
        return None
    os.replace(staged, previous(path))
    return cut


def _truncate(path: Path, fd: int, read_to: int) -> bytes:
    """Move the file, read up to `read_to`, to `previous(path)` and truncate it. Returns what the app
    wrote meanwhile (now in `previous(path)` too); what it writes between that read and the
    truncation is lost."""
    staged = _copy_front(path, fd, read_to)
    late = os.pread(fd, os.fstat(fd).st_size - read_to, read_to)
    os.ftruncate(fd, 0)
    with staged.open("ab") as out:
        out.write(late)
    os.replace(staged, previous(path))
    return late


def _copy_front(path: Path, fd: int, count: int) -> Path:
    """The first `count` bytes of the file at `fd`, copied to a file next to `path`."""
    staged = path.with_name(path.name + ".rotating")
    with staged.open("wb") as out:
        offset = 0
        while offset < count:
            sent = os.sendfile(out.fileno(), fd, offset, count - offset)
            if sent == 0:
                break
            offset += sent
    return staged
