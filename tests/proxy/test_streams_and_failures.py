"""Uploads stream through, sockets keep their protocol and close codes, and failures say what to do."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import logging
import socket
import socketserver
import threading
import time

import pytest
import websockets

from tests.support.process_spaces import free_port

MiB = 1024 * 1024


def test_a_large_upload_reaches_the_app_while_the_client_is_still_sending(proxy, probe):
    """The proxy must not hold the body: the app sees the first megabyte before the rest is sent."""
    probe.first_body_chunk.clear()
    total = 64 * MiB
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    connection.putrequest("POST", "/apps/lab/probe/upload")
    connection.putheader("Content-Length", str(total))
    connection.putheader("Content-Type", "application/octet-stream")
    connection.endheaders()
    connection.send(b"x" * MiB)
    assert probe.first_body_chunk.wait(10), "the app got nothing until the whole body was sent"
    for _ in range(total // MiB - 1):
        connection.send(b"x" * MiB)
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"bytes": total}
    connection.close()


async def _probe_socket(url: str, origin: str) -> tuple[dict, bytes, int | None, str]:
    async with websockets.connect(
        url,
        subprotocols=["chat.v2", "token-abc"],
        origin=origin,
        additional_headers={"Cookie": "session=abc"},
    ) as ws:
        handshake = json.loads(await ws.recv())
        await ws.send("ping through the bridge")
        echoed = await ws.recv()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert ws.subprotocol == "chat.v2"
        return handshake, echoed, closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.anyio
async def test_a_websocket_keeps_subprotocols_and_cookies_and_the_apps_close_code(proxy, probe, spaces):
    handshake, echoed, code, _ = await _probe_socket(f"ws://127.0.0.1:{proxy.port}/apps/lab/probe/socket", proxy.url)
    assert handshake["subprotocols"] == ["chat.v2", "token-abc"]
    assert handshake["headers"]["cookie"] == "session=abc"
    # The app sees its own origin, not the browser's: apps reject origins they do not know.
    assert handshake["headers"]["origin"] == spaces.upstreams["lab/probe"].base_url
    assert echoed == b"ping through the bridge"
    assert code == 4001


def _get(proxy, path: str, accept: str) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("GET", path, headers={"Accept": accept})
    response = connection.getresponse()
    answer = response.status, response.getheader("content-type"), response.read().decode()
    connection.close()
    return answer


def test_a_space_whose_app_is_down_answers_502_saying_what_to_do(proxy, spaces):
    spaces.add("lab/down", f"http://127.0.0.1:{free_port()}")
    status, content_type, text = _get(proxy, "/apps/lab/down/", "text/html")
    assert status == 502 and content_type.startswith("text/html")
    assert "Space lab/down is not answering" in text and "podium logs lab/down" in text
    status, content_type, text = _get(proxy, "/apps/lab/down/gradio_api/info", "application/json")
    assert status == 502 and content_type.startswith("text/plain") and "Connection refused" in text


@pytest.mark.anyio
async def test_a_websocket_to_a_space_whose_app_is_down_is_refused_with_502(proxy, spaces):
    spaces.add("lab/down-ws", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"ws://127.0.0.1:{proxy.port}/apps/lab/down-ws/socket"):
            pass
    assert refused.value.response.status_code == 502
    assert b"lab/down-ws" in refused.value.response.body


def test_an_unknown_space_is_a_404_page_not_a_stack_trace(proxy):
    status, _, text = _get(proxy, "/apps/nobody/nothing/", "text/html")
    assert status == 404 and "There is no space nobody/nothing" in text
    status, _, text = _get(proxy, "/elsewhere", "text/plain")
    assert status == 404 and "/apps/{owner}/{name}/" in text


def test_an_endless_stream_ends_upstream_when_the_client_leaves(proxy, probe, spaces, caplog):
    """A browser tab closed on Gradio's heartbeat must not leave the proxy reading it forever. While it is
    open, the stream is a visit to the space (which keeps it from sleeping); it ends with the stream, and
    quietly: the client left, the app broke off nothing."""
    caplog.set_level(logging.WARNING, logger="podium.proxy.http")
    probe.stream_closed.clear()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
        client.sendall(b"GET /apps/lab/probe/forever HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"data: tick" in client.recv(4096) + client.recv(4096)
        assert spaces.open_visits["lab/probe"] == 1
    assert probe.stream_closed.wait(10), "the app's stream stayed open after the client left"
    deadline = time.monotonic() + 10
    while spaces.open_visits["lab/probe"]:
        assert time.monotonic() < deadline, "the visit stayed open after the stream ended"
        time.sleep(0.05)
    assert not [record.getMessage() for record in caplog.records if "lab/probe" in record.getMessage()]


@pytest.mark.anyio
async def test_the_clients_close_code_reaches_the_app(proxy, probe):
    probe.socket_closed.clear()
    async with websockets.connect(f"ws://127.0.0.1:{proxy.port}/apps/lab/probe/socket") as ws:
        await ws.recv()
        await ws.close(code=4002, reason="tab closed")
    assert probe.socket_closed.wait(10)
    assert probe.client_close_code == 4002


def test_host_mode_finds_a_space_whose_owner_and_name_hold_dashes(proxy, probe, spaces):
    spaces.add("my-lab/deep-probe", spaces.upstreams["lab/probe"].base_url)
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request("GET", "/headers", headers={"Host": f"my-lab-deep-probe.localhost:{proxy.port}"})
    response = connection.getresponse()
    # my/lab-deep-probe and my-lab-deep/probe are asked about too, and are not spaces.
    assert response.status == 200 and json.loads(response.read())["path"] == "/apps/my-lab/deep-probe/headers"
    connection.close()


class _RawApp(socketserver.ThreadingTCPServer):
    """An app that speaks HTTP by hand (its `handler`), to misbehave in ways a real server would not; serving
    on a loopback port from a thread of its own."""

    daemon_threads = True

    def __init__(self, handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ClosingApp(_RawApp):
    """An app whose keep-alive runs out just as the proxy sends the next request on a pooled connection,
    made certain: each connection answers its first `answered` requests (keeping the connection open, each
    answer after `delay_s`) and closes on the next one without a word. Records each request's first line."""

    def __init__(self, answered: int, delay_s: float = 0.0) -> None:
        self.answered, self.delay_s = answered, delay_s
        self.requests: list[bytes] = []
        super().__init__(_ClosingHandler)


