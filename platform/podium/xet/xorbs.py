"""Xorbs (https://github.com/huggingface/xet-core/blob/main/spec/xorb.md): a run of chunks, each an
8-byte header and its bytes, none, LZ4 or byte-grouped then LZ4 compressed; and where Podium keeps them.

A xorb is stored under its hash only once its chunks hash to it, so nobody can plant other bytes under a
hash another upload will use. Who may read what a xorb holds is the shards' affair (podium.xet.shards).

Clients deduplicate later uploads against xorbs they sent before, so a xorb must stay readable. Its
bytes need not stay twice, though: once every chunk of it is inside a file rebuilt into the LFS store
(which never deletes an object), the store keeps a map of where each chunk is there (`place`) and drops
the serialized xorb; reads then come from the LFS objects.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import lz4.frame

from podium.lfs_store import object_path
from podium.signing import read_or_make_secret
from podium.whole_files import write_whole
from podium.xet.hashes import chunk_hash, hash_hex, parse_hash_hex, xorb_hash

# The protocol's bounds: a xorb holds about 64 MiB (hf_xet's, serialized, pass it by their chunks'
# headers), a chunk at most 128 KiB unpacked.
MAX_XORB_SIZE = 72 * 1024 * 1024
MAX_CHUNK_SIZE = 128 * 1024
_HEADER_SIZE = 8
# Some clients end a xorb with a footer of its own (chunk offsets and hashes); Podium computes those.
_FOOTER_TAG = b"XETBLOB"
_NONE, _LZ4, _BYTE_GROUPING_LZ4 = 0, 1, 2
# What an interrupted upload leaves is removed after these (`XorbStore.sweep`).
INCOMING_MAX_AGE_S = 3600  # a xorb being received: one never takes that long to arrive
UNPLACED_MAX_AGE_S = 24 * 3600  # a xorb whose shard never came
Buffer = bytes | mmap.mmap


class XorbRejected(Exception):
    """A xorb that is not what it claims to be; the message says what is wrong."""


@dataclass(frozen=True)
class _Chunk:
    offset: int  # of its compressed bytes in the serialized xorb
    size: int  # compressed
    scheme: int
    length: int  # unpacked


def _chunks(xorb: Buffer) -> list[_Chunk]:
    chunks, offset = [], 0
    while offset < len(xorb):
        if xorb[offset : offset + len(_FOOTER_TAG)] == _FOOTER_TAG:
            break
        if offset + _HEADER_SIZE > len(xorb):
            raise XorbRejected(f"the xorb ends inside the header of its chunk {len(chunks)}")
        header = xorb[offset : offset + _HEADER_SIZE]
        version, size, scheme = header[0], int.from_bytes(header[1:4], "little"), header[4]
        length = int.from_bytes(header[5:8], "little")
        if version != 0:
            raise XorbRejected(f"chunk {len(chunks)} has header version {version}; Podium reads version 0")
        if scheme not in (_NONE, _LZ4, _BYTE_GROUPING_LZ4):
            raise XorbRejected(f"chunk {len(chunks)} uses compression {scheme}, which the protocol does not define")
        if not 0 < length <= MAX_CHUNK_SIZE or (scheme == _NONE and size != length):
            raise XorbRejected(f"chunk {len(chunks)} claims {length} bytes unpacked ({size} packed)")
        offset += _HEADER_SIZE
        if offset + size > len(xorb):
            raise XorbRejected(f"chunk {len(chunks)} runs past the end of the xorb")
        chunks.append(_Chunk(offset, size, scheme, length))
        offset += size
    if not chunks:
        raise XorbRejected("the xorb holds no chunk")
    return chunks


def _unpack(xorb: Buffer, chunk: _Chunk, index: int) -> bytes:
    packed = xorb[chunk.offset : chunk.offset + chunk.size]
    if chunk.scheme == _NONE:
        return packed
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        data = decompressor.decompress(packed, max_length=chunk.length + 1)  # never more than it claims
    except RuntimeError as exc:
        raise XorbRejected(f"chunk {index} is not valid LZ4 ({exc})") from None
    if len(data) != chunk.length or not decompressor.eof:
        raise XorbRejected(f"chunk {index} unpacks to other than the {chunk.length} bytes its header says")
    if chunk.scheme == _BYTE_GROUPING_LZ4:
        # Bytes were grouped by their position in each 4 (the first group takes any extra byte first).
        ungrouped, start = bytearray(len(data)), 0
        for position in range(4):
            count = len(range(position, len(data), 4))
            ungrouped[position::4] = data[start : start + count]
            start += count
        data = bytes(ungrouped)
    return data


class Xorb:
    """A serialized xorb (in memory, or a stored one mapped from its file), to read chunks from."""

    def __init__(self, serialized: Buffer):
        self._bytes = serialized
        self._chunks = _chunks(serialized)

    @classmethod
    def of_file(cls, path: Path) -> Xorb:
        """The xorb in `path`, mapped rather than read: up to 72 MiB each, several at once."""
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                raise XorbRejected("the xorb is empty")
            return cls(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))

    def __len__(self) -> int:
        return len(self._chunks)

    def chunk(self, index: int) -> bytes:
        """Chunk `index`, unpacked."""
        return _unpack(self._bytes, self._chunks[index], index)


def verify(xorb: Xorb, claimed: bytes) -> None:
    """XorbRejected unless the xorb's chunks unpack and hash to `claimed`. One chunk at a time is unpacked."""
    hashes = []
    for index in range(len(xorb)):
        data = xorb.chunk(index)
        hashes.append((chunk_hash(data), len(data)))
    if (actual := xorb_hash(hashes)) != claimed:
        raise XorbRejected(f"its chunks hash to {hash_hex(actual)}, not to {hash_hex(claimed)} it was sent as")


