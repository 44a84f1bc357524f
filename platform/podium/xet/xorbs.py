"""Xorbs (https://github.com/huggingface/xet-core/blob/main/spec/xorb.md): a run of chunks, each an
8-byte header and its bytes, none, LZ4 or byte-grouped then LZ4 compressed; and where Podium keeps them.

A xorb is stored under its hash only once its chunks hash to it, so nobody can plant other bytes under a
hash another upload will use. Who may read what a xorb holds is the shards' affair (podium.xet.shards).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import lz4.frame

from podium.xet.hashes import chunk_hash, hash_hex, xorb_hash

# The protocol's own bounds: a serialized xorb is at most 64 MiB, a chunk at most 128 KiB unpacked.
MAX_XORB_SIZE = 64 * 1024 * 1024
MAX_CHUNK_SIZE = 128 * 1024
_HEADER_SIZE = 8
# Some clients end a xorb with a footer of its own (chunk offsets and hashes); Podium computes those.
_FOOTER_TAG = b"XETBLOB"
_NONE, _LZ4, _BYTE_GROUPING_LZ4 = 0, 1, 2


class XorbRejected(Exception):
    """A xorb that is not what it claims to be; the message says what is wrong."""


@dataclass(frozen=True)
class _Chunk:
    offset: int  # of its compressed bytes in the serialized xorb
    size: int  # compressed
    scheme: int
    length: int  # unpacked


def _chunks(xorb: bytes) -> list[_Chunk]:
    chunks, offset = [], 0
    while offset < len(xorb):
        if xorb.startswith(_FOOTER_TAG, offset):
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


def _unpack(xorb: bytes, chunk: _Chunk, index: int) -> bytes:
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
    """A stored xorb, to read chunk ranges from."""

    def __init__(self, serialized: bytes):
        self._bytes = serialized
        self._chunks = _chunks(serialized)

    def __len__(self) -> int:
        return len(self._chunks)

    def unpacked(self, start: int, end: int) -> list[bytes]:
        """The unpacked chunks `start` (inclusive) to `end` (exclusive)."""
        return [_unpack(self._bytes, self._chunks[index], index) for index in range(start, end)]


def verified(serialized: bytes, claimed: bytes) -> Xorb:
    """The xorb, once its chunks unpack and hash to `claimed`; XorbRejected otherwise."""
    if len(serialized) > MAX_XORB_SIZE:
        raise XorbRejected(f"the xorb is {len(serialized)} bytes; the protocol allows at most {MAX_XORB_SIZE}")
    xorb = Xorb(serialized)
    chunks = [(chunk_hash(data), len(data)) for data in xorb.unpacked(0, len(xorb))]
    if (actual := xorb_hash(chunks)) != claimed:
        raise XorbRejected(f"its chunks hash to {hash_hex(actual)}, not to {hash_hex(claimed)} it was sent as")
    return xorb


class XorbStore:
    """Xorbs of one data folder: `<data>/xet/xorbs/<hash[0:2]>/<hash>`."""

    def __init__(self, data_folder: Path):
        self.root = data_folder / "xet" / "xorbs"

    def _path(self, digest: bytes) -> Path:
        name = hash_hex(digest)
        return self.root / name[:2] / name

    def put(self, digest: bytes, serialized: bytes) -> bool:
        """Store a xorb (XorbRejected unless it hashes to `digest`); whether it was new."""
        verified(serialized, digest)
        path = self._path(digest)
        if path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        with open(temporary, "xb") as file:
            file.write(serialized)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # two uploads of one xorb write the same bytes
        return True

    def get(self, digest: bytes) -> Xorb | None:
        try:
            return Xorb(self._path(digest).read_bytes())
        except FileNotFoundError:
            return None
