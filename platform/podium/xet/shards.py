"""Shards (https://github.com/huggingface/xet-core/blob/main/spec/shard.md): the files an upload made,
each as ranges of chunks in xorbs with its sha256; and rebuilding those files into the LFS store.

A shard names each file's sha256, as the commit that follows names its LFS objects. Podium rebuilds
the file from stored xorbs, and the LFS store keeps it only if it hashes to that sha256
(podium.lfs_store); the repository the upload was for may then point to it (`lfs_store.grant`).

Knowing a hash reads nothing, as for LFS objects: a shard may use a run of chunks of any stored xorb,
but each term carries the verification hash of that run's chunk hashes, which only someone who had the
chunks can make. Podium never hands chunk hashes out (it answers no deduplication query and no
reconstruction), and a xorb's hash does not reveal them. This is the Hub's own rule, and it lets a
client deduplicate against any xorb it sent before, whoever stored it first.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from podium import lfs_store
from podium.lfs_store import LfsStore, ObjectRejected
from podium.xet.hashes import HASH_SIZE, chunk_hash, hash_hex, range_hash
from podium.xet.xorbs import MappedXorb, Placement, Xorb, XorbRejected, XorbStore

_TAG = bytes.fromhex("48465265706f4d6574614461746100556967456a7b815783a5bdd95ccdd14aa9")  # "HFRepoMetaData\0..."
_HEADER = struct.Struct("<32sQQ")  # tag, version, footer size
_ENTRY_SIZE = 48
_FILE_HEADER = struct.Struct("<32sII8x")  # file hash, flags, number of terms
_TERM = struct.Struct("<32sIIII")  # xorb hash, flags, unpacked bytes, first chunk, end chunk
_WITH_VERIFICATION = 1 << 31
_WITH_METADATA = 1 << 30
_BOOKEND = b"\xff" * HASH_SIZE


class ShardRejected(Exception):
    """A shard Podium cannot take, with the reason and the HTTP status that says so."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Term:
    xorb: bytes
    length: int  # unpacked bytes
    start: int  # first chunk
    end: int  # chunk after the last
    verification: bytes  # range_hash of its chunks' hashes


@dataclass(frozen=True)
class FileEntry:
    sha256: str  # hex, as LFS names the object
    terms: tuple[Term, ...]

    @property
    def size(self) -> int:
        return sum(term.length for term in self.terms)


def files_of(shard: bytes) -> list[FileEntry]:
    """The files a shard's file info section lists; ShardRejected(400) when it is not a valid shard.
    Its other sections (the xorbs it made, a footer) say nothing Podium needs."""
    if len(shard) < _HEADER.size:
        raise ShardRejected(400, "the shard is shorter than its header")
    tag, version, _footer = _HEADER.unpack_from(shard)
    if tag != _TAG or version != 2:
        raise ShardRejected(400, f"not a Xet shard of version 2 (tag {tag[:16]!r}, version {version})")
    files, offset = [], _HEADER.size
    while True:
        if offset + _ENTRY_SIZE > len(shard):
            raise ShardRejected(400, "the shard's file section has no end mark")
        file_hash, flags, count = _FILE_HEADER.unpack_from(shard, offset)
        offset += _ENTRY_SIZE
        if file_hash == _BOOKEND:
            return files
        if flags & (_WITH_VERIFICATION | _WITH_METADATA) != _WITH_VERIFICATION | _WITH_METADATA:
            raise ShardRejected(
                400,
                f"file {hash_hex(file_hash)} lacks its terms' verification hashes or its sha256; the upload "
                "protocol needs both",
            )
        # Its terms, a verification entry per term, then the metadata: all inside the shard.
        metadata = offset + 2 * count * _ENTRY_SIZE
        if metadata + _ENTRY_SIZE > len(shard):
            raise ShardRejected(400, f"file {hash_hex(file_hash)} says it has more entries than the shard holds")
        terms = []
        for index in range(count):
            xorb, _flags, length, start, end = _TERM.unpack_from(shard, offset + index * _ENTRY_SIZE)
            if not start < end:
                raise ShardRejected(400, f"file {hash_hex(file_hash)}: term {index} names no chunk ({start}-{end})")
            verification = offset + (count + index) * _ENTRY_SIZE
            terms.append(Term(xorb, length, start, end, shard[verification : verification + HASH_SIZE]))
        sha256 = hash_hex(shard[metadata : metadata + HASH_SIZE])
        offset = metadata + _ENTRY_SIZE
        files.append(FileEntry(sha256, tuple(terms)))


