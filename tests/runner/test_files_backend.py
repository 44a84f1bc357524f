"""The files backend serves a static space's checkout from Podium's own process (podium_runner/files.py),
so a hostile checkout must not reach past its own folder: a symlink to a file outside it is a 404, not
the file; a missing file is a 404, not a 500; and nothing but GET and HEAD is answered."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest
from podium_runner.backend_router import BackendRouter
from podium_runner.files import FilesBackend
from podium_runner.plan import RunContext, make_plan
from podium_runner.spec import load_spec
from podium_runner.testing import FakeBackend

from tests.support.process_spaces import free_port, write_space


@pytest.mark.anyio
async def test_a_static_space_serves_its_files_and_nothing_a_symlink_leads_out_to(tmp_path: Path) -> None:
    secret = tmp_path / "podium-data" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the host's secret")
    site = write_space(tmp_path / "site", "sdk: static", "<h1>Home</h1>", app_file="index.html")
    (site / "leak.txt").symlink_to(secret)
    (site / "up").symlink_to(tmp_path / "podium-data")
    (site / "home.html").symlink_to(site / "index.html")  # inside the checkout: fine
    (site / "inner").mkdir()
    (site / "inner" / "out").symlink_to(tmp_path / "podium-data")  # a link below a real folder

    backend = FilesBackend()
    plan = make_plan(load_spec(site))
    backend.check(plan)
    instance = await backend.start(
        plan, await backend.prepare(plan, print), RunContext("alice/site", free_port()), print
    )
    try:
        assert await backend.poll(instance) is None
        async with httpx.AsyncClient(base_url=instance.url) as client:
            home = await client.get("/")
            assert home.status_code == 200 and home.text == "<h1>Home</h1>"
            assert (await client.get("/home.html")).text == "<h1>Home</h1>"
            for path in (
                "nope.html",
                "leak.txt",
                "up/secret.txt",
                "inner/out/secret.txt",
                "inner/../up/secret.txt",
                "../podium-data/secret.txt",
                "%2e%2e/podium-data/secret.txt",
            ):
                answer = await client.get(f"/{path}")
                assert answer.status_code == 404 and "secret" not in answer.text, path
            assert (await client.post("/index.html")).status_code == 405
    finally:
        await backend.stop(instance)
    assert await backend.poll(instance) is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(instance.url, timeout=5)


@pytest.mark.anyio
async def test_small_files_read_without_a_thread_answer_as_the_threaded_path_does(tmp_path: Path) -> None:
    """Files up to 64 KiB are read on the event loop; what a client gets (headers, 304, ranges, HEAD, the
    folder redirect) is what StaticFiles' threaded path gives for a larger file or a deep one, and nothing
    in the checkout that is not a regular file (a FIFO, which an open would block on) is read."""
    site = write_space(tmp_path / "site", "sdk: static", "<h1>Home</h1>", app_file="index.html")
    (site / "big.html").write_bytes(b"<p>" + b"x" * (64 * 1024) + b"</p>")  # past the small-file limit
    (site / "docs").mkdir()
    (site / "docs" / "index.html").write_text("<h1>Docs</h1>")
    os.mkfifo(site / "pipe.html")
    deep = site.joinpath(*["d"] * 20)  # deeper than the event loop walks: StaticFiles' threaded lookup
    deep.mkdir(parents=True)
    (deep / "page.html").write_text("<p>deep</p>")

    backend = FilesBackend()
    plan = make_plan(load_spec(site))
    instance = await backend.start(
        plan, await backend.prepare(plan, print), RunContext("alice/site", free_port()), print
    )
    try:
        async with httpx.AsyncClient(base_url=instance.url, timeout=10) as client:
            small, big = await client.get("/index.html"), await client.get("/big.html")
            assert small.text == "<h1>Home</h1>" and big.content == (site / "big.html").read_bytes()
            for answer, path in ((small, site / "index.html"), (big, site / "big.html")):
                assert answer.headers["content-type"] == "text/html; charset=utf-8"
                assert answer.headers["content-length"] == str(path.stat().st_size)
                assert answer.headers["accept-ranges"] == "bytes"
                assert answer.headers["etag"] and answer.headers["last-modified"]
            assert (await client.get("/")).text == "<h1>Home</h1>"
            assert (await client.get("/", headers={"if-none-match": small.headers["etag"]})).status_code == 304
            since = {"if-modified-since": small.headers["last-modified"]}
            assert (await client.get("/index.html", headers=since)).status_code == 304
            part = await client.get("/index.html", headers={"range": "bytes=0-3"})
            assert part.status_code == 206 and part.text == "<h1>"
            head = await client.head("/index.html")
            assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "13"
            assert (await client.get("/docs/")).text == "<h1>Docs</h1>"
            moved = await client.get("/docs")
            assert moved.status_code == 307 and moved.headers["location"].endswith("/docs/")
            assert (await client.get("/pipe.html")).status_code == 404
            assert (await client.get("/" + "d/" * 20 + "page.html")).text == "<p>deep</p>"
            (site / "index.html").write_text("<h1>Home, pushed again</h1>")
            assert (await client.get("/")).text == "<h1>Home, pushed again</h1>"
    finally:
        await backend.stop(instance)


@pytest.mark.anyio
async def test_each_response_leaves_at_once_without_waiting_for_the_clients_ack(tmp_path: Path) -> None:
    """Nagle's algorithm is off on the connections it accepts: with it on, the body (uvicorn's second
    write) waited for the client's delayed ACK, 40 ms a request, 23 requests/s per connection."""
    site = write_space(tmp_path / "site", "sdk: static", "<h1>Home</h1>", app_file="index.html")
    backend = FilesBackend()
    plan = make_plan(load_spec(site))
    port = free_port()
    instance = await backend.start(plan, await backend.prepare(plan, print), RunContext("alice/site", port), print)
    try:
        async with httpx.AsyncClient(base_url=instance.url) as client:
            assert (await client.get("/")).status_code == 200  # the connection stays open, kept alive
            sockets = _own_tcp_sockets()
            try:
                served = [sock for sock in sockets if sock.getsockname()[1] == port]
                assert served, "no accepted connection found in this process"
                assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in served)
            finally:
                for sock in sockets:
                    sock.close()  # duplicates: the connections themselves stay open
    finally:
        await backend.stop(instance)