@dataclass(frozen=True)
class Placement:
    """Where a chunk's bytes are in the LFS store: `length` bytes at `offset` of the object `oid`."""

    oid: str
    offset: int
    length: int


class MappedXorb:
    """A xorb whose every chunk is inside LFS objects, read from there (its `chunk` as Xorb's)."""

    def __init__(self, data_folder: Path, placements: list[Placement]):
        self._data_folder = data_folder
        self._placements = placements

    def __len__(self) -> int:
        return len(self._placements)

    def chunk(self, index: int) -> bytes:
        placement = self._placements[index]
        with open(object_path(self._data_folder, placement.oid), "rb") as content:
            content.seek(placement.offset)
            return content.read(placement.length)


class XorbStore:
    """Xorbs of one data folder: `<data>/xet/xorbs/<hash[0:2]>/<hash>` as sent, until `place` maps
    each chunk into the LFS store (`<data>/xet/maps/<hash[0:2]>/<hash>.json`)."""

    def __init__(self, data_folder: Path):
        self.data_folder = data_folder
        self.root = data_folder / "xet"

    def _path(self, digest: bytes) -> Path:
        name = hash_hex(digest)
        return self.root / "xorbs" / name[:2] / name

    @property
    def maps(self) -> Path:
        return self.root / "maps"

    @property
    def namespace_file(self) -> Path:
        return self.root / "namespace"

    @property
    def namespace(self) -> str:
        """A name of this store's own, made once: clients keep a cache of what they uploaded per service
        address, and a data folder made anew at the same address must not be taken for this one."""
        return read_or_make_secret(self.namespace_file, lambda: secrets.token_hex(8).encode()).decode().strip()

    def _map_path(self, digest: bytes) -> Path:
        name = hash_hex(digest)
        return self.maps / name[:2] / f"{name}.json"

    def _placements(self, digest: bytes) -> list[Placement | None] | None:
        try:
            listed = json.loads(self._map_path(digest).read_text())["chunks"]
        except FileNotFoundError:
            return None
        return [Placement(*entry) if entry else None for entry in listed]

    def _placed_whole(self, digest: bytes) -> list[Placement] | None:
        """Where each chunk of the xorb is, once every one of them is in the LFS store."""
        placements = self._placements(digest)
        if placements is None or None in placements:
            return None
        return placements  # type: ignore[return-value]

    @contextlib.contextmanager
    def incoming(self) -> Iterator[BinaryIO]:
        """A file to write a xorb into as it arrives, for `put`; removed unless `put` kept it."""
        folder = self.root / "incoming"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / secrets.token_hex(8)
        try:
            with open(path, "xb") as file:
                yield file
        finally:
            path.unlink(missing_ok=True)

    def put(self, digest: bytes, incoming: BinaryIO) -> bool:
        """Keep the xorb written into `incoming` (XorbRejected unless it hashes to `digest`); whether it
        was new."""
        incoming.flush()
        path = Path(incoming.name)
        verify(Xorb.of_file(path), digest)
        if self._path(digest).is_file() or self._placed_whole(digest) is not None:
            return False
        os.fsync(incoming.fileno())
        self._path(digest).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, self._path(digest))  # two uploads of one xorb write the same bytes
        return True

    def get(self, digest: bytes) -> Xorb | MappedXorb | None:
        try:
            return Xorb.of_file(self._path(digest))
        except FileNotFoundError:
            pass  # mapped meanwhile, or never sent
        placements = self._placed_whole(digest)
        return None if placements is None else MappedXorb(self.data_folder, placements)

    def sweep(self, now: float) -> int:
        """Remove what interrupted uploads left, and say how many files: xorbs half received, and xorbs a
        day old that no rebuilt file holds a chunk of. Their shard never came, so no client refers to them:
        hf_xet remembers what it uploaded only once the shard is in."""
        removed = 0
        for path in self.root.glob("incoming/*"):
            if path.stat().st_mtime < now - INCOMING_MAX_AGE_S:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.root.glob("xorbs/*/*"):
            try:
                mapped = self._map_path(parse_hash_hex(path.name)).exists()
            except ValueError:
                continue  # not a xorb of this store's making
            if not mapped and path.stat().st_mtime < now - UNPLACED_MAX_AGE_S:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def place(self, placed: dict[bytes, dict[int, Placement]]) -> None:
        """Record where chunks of xorbs are in the LFS store (xorb -> chunk index -> placement), and drop
        each xorb whose every chunk is placed."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".maps.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # shards are rebuilt in threads, and by more than one Podium
            for digest, chunks in placed.items():
                placements = self._placements(digest)
                if placements is None:
                    try:
                        placements = [None] * len(Xorb.of_file(self._path(digest)))
                    except FileNotFoundError:
                        continue  # swept meanwhile: nothing to map
                elif None not in placements:
                    continue  # placed whole already
                for index, placement in chunks.items():
                    placements[index] = placements[index] or placement
                listed = [[p.oid, p.offset, p.length] if p else None for p in placements]
                write_whole(self._map_path(digest), json.dumps({"chunks": listed}).encode())
                if None not in placements:
                    self._path(digest).unlink(missing_ok=True)
