"""Uploads through Xet (podium.xet): huggingface_hub with hf_xet (its default install) against a real
`podium serve`, and the storage service tried as a hostile client would, with xorbs and shards made
here byte by byte (`_xorb`, `_shard`, after the protocol's spec)."""

from __future__ import annotations

import hashlib
import math
import os
import random
import struct
import time
from pathlib import Path

import httpx
import lz4.frame
import pytest
from huggingface_hub import hf_hub_download
from podium.lfs_store import LfsPointer
from podium.xet.hashes import chunk_hash, hash_hex, parse_hash_hex, range_hash, xorb_hash
from podium.xet.xorbs import MAX_XORB_SIZE, Placement, Xorb, XorbStore

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port
from tests.support.tokens import pages_session

pytest.importorskip("hf_xet")

_SHARD_TAG = bytes.fromhex("48465265706f4d6574614461746100556967456a7b815783a5bdd95ccdd14aa9")
_BOOKEND = b"\xff" * 32 + bytes(16)


def _chunk(data: bytes, scheme: int = 0, packed: bytes | None = None) -> bytes:
    packed = data if packed is None else packed
    return bytes([0]) + len(packed).to_bytes(3, "little") + bytes([scheme]) + len(data).to_bytes(3, "little") + packed


def _xorb(chunks: list[bytes]) -> tuple[bytes, str]:
    """A xorb of uncompressed chunks, and its hash as URLs write it."""
    return b"".join(map(_chunk, chunks)), hash_hex(xorb_hash([(chunk_hash(c), len(c)) for c in chunks]))


def _term(xorb: str, chunks: list[bytes], start: int, end: int, length: int | None = None) -> tuple:
    """A file's term: chunks `start`-`end` of `xorb` (which are `chunks`), with the verification hash
    only someone who has those chunks can make."""
    verification = range_hash([chunk_hash(chunk) for chunk in chunks])
    return xorb, sum(map(len, chunks)) if length is None else length, start, end, verification


def _shard(files: list[tuple[str, list[tuple]]]) -> bytes:
    """A shard listing files as (sha256, [terms made by `_term`])."""
    shard = _SHARD_TAG + struct.pack("<QQ", 2, 0)
    for sha256, terms in files:
        shard += struct.pack("<32sII8x", bytes(32), 1 << 31 | 1 << 30, len(terms))  # verified, with metadata
        for xorb, length, start, end, _verification in terms:
            shard += struct.pack("<32sIIII", parse_hash_hex(xorb), 0, length, start, end)
        for *_, verification in terms:
            shard += verification + bytes(16)
        shard += parse_hash_hex(sha256) + bytes(16)  # the metadata: the file's sha256
    return shard + _BOOKEND + _BOOKEND  # file section, then an empty xorb section