class _ClosingHandler(socketserver.StreamRequestHandler):
    server: _ClosingApp

    def handle(self) -> None:
        for answer in range(self.server.answered + 1):
            head = [self.rfile.readline()]
            while head[-1] not in (b"\r\n", b""):
                head.append(self.rfile.readline())
            if head[-1] == b"":
                return  # the proxy closed it
            self.server.requests.append(head[0].strip())
            length = next((int(line.split(b":")[1]) for line in head if line.lower().startswith(b"content-length")), 0)
            self.rfile.read(length)
            if answer == self.server.answered:
                return  # closed, unanswered
            time.sleep(self.server.delay_s)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nanswered")


def _send(proxy, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    connection.request(method, path, body=body, headers={"Accept": "text/plain"})
    response = connection.getresponse()
    answer = response.status, response.read().decode()
    connection.close()
    return answer


def test_a_get_on_pooled_connections_the_app_has_all_closed_is_tried_again(proxy, spaces):
    """A page's first burst of requests leaves six connections pooled, idle since the same moment; the app
    closes them together as its keep-alive runs out. A script the page fetches then must still load."""
    app = _ClosingApp(answered=1, delay_s=0.5)  # slow answers: the burst needs six connections at once
    spaces.add("lab/closing", app.url)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        burst = list(pool.map(lambda n: _send(proxy, "GET", f"/apps/lab/closing/{n}.js"), range(6)))
    assert burst == [(200, "answered")] * 6 and len(app.requests) == 6
    # Before the tries this was a 502 ("broke off the request (ServerDisconnectedError...)"): aiohttp's own
    # second send took the next closed connection.
    assert _send(proxy, "GET", "/apps/lab/closing/chunk.js") == (200, "answered")
    assert app.requests[6:] == [b"GET /apps/lab/closing/chunk.js HTTP/1.1"] * 7  # six closed, one new


def test_a_post_is_never_sent_twice_and_an_app_that_closes_every_time_is_a_502(proxy, spaces):
    app = _ClosingApp(answered=1)
    spaces.add("lab/closing-post", app.url)
    assert _send(proxy, "GET", "/apps/lab/closing-post/") == (200, "answered")
    status, text = _send(proxy, "POST", "/apps/lab/closing-post/run", body=b"do it once")
    assert status == 502 and "podium logs lab/closing-post" in text
    # The app may have acted on it: never sent again.
    assert app.requests.count(b"POST /apps/lab/closing-post/run HTTP/1.1") == 1

    silent = _ClosingApp(answered=0)
    spaces.add("lab/silent", silent.url)
    status, text = _send(proxy, "GET", "/apps/lab/silent/")
    assert status == 502 and "podium logs lab/silent" in text
    assert len(silent.requests) == 8  # a bounded number of sends, then the error


class _CuttingHandler(socketserver.StreamRequestHandler):
    """An app that promises 100 bytes, sends 10 and closes the connection."""

    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nContent-Length: 100\r\n\r\n0123456789")


def test_an_answer_the_app_breaks_off_reaches_the_client_cut_and_is_logged(proxy, spaces, caplog):
    caplog.set_level(logging.WARNING, logger="podium.proxy.http")
    app = _RawApp(_CuttingHandler)
    spaces.add("lab/cutting", app.url)
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    connection.request("GET", "/apps/lab/cutting/chunk.js")
    response = connection.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):  # cut, never passed off as a whole script
        response.read()
    connection.close()
    app.shutdown()
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert "lab/cutting: GET /apps/lab/cutting/chunk.js: the app broke off its answer" in said, said
