"""Uploads stream through, sockets keep their protocol and close codes, and failures say what to do."""

from __future__ import annotations

import http.client
import json
import socket
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


def test_an_endless_stream_ends_upstream_when_the_client_leaves(proxy, probe, spaces):
    """A browser tab closed on Gradio's heartbeat must not leave the proxy reading it forever. While it is
    open, the stream is a visit to the space (which keeps it from sleeping); it ends with the stream."""
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