class _Xorbs:
    """Stored xorbs, read once each while a shard is rebuilt."""

    def __init__(self, store: XorbStore):
        self.store = store
        self._read: dict[bytes, Xorb | MappedXorb] = {}

    def get(self, digest: bytes) -> Xorb | MappedXorb:
        if digest not in self._read:
            xorb = self.store.get(digest)
            if xorb is None:
                raise ShardRejected(
                    400,
                    f"the shard uses xorb {hash_hex(digest)}, which is not stored here. Clients upload a shard's "
                    "xorbs first; one that remembers xorbs this Podium no longer has (its data folder was "
                    "replaced) uploads them again once hf_xet's cache of this address (~/.cache/huggingface/xet/) "
                    "is removed",
                )
            if len(self._read) >= 2:  # each holds a mapping of up to 72 MiB: keep the last two
                self._read.pop(next(iter(self._read)))
            self._read[digest] = xorb
        return self._read[digest]


def _content(file: FileEntry, xorbs: _Xorbs, placed: dict[bytes, dict[int, Placement]]) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk; where each lands in it goes into `placed`. A term whose checks
    fail raises once its last chunk is out: the caller keeps nothing of a file it could not finish."""
    offset = 0
    for index, term in enumerate(file.terms):
        xorb = xorbs.get(term.xorb)
        if term.end > len(xorb):
            raise ShardRejected(
                400, f"file {file.sha256}: term {index} reads chunks {term.start}-{term.end} of a xorb of {len(xorb)}"
            )
        hashes, length = [], 0
        for number in range(term.start, term.end):
            try:
                chunk = xorb.chunk(number)
            except XorbRejected as exc:
                raise ShardRejected(400, f"file {file.sha256}: {exc}") from None
            hashes.append(chunk_hash(chunk))
            length += len(chunk)
            if length > term.length:
                break
            placed.setdefault(term.xorb, {})[number] = Placement(file.sha256, offset, len(chunk))
            offset += len(chunk)
            yield chunk
        if length != term.length:
            raise ShardRejected(400, f"file {file.sha256}: term {index} is not the {term.length} bytes it says")
        if range_hash(hashes) != term.verification:
            raise ShardRejected(
                400,
                f"file {file.sha256}: term {index}'s verification hash is not that of chunks {term.start}-"
                f"{term.end} of xorb {hash_hex(term.xorb)}; a shard may only use chunks its uploader had",
            )


def rebuild(shard: bytes, xorbs: XorbStore, store: LfsStore, repo: Path, max_total: int) -> None:
    """Rebuild every file of `shard` from stored xorbs into `store`, and let the repository
    `repo` point to each. ShardRejected when a file cannot be rebuilt or is not the
    content its sha256 says, or the files total more than `max_total` bytes (nothing of that file kept)."""
    files = files_of(shard)
    if (total := sum(file.size for file in files)) > max_total:
        raise ShardRejected(
            413,
            f"the shard's files total {total} bytes, more than one upload may (max_upload_size = {max_total} "
            "bytes, PODIUM_LIMITS__MAX_UPLOAD_SIZE); upload fewer files at once or raise the limit",
        )
    read = _Xorbs(xorbs)
    for file in files:
        placed: dict[bytes, dict[int, Placement]] = {}
        try:
            store.store_chunks(file.sha256, file.size, _content(file, read, placed))
        except ObjectRejected as exc:
            raise ShardRejected(exc.status, f"file {file.sha256}: {exc}") from None
        lfs_store.grant(repo, file.sha256)
        xorbs.place(placed)  # only now: the object holds the chunks where `placed` says
