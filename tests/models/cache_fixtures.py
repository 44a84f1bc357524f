"""Fixtures of issue 12's items 3 and 4 (tests/models/test_spaces_load_models.py, test_pull_through.py).

`origin`: a real `podium serve` that plays the upstream Hub, holding models. `upstream`: a counting relay
in front of it on 127.0.0.1 (a test instrument, not a mock: every byte comes from the origin Podium) that
counts the file downloads the cache makes and can be taken away, as an upstream that goes down. `edge`: a
`podium serve` with `PODIUM_HUB_UPSTREAM` set to the relay, which spaces and clients use.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import free_port

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class CountingUpstream:
    """An HTTP relay on 127.0.0.1 to `target`, counting each GET of a file (`/resolve/`) by path."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.downloads: Counter[str] = Counter()
        self.port = free_port()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "accept-encoding")}
                answer = httpx.request(
                    self.command, relay.target + self.path, headers=headers, content=body, timeout=60
                )
                if self.command == "GET" and "/resolve/" in self.path:
                    relay.downloads[self.path.split("?")[0]] += 1
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                length = answer.headers.get("content-length") if self.command == "HEAD" else len(answer.content)
                self.send_header("Content-Length", str(length or 0))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_HEAD = do_POST = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def file_downloads(self, repo_id: str, filename: str) -> int:
        return sum(
            count
            for path, count in self.downloads.items()
            if path.startswith(f"/{repo_id}/resolve/") and path.endswith("/" + filename)
        )

    def go_away(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodiumServer]:
    server = PodiumServer(tmp_path_factory.mktemp("origin") / "data", free_port(), free_port(), {})
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def upstream(origin: PodiumServer) -> Iterator[CountingUpstream]:
    relay = CountingUpstream(origin.url)
    yield relay
    relay.go_away()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, upstream: CountingUpstream) -> Iterator[PodiumServer]:
    """A Podium caching `upstream`; a branch's sha is asked of the upstream on every read (refresh 0)."""
    env = {"PODIUM_HUB_UPSTREAM": upstream.url, "PODIUM_HUB_UPSTREAM_REFRESH_S": "0"}
    server = PodiumServer(tmp_path_factory.mktemp("edge") / "data", free_port(), free_port(), env)
    try:
        yield server.start()
    finally:
        server.stop()


def publish_model(api: HfApi, repo_id: str, files: dict[str, bytes], private: bool = False) -> str:
    """A model repository with `files` (made if new); the sha of the commit that wrote them."""
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    folder_commit = None
    for path, content in files.items():
        folder_commit = api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id, repo_type="model")
    assert folder_commit is not None
    return folder_commit.oid


def token_for(server: PodiumServer, user: str, **fields: object) -> str:
    answer = server.http().post("/api/tokens", json={"name": f"{user}'s", "user": user, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def read_back(path: str) -> bytes:
    return Path(path).read_bytes()