def _own_tcp_sockets() -> list[socket.socket]:
    """This process's connected TCP sockets (the files backend serves from the caller's process)."""
    found = []
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            try:
                sock.getpeername()
                found.append(sock)
                continue
            except OSError:
                pass
        sock.close()
    return found


@pytest.mark.anyio
async def test_the_router_sends_static_spaces_to_the_files_backend_and_the_rest_to_the_operators(
    tmp_path: Path,
) -> None:
    operators, files = FakeBackend(), FilesBackend()
    router = BackendRouter(operators, files)
    site = make_plan(load_spec(write_space(tmp_path / "site", "sdk: static", "<p>hi</p>", app_file="index.html")))
    app = make_plan(load_spec(write_space(tmp_path / "app", "sdk: gradio", "print('hi')")))
    assert router.name == operators.name

    served = await router.start(site, await router.prepare(site, print), RunContext("alice/site", free_port()), print)
    assert served.backend == "files"
    assert await router.adopt(served.state, print) is None  # its server ended with the Podium that ran it
    await router.stop(served)
    assert await router.poll(served) is not None

    started = await router.start(app, await router.prepare(app, print), RunContext("alice/app", free_port()), print)
    assert started.backend == operators.name
    # A state saved before instances named their backend is the operator's backend's to adopt.
    older = {key: value for key, value in started.state.items() if key != "backend"}
    assert (await router.adopt(older, print)) is not None
    await router.close()
