"""The Xet protocol's hashes (https://github.com/huggingface/xet-core/blob/main/spec/hashing.md):
keyed BLAKE3 over chunks, and a Merkle tree of chunk hashes for a xorb."""

from __future__ import annotations

import re

from blake3 import blake3

HASH_SIZE = 32
_DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
_INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
_VERIFICATION_KEY = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)  # fmt: skip
# A tree node ends after a hash divisible by this (at least 2 children, at most twice it plus one).
_MEAN_BRANCHING = 4
_HEX = re.compile(r"^[0-9a-f]{64}$")


def hash_hex(digest: bytes) -> str:
    """A hash as the protocol writes it in URLs and tree nodes: each 8-byte word as a little-endian
    number in hex, not the bytes in order."""
    return "".join(digest[i : i + 8][::-1].hex() for i in range(0, HASH_SIZE, 8))


def parse_hash_hex(text: str) -> bytes:
    """The hash `hash_hex` wrote as `text`; ValueError for anything but 64 lower-case hex digits."""
    if not _HEX.match(text):
        raise ValueError(f"{text[:80]!r} is not a Xet hash: it must be 64 lower-case hex digits")
    raw = bytes.fromhex(text)
    return b"".join(raw[i : i + 8][::-1] for i in range(0, HASH_SIZE, 8))


def chunk_hash(data: bytes) -> bytes:
    return blake3(data, key=_DATA_KEY).digest()


def range_hash(chunk_hashes: list[bytes]) -> bytes:
    """The verification hash of a run of chunks: an uploader can make it only from the chunks' hashes."""
    return blake3(b"".join(chunk_hashes), key=_VERIFICATION_KEY).digest()


def _cut(nodes: list[tuple[bytes, int]], start: int) -> int:
    """Where the tree node that starts at `start` ends (exclusive)."""
    left = len(nodes) - start
    if left <= 2:
        return len(nodes)
    end = start + min(2 * _MEAN_BRANCHING + 1, left)
    for index in range(start + 2, end):
        # The protocol reads a hash as four little-endian words and tests the last one.
        if int.from_bytes(nodes[index][0][24:], "little") % _MEAN_BRANCHING == 0:
            return index + 1
    return end


def xorb_hash(chunks: list[tuple[bytes, int]]) -> bytes:
    """The hash of a xorb from its chunks' (hash, length), in order: the root of the protocol's tree."""
    if not chunks:
        return bytes(HASH_SIZE)
    nodes = chunks
    while len(nodes) > 1:
        parents, start = [], 0
        while start < len(nodes):
            end = _cut(nodes, start)
            children = nodes[start:end]
            listing = "".join(f"{hash_hex(digest)} : {length}\n" for digest, length in children)
            parents.append((blake3(listing.encode(), key=_INTERNAL_NODE_KEY).digest(), sum(n for _, n in children)))
            start = end
        nodes = parents
    return nodes[0][0]