class _Cas:
    """The storage service as one user's Xet token for one repository reaches it."""

    def __init__(self, hub: PodiumServer, token: str, repo_id: str, repo_type: str = "model"):
        answer = httpx.get(
            f"{hub.url}/api/{repo_type}s/{repo_id}/xet-write-token/main", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        self.url, self.token = answer.json()["casUrl"], answer.json()["accessToken"]

    def post(self, path: str, body: bytes, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=60)

    def xorb(self, body: bytes, digest: str) -> httpx.Response:
        return self.post(f"/v1/xorbs/default/{digest}", body)

    def shard(self, body: bytes) -> httpx.Response:
        return self.post("/v1/shards", body)


def _commit_pointer(hub: PodiumServer, token: str, repo_id: str, path: str, content: bytes) -> httpx.Response:
    """Commit `path` of a model as an LFS pointer to `content`, as huggingface_hub does once its upload is done."""
    pointer = LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
    return hub.commit_lfs_file(repo_id, path, pointer, repo_type="model", token=token)


def _stored_xorbs(hub: PodiumServer) -> set[Path]:
    """The xorbs kept as sent."""
    return {path for path in (hub.data_dir / "xet" / "xorbs").rglob("*") if path.is_file()}


def _mapped_xorbs(hub: PodiumServer) -> set[Path]:
    """The xorbs kept as maps into the LFS objects rebuilt from them."""
    return {path for path in (hub.data_dir / "xet" / "maps").rglob("*.json")}


@pytest.fixture(scope="module")
def repos(hub: PodiumServer, hub_api, tokens) -> dict[str, str]:
    made = {"alice": "alice/xet-weights", "alice-other": "alice/xet-other", "bob": "bob/xet-weights"}
    for user, repo_id in made.items():
        hub_api(tokens[user.split("-")[0]]).create_repo(repo_id)
    return made


def test_huggingface_hub_uploads_through_xet_and_reads_back_the_same_bytes(
    hub: PodiumServer, hub_api, tokens, repos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # hf_xet's own caches, this test's alone
    api, repo_id = hub_api(tokens["alice"]), repos["alice"]
    rng = random.Random(7)
    files = {
        # Random bytes, then a repeated run (chunks deduplicated inside the upload).
        "model.safetensors": rng.randbytes(300_000) + b"podium " * 200_000,
        # Floats, which hf_xet packs byte-grouped (its BG4 scheme) when that compresses better.
        "weights.bin": struct.pack(f"<{250_000}f", *(math.sin(i / 500) for i in range(250_000))),
    }
    sent_before = _stored_xorbs(hub)
    for path, content in files.items():
        (tmp_path / path).write_bytes(content)
        api.upload_file(path_or_fileobj=str(tmp_path / path), path_in_repo=path, repo_id=repo_id)
    # Every chunk is in the files rebuilt from it: the xorbs are kept as maps into them, not twice.
    assert _mapped_xorbs(hub), "the files did not come through Xet"
    assert _stored_xorbs(hub) == sent_before

    # One MiB changed: hf_xet sends the new chunks only and reuses the others from the mapped xorbs.
    changed = bytearray(files["model.safetensors"])
    changed[500_000 : 500_000 + 2**20] = rng.randbytes(2**20)
    files["model.safetensors"] = bytes(changed)
    (tmp_path / "model.safetensors").write_bytes(changed)
    maps = _mapped_xorbs(hub)
    api.upload_file(
        path_or_fileobj=str(tmp_path / "model.safetensors"), path_in_repo="model.safetensors", repo_id=repo_id
    )
    assert len(_mapped_xorbs(hub) - maps) == 1  # one new xorb, for the changed MiB

    for path, content in files.items():
        downloaded = hf_hub_download(repo_id, path, endpoint=hub.url, token=tokens["alice"], cache_dir=tmp_path / "dl")
        assert Path(downloaded).read_bytes() == content, path
        [info] = api.get_paths_info(repo_id, [path])
        assert info.lfs is not None and info.lfs.sha256 == hashlib.sha256(content).hexdigest()

    # The same file again: huggingface_hub sees from the preupload answer that it is there and commits nothing.
    commits = len(api.list_repo_commits(repo_id))
    api.upload_file(path_or_fileobj=str(tmp_path / "weights.bin"), path_in_repo="weights.bin", repo_id=repo_id)
    assert len(api.list_repo_commits(repo_id)) == commits


def test_a_podium_made_anew_at_the_same_address_takes_a_client_that_uploaded_to_the_last_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hf_xet remembers per service address which chunks it uploaded and sends only the others. A data
    folder made anew where another Podium answered (a wiped folder, the next test run) has none of them:
    its service address is its own, so the client starts afresh there instead of being refused."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    weights = random.Random(3).randbytes(600_000)
    (tmp_path / "model.safetensors").write_bytes(weights)
    port, spaces_port = free_port(), free_port()
    for data in ("first", "second"):
        (tmp_path / data).mkdir()
        server = PodiumServer(tmp_path / data / "data", port, spaces_port, {}).start()
        try:
            api = server.api()
            api.create_repo("admin/weights")
            api.upload_file(
                path_or_fileobj=str(tmp_path / "model.safetensors"),
                path_in_repo="model.safetensors",
                repo_id="admin/weights",
            )
            got = hf_hub_download(
                "admin/weights",
                "model.safetensors",
                endpoint=server.url,
                token=server.token,
                cache_dir=tmp_path / data / "dl",
            )
            assert Path(got).read_bytes() == weights, data
        finally:
            server.stop()


def test_byte_grouped_chunks_unpack_to_their_bytes() -> None:
    """BG4: the bytes grouped by their place in each 4 (the first groups take the extra ones), then LZ4."""
    data = bytes(range(256)) * 40 + b"odd"  # not a multiple of 4
    grouped = b"".join(data[position::4] for position in range(4))
    serialized = _chunk(data, 2, lz4.frame.compress(grouped)) + _chunk(b"plain")
    xorb = Xorb(serialized)
    assert [xorb.chunk(0), xorb.chunk(1)] == [data, b"plain"]


def test_a_xorb_is_stored_only_under_the_hash_of_its_chunks(hub: PodiumServer, tokens, repos) -> None:
    cas = _Cas(hub, tokens["alice"], repos["alice"])
    body, digest = _xorb([b"first chunk", b"second chunk"])
    _, other_digest = _xorb([b"what another upload will send"])
    before = set(_stored_xorbs(hub))

    planted = cas.xorb(body, other_digest)
    assert planted.status_code == 400 and "hash to" in planted.json()["error"], planted.text
    # Lying headers: a chunk longer than the xorb, an unknown compression, LZ4 that unpacks past its header's size.
    truncated = cas.xorb(body[:-3], digest)
    assert truncated.status_code == 400 and "runs past the end" in truncated.json()["error"]
    unknown = cas.xorb(_chunk(b"data", 9, b"data"), digest)
    assert unknown.status_code == 400 and "compression 9" in unknown.json()["error"]
    bomb = cas.xorb(_chunk(b"x" * 10, 1, lz4.frame.compress(bytes(128 * 1024))), digest)
    assert bomb.status_code == 400 and "unpacks to other than the 10 bytes" in bomb.json()["error"]
    assert set(_stored_xorbs(hub)) == before

    oversized = cas.xorb(bytes(MAX_XORB_SIZE + 1), digest)
    assert oversized.status_code == 413 and "at most" in oversized.json()["error"]
    assert set(_stored_xorbs(hub)) == before

    assert cas.xorb(body, digest).json() == {"was_inserted": True}
    assert cas.xorb(body, digest).json() == {"was_inserted": False}


def test_a_shard_uses_only_chunks_its_uploader_had(hub: PodiumServer, tokens, repos) -> None:
    """Knowing a xorb's hash reads nothing: a term must carry the hash of its chunks' hashes, which Podium
    never hands out, so only someone who had the chunks can make it."""
    secret = b"bob's private weights " * 100
    body, digest = _xorb([secret])
    bob = _Cas(hub, tokens["bob"], repos["bob"])
    assert bob.xorb(body, digest).status_code == 200
    sha = hashlib.sha256(secret).hexdigest()

    alice = _Cas(hub, tokens["alice"], repos["alice"])
    guessed = _term(digest, [secret], 0, 1)[:4] + (bytes(32),)  # the xorb's hash and sizes, not its chunks
    refused = alice.shard(_shard([(sha, [guessed])]))
    assert refused.status_code == 400 and "verification hash" in refused.json()["error"], refused.text
    unverified = _shard([(sha, [_term(digest, [secret], 0, 1)])]).replace(
        struct.pack("<I", 1 << 31 | 1 << 30), struct.pack("<I", 1 << 30), 1
    )
    refused = alice.shard(unverified)
    assert refused.status_code == 400 and "verification hashes" in refused.json()["error"], refused.text
    stolen = _commit_pointer(hub, tokens["alice"], repos["alice"], "stolen.bin", secret)
    assert stolen.status_code == 422, stolen.text

    # The control: bob's own shard. And whoever has the same content may reuse the stored xorb (as a
    # client deduplicates against what it uploaded before), without sending its bytes again.
    assert bob.shard(_shard([(sha, [_term(digest, [secret], 0, 1)])])).status_code == 200
    assert _commit_pointer(hub, tokens["bob"], repos["bob"], "weights.bin", secret).status_code == 200
    assert alice.shard(_shard([(sha, [_term(digest, [secret], 0, 1)])])).status_code == 200


def test_a_shard_file_that_is_not_its_sha256_is_not_kept(hub: PodiumServer, tokens, repos) -> None:
    cas = _Cas(hub, tokens["alice"], repos["alice"])
    content = b"the real content " * 50
    body, digest = _xorb([content])
    assert cas.xorb(body, digest).status_code == 200
    claimed = b"what the commit will say it is"
    lying = cas.shard(_shard([(hashlib.sha256(claimed).hexdigest(), [_term(digest, [content], 0, 1)])]))
    assert lying.status_code == 400 and "hashes to sha256" in lying.json()["error"], lying.text
    assert _commit_pointer(hub, tokens["alice"], repos["alice"], "claimed.bin", claimed).status_code == 422

    # A term whose length is not its chunks', and one past the xorb's last chunk.
    sha = hashlib.sha256(content).hexdigest()
    short = cas.shard(_shard([(sha, [_term(digest, [content], 0, 1, len(content) - 1)])]))
    assert short.status_code == 400 and "is not the" in short.json()["error"]
    past = cas.shard(_shard([(sha, [_term(digest, [content], 0, 2)])]))
    assert past.status_code == 400 and "of a xorb of 1" in past.json()["error"]
    _, unsent = _xorb([content, b"never uploaded"])
    missing = cas.shard(_shard([(sha, [_term(unsent, [content], 0, 1)])]))
    assert missing.status_code == 400 and "not stored here" in missing.json()["error"]
    garbage = cas.shard(b"not a shard at all" * 10)
    assert garbage.status_code == 400 and "not a Xet shard" in garbage.json()["error"]
    # Files claiming more than one upload may hold are refused before a byte is rebuilt.
    huge = cas.shard(_shard([(sha, [_term(digest, [content], 0, 1, 2**32 - 1)])]))
    assert huge.status_code == 413 and "max_upload_size" in huge.json()["error"]


def test_xet_tokens_go_to_writers_and_reach_only_their_repository(hub: PodiumServer, tokens, repos) -> None:
    token_url = f"{hub.url}/api/models/{repos['alice']}/xet-write-token/main"
    assert httpx.get(token_url).status_code == 401
    assert httpx.get(token_url, headers={"Authorization": f"Bearer {tokens['alice-read']}"}).status_code == 403
    assert httpx.get(token_url, headers={"Authorization": f"Bearer {tokens['bob']}"}).status_code == 403

    # A signed-in browser's session cookie reads the API, but is never handed a credential: a page could send
    # a GET with the visitor's cookie, and a GET needs no CSRF token.
    browser = pages_session(hub, tokens["alice"])
    try:
        assert browser.get("/api/whoami-v2").json()["name"] == "alice"  # the control: the session works
        refused = browser.get(f"/api/models/{repos['alice']}/xet-write-token/main")
        assert refused.status_code == 401 and "browser session" in refused.json()["error"], refused.text
    finally:
        browser.close()

    cas = _Cas(hub, tokens["alice"], repos["alice"])
    body, digest = _xorb([b"a file for alice/xet-weights only"])
    for forged in ("", "nonsense", cas.token[:-2] + "xx"):
        answer = cas.post(f"/v1/xorbs/default/{digest}", body, token=forged or "-")
        assert answer.status_code == 401, (forged, answer.text)
    content = b"a file for alice/xet-weights only"
    assert cas.xorb(body, digest).status_code == 200
    shard = _shard([(hashlib.sha256(content).hexdigest(), [_term(digest, [content], 0, 1)])])
    assert cas.shard(shard).status_code == 200
    assert _commit_pointer(hub, tokens["alice"], repos["alice"], "mine.bin", content).status_code == 200
    # The shard made the file alice/xet-weights's, not every repository alice can write.
    assert _commit_pointer(hub, tokens["alice"], repos["alice-other"], "copied.bin", content).status_code == 422


def test_the_preupload_answer_sends_only_lfs_tracked_files_ahead(hub: PodiumServer, tokens, repos) -> None:
    answer = httpx.post(
        f"{hub.url}/api/models/{repos['alice-other']}/preupload/main",
        json={"files": [{"path": "model.safetensors", "size": 10}, {"path": "config.json", "size": 10}]},
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )
    modes = {file["path"]: file["uploadMode"] for file in answer.json()["files"]}
    assert modes == {"model.safetensors": "lfs", "config.json": "regular"}, answer.text


def test_podium_removes_what_uploads_cut_short_left_when_it_starts(tmp_path: Path) -> None:
    """A xorb half received an hour ago, and xorbs a day old whose shard never came (no chunk of them in a
    rebuilt file), go; a xorb just stored and one whose chunks files hold stay."""
    data = tmp_path / "data"
    store = XorbStore(data)

    def stored(chunks: list[bytes]) -> Path:
        body, digest = _xorb(chunks)
        with store.incoming() as incoming:
            incoming.write(body)
            store.put(parse_hash_hex(digest), incoming)
        [path] = [path for path in (data / "xet" / "xorbs").rglob(digest)]
        return path

    day_ago = time.time() - 25 * 3600
    abandoned, recent, partly_placed = stored([b"abandoned"]), stored([b"recent"]), stored([b"one", b"two"])
    store.place({parse_hash_hex(partly_placed.name): {0: Placement("0" * 64, 0, 3)}})  # chunk 0 is in a file
    half_received = data / "xet" / "incoming" / "cut-short"
    half_received.write_bytes(b"\0" * 100)
    for path in (abandoned, partly_placed, half_received):
        os.utime(path, (day_ago, day_ago))

    server = PodiumServer(data, free_port(), free_port(), {}).start()
    try:
        deadline = time.monotonic() + 30
        while (abandoned.exists() or half_received.exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not abandoned.exists() and not half_received.exists()
        assert recent.exists() and partly_placed.exists()
    finally:
        server.stop()
