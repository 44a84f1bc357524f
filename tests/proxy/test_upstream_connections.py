"""The proxy's own HTTP client (podium.proxy.upstream_http) against an app that speaks raw HTTP/1.1 the
ways real apps may: keep-alive reuse, a connection closed without notice, HEAD, a body until the
connection ends, an answer before the upload is sent, interim 100 responses, garbage, and a slow client."""

from __future__ import annotations

import http.client
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from podium.proxy import ProxyApp, Upstream, upstream_http

from tests.proxy.proxy_harness import ServerThread

# Each handler gets the request head (bytes up to the blank line) and the socket's file, and answers.
Handler = Callable[[bytes, socketserver.StreamRequestHandler], bool]  # True: keep the connection


class RawApp(socketserver.ThreadingTCPServer):
    """An 'app' on 127.0.0.1 whose answers are written byte by byte by the test; counts connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.handler: Handler = lambda head, stream: False
        self.connections = 0
        self.closed = 0
        self.requests: list[bytes] = []
        app = self

        class Connection(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                app.connections += 1
                try:
                    self.exchange()
                finally:
                    app.closed += 1

            def exchange(self) -> None:
                while True:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = self.rfile.readline()
                        if not line:
                            return
                        head += line
                    app.requests.append(head)
                    if not app.handler(head, self):
                        return

        super().__init__(("127.0.0.1", 0), Connection)

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture(scope="module")
def raw_app() -> Iterator[RawApp]:
    app = RawApp()
    thread = threading.Thread(target=app.serve_forever, daemon=True)
    thread.start()
    yield app
    app.shutdown()
    app.server_close()


@pytest.fixture
def proxy(raw_app: RawApp) -> Iterator[ServerThread]:
    upstream = Upstream(f"http://127.0.0.1:{raw_app.port}", prefix="/apps/lab/raw")

    async def resolve(owner: str, name: str, scope) -> Upstream | None:
        return upstream if (owner, name) == ("lab", "raw") else None

    # Each test gets its own proxy, so that no pooled connection outlives it.
    with ServerThread(ProxyApp(resolve)) as server:
        yield server


@pytest.fixture
def app(raw_app: RawApp, proxy: ServerThread) -> RawApp:
    raw_app.connections, raw_app.closed, raw_app.requests = 0, 0, []
    return raw_app


def fetch(proxy: ServerThread, method: str = "GET", body: bytes | None = None, **headers: str):
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request(method, "/apps/lab/raw/x", body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def answer(body: bytes, *extra: bytes) -> Handler:
    def handle(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        length = int(dict(_headers(head)).get(b"content-length", b"0"))
        stream.rfile.read(length)
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%b\r\n" % (len(body), b"".join(extra)))
        if not head.startswith(b"HEAD "):
            stream.wfile.write(body)
        return True

    return handle


def _headers(head: bytes) -> list[tuple[bytes, bytes]]:
    lines = head.split(b"\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines if line)]


def test_requests_reuse_one_kept_alive_connection(proxy, app):
    app.handler = answer(b"hello")
    for _ in range(5):
        response, data = fetch(proxy)
        assert response.status == 200 and data == b"hello"
    assert app.connections == 1
    assert all(dict(_headers(head))[b"host"] == f"127.0.0.1:{app.port}".encode() for head in app.requests)


def test_idle_connections_are_closed_by_the_proxy_even_if_the_app_keeps_them(proxy, app, monkeypatch):
    monkeypatch.setattr(upstream_http, "KEEPALIVE_S", 0.3)
    app.handler = answer(b"kept")
    assert fetch(proxy)[1] == b"kept"
    deadline = time.monotonic() + 5
    while app.closed < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.closed == 1, "the idle connection stayed open"
    assert fetch(proxy)[1] == b"kept" and app.connections == 2


def test_a_connection_the_app_closed_after_answering_is_not_reused(proxy, app):
    def answer_then_close(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return False  # no Connection: close, yet the connection ends

    app.handler = answer_then_close
    for _ in range(3):
        time.sleep(0.05)
        response, data = fetch(proxy)
        assert (response.status, data) == (200, b"ok")
    assert app.connections == 3


def test_a_pooled_connection_dropped_as_it_is_reused_is_retried_on_a_new_one(proxy, app):
    served = []

    def answer_then_drop_the_next(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        served.append(head)
        if len(served) == 2:  # read the second request, then drop it unanswered, as a closing app does
            return False
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return True

    app.handler = answer_then_drop_the_next
    assert fetch(proxy)[1] == b"ok"
    response, data = fetch(proxy)
    assert (response.status, data) == (200, b"ok") and app.connections == 2 and len(served) == 3


def test_head_is_complete_at_its_headers(proxy, app):
    app.handler = answer(b"0123456789")
    response, data = fetch(proxy, "HEAD")
    assert response.status == 200 and response.getheader("content-length") == "10" and data == b""
    assert fetch(proxy)[1] == b"0123456789"


def test_a_body_without_length_lasts_until_the_connection_ends(proxy, app):
    def until_eof(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nfirst part, ")
        stream.wfile.flush()
        time.sleep(0.1)
        stream.wfile.write(b"last part")
        return False

    app.handler = until_eof
    response, data = fetch(proxy)
    assert (response.status, data) == (200, b"first part, last part")


def test_interim_100_responses_are_skipped(proxy, app):
    def continue_first(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return answer(b"after 100")(head, stream)

    app.handler = continue_first
    response, data = fetch(proxy, "POST", b"x" * 10)
    assert (response.status, data) == (200, b"after 100")


def test_an_answer_before_the_upload_ends_reaches_the_client_and_the_connection_is_dropped(proxy, app):
    def refuse(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\r\ntoo much")
        stream.wfile.flush()
        time.sleep(0.5)  # the rest of the body arrives unread; the connection must not carry another request
        return False

    app.handler = refuse
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.putrequest("POST", "/apps/lab/raw/upload")
    connection.putheader("Content-Length", str(8 * 1024 * 1024))
    connection.endheaders()
    try:
        for _ in range(8):
            connection.send(b"z" * 1024 * 1024)
    except OSError:
        pass  # the proxy may stop reading once the answer is out
    response = connection.getresponse()
    assert (response.status, response.read()) == (413, b"too much")
    connection.close()
    app.handler = answer(b"fresh")
    assert fetch(proxy)[1] == b"fresh"


def test_a_chunked_upload_is_sent_chunked(proxy, app):
    received = []

    def read_chunked(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        assert dict(_headers(head))[b"transfer-encoding"] == b"chunked"
        body = b""
        while size := int(stream.rfile.readline().strip(), 16):
            body += stream.rfile.read(size)
            stream.rfile.readline()
        stream.rfile.readline()
        received.append(body)
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return True

    app.handler = read_chunked
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("POST", "/apps/lab/raw/x", body=iter([b"one ", b"two ", b"three"]), encode_chunked=True)
    response = connection.getresponse()
    assert (response.status, response.read(), received) == (200, b"ok", [b"one two three"])
    connection.close()


def test_a_connection_that_brought_a_response_nobody_asked_for_is_not_reused(proxy, app):
    def two_answers(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none" * 2)
        return True

    app.handler = two_answers
    assert fetch(proxy)[1] == b"one"
    app.handler = answer(b"two")
    assert fetch(proxy)[1] == b"two" and app.connections == 2


def test_an_app_that_does_not_speak_http_is_a_502(proxy, app):
    def garbage(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        return False

    app.handler = garbage
    response, data = fetch(proxy)
    assert response.status == 502 and b"broke off" in data


def test_a_slow_client_holds_back_a_large_download_instead_of_buffering_it(proxy, app):
    """With the client not reading, the proxy stops reading from the app: most of a 256 MiB body stays unsent."""
    total = 256 * 1024 * 1024
    sent = [0]

    def large(head: bytes, stream: socketserver.StreamRequestHandler) -> bool:
        stream.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        block = b"d" * 65536
        try:
            while sent[0] < total:
                stream.wfile.write(block)
                sent[0] += len(block)
        except OSError:
            pass
        return False

    app.handler = large
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    client.sendall(b"GET /apps/lab/raw/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    time.sleep(1.5)
    assert sent[0] < total // 4, f"the app wrote {sent[0]} bytes to a client that read nothing"
    client.close()
