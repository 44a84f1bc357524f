"""Nothing a space owner sends or prints makes Podium's own memory grow without bound.

mallory, with an ordinary write token, attacks a real `podium serve` (process backend) with what
costs her little: an app that prints 200 MB without a newline, a live-log reader that never reads
while her app chatters, multipart uploads without a Content-Length past the limit, tar archives whose
long-name or pax headers unpack to 80 MB, a huge JSON body, a New space form without its CSRF token
carrying a big file, and three builds at once. Each gets a clear 4xx (or its log says what
happened), and Podium's resident memory (its peak, from /proc) rises by less than `BOUND_MIB`.
Every request goes to 127.0.0.1 only, and each flood is bounded in size and time.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import itertools
import socket
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from hypothesis import given, settings
from hypothesis import strategies as st
from podium_runner.docker.bases import BOOTSTRAP_BASE
from podium_runner.loglines import CUT_MARKER, MAX_LINE_BYTES, LineSplitter

from tests.security.resource_probes import (
    MiB,
    log_lines,
    multipart,
    podium_memory,
    send_until_answered,
    wait_for_line,
    zeros,
)
from tests.support.podium_server import PodiumServer
from tests.support.process_spaces import stdlib_app, write_space
from tests.support.tokens import csrf_of, make_token, pages_session

BOUND_MIB = 50
# What the two sockets of one loopback connection may hold between the attacker and Podium (the
# receiving buffer grows to tcp_rmem's 32 MiB here): bytes "sent" that Podium never read.
IN_FLIGHT = 40 * MiB
UPLOAD_LIMIT = 32 * MiB
FILE_LIMIT = 8 * MiB
GRADIO = "title: Resource attack\nsdk: gradio"


@pytest.fixture(scope="module")
def podium(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    return start_podium(
        env={"PODIUM_LIMITS__MAX_UPLOAD_SIZE": str(UPLOAD_LIMIT), "PODIUM_LIMITS__MAX_FILE_SIZE": str(FILE_LIMIT)}
    )


@pytest.fixture(scope="module")
def mallory(podium: PodiumServer) -> str:
    """mallory's write token: an ordinary user's."""
    return make_token(podium, name="mallory's", user="mallory")[1]


def _push(podium: PodiumServer, token: str, space_id: str, folder: Path) -> str:
    api = HfApi(endpoint=podium.url, token=token)
    api.create_repo(space_id, repo_type="space", space_sdk="gradio")
    api.upload_folder(repo_id=space_id, folder_path=folder, repo_type="space")
    return podium.wait_for_stage(space_id, timeout=300, token=token)["stage"]


def _session(podium: PodiumServer, token: str) -> tuple[httpx.Client, str]:
    """A pages session signed in with `token`, and the CSRF token of its New space form."""
    client = pages_session(podium, token)
    return client, csrf_of(client.get("/new").text)


# -- logs ------------------------------------------------------------------------------------------

FLOOD = """
import sys, threading, time

def flood():
    time.sleep(2)  # after the server's "listening on" line
    out = sys.stdout.buffer
    out.write(b"before the flood\\n")
    block = b"x" * (1024 * 1024)
    for _ in range(200):  # 200 MB, not one newline
        out.write(block)
    out.write(b"\\nafter the flood\\n")
    out.flush()

threading.Thread(target=flood).start()
"""


@pytest.fixture(scope="module")
def docker_podium(start_podium: Callable[..., PodiumServer]) -> PodiumServer:
    return start_podium(env={"PODIUM_BACKEND": "docker", "PODIUM_DOCKER_BASE_IMAGE": BOOTSTRAP_BASE})


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_an_app_printing_200_mb_without_a_newline_leaves_podiums_memory_alone(
    request: pytest.FixtureRequest, mallory: str, tmp_path: Path, backend: str
) -> None:
    podium: PodiumServer = request.getfixturevalue("podium" if backend == "process" else "docker_podium")
    token = mallory if backend == "process" else podium.token
    folder = write_space(tmp_path / "flood", GRADIO, stdlib_app(FLOOD))
    with podium_memory(podium) as growth:
        assert _push(podium, token, "mallory/flood", folder) == "RUNNING"
        lines = wait_for_line(podium, "mallory/flood", "after the flood", timeout=300)
    assert "after the flood" in lines, lines[-5:]
    # The Logs page shows where the line began and that it was cut, and the lines around it.
    cut = "x" * MAX_LINE_BYTES + CUT_MARKER
    assert lines.index("before the flood") + 1 == lines.index(cut) == lines.index("after the flood") - 1
    assert max(len(line.encode()) for line in lines) == len(cut.encode())
    assert growth.mib < BOUND_MIB, f"Podium grew by {growth.mib:.0f} MiB reading the flood"


@settings(max_examples=300, deadline=None)
@given(
    output=st.lists(st.sampled_from([b"\n", b"\r\n", b"ab", b"\xff", "é".encode(), b"x" * 5000]), max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=9000), min_size=1, max_size=20),
)
def test_whatever_an_app_prints_and_however_it_arrives_no_line_passes_the_cap(
    output: list[bytes], cuts: list[int]
) -> None:
    """The property at the boundary between an app's output and Podium: however the bytes are split
    into reads, every line that fits arrives whole and no line is longer than the cap and its marker."""
    data = b"".join(output)
    splitter, lines, start = LineSplitter(), [], 0
    for size in itertools.cycle(cuts):
        if start >= len(data):
            break
        lines += splitter.feed(data[start : start + size])
        start += size
    lines += splitter.end()
    expected = data.split(b"\n")[: -1 if data.endswith(b"\n") or not data else None]
    assert len(lines) == len(expected)
    for line, raw in zip(lines, expected, strict=True):
        if len(raw) <= MAX_LINE_BYTES:
            assert line == raw.decode(errors="replace").rstrip("\r")
        else:
            assert line == raw[:MAX_LINE_BYTES].decode(errors="replace").rstrip("\r") + CUT_MARKER


CHATTER = """
import sys, threading, time

def chatter():
    time.sleep(8)  # the test's slow reader connects meanwhile
    out = sys.stdout.buffer
    for number in range(100_000):  # 100 MB of 1 KB lines, as fast as the app can write them
        out.write(b"%06d " % number + b"y" * 1000 + b"\\n")
    out.write(b"chatter done\\n")
    out.flush()

threading.Thread(target=chatter).start()
"""


def _never_reading(podium: PodiumServer, token: str, path: str) -> socket.socket:
    """A live-log reader that asks for `path` and then never reads (a small window, too)."""
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(("127.0.0.1", podium.port))
    reader.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return reader


def _read_to_the_end(reader: socket.socket) -> bytes:
    reader.settimeout(30)
    received = b""
    while not received.endswith(b"0\r\n\r\n") and (data := reader.recv(1 << 20)):
        received += data
    return received


READERS = 64  # each costs Podium about 350 KiB at most: its queue, its transport buffer, its connection


def test_live_log_readers_that_never_read_are_dropped_not_buffered(
    podium: PodiumServer, mallory: str, tmp_path: Path
) -> None:
    folder = write_space(tmp_path / "chatter", GRADIO, stdlib_app(CHATTER))
    assert _push(podium, mallory, "mallory/chatter", folder) == "RUNNING"
    with contextlib.ExitStack() as stack:
        growth = stack.enter_context(podium_memory(podium))
        readers = [
            stack.enter_context(_never_reading(podium, mallory, "/api/spaces/mallory/chatter/logs/run"))
            for _ in range(READERS)
        ]
        lines = wait_for_line(podium, "mallory/chatter", "chatter done", timeout=180)
        assert "chatter done" in lines, lines[-3:]
        received = [_read_to_the_end(reader) for reader in readers]
    # What each reader gets once it reads: the lines it kept up with, then the line that says it fell
    # behind, and the end of the stream, never the 100 MB it left behind.
    for stream in received:
        assert b"fell behind the log by more than 500 lines or 64 KiB and was dropped" in stream[-2000:]
        assert stream.endswith(b"0\r\n\r\n") and len(stream) < 20 * MiB
    assert growth.mib < BOUND_MIB, f"Podium grew by {growth.mib:.0f} MiB for {READERS} readers that never read"


# -- uploads ---------------------------------------------------------------------------------------


def _static_space(podium: PodiumServer, token: str, space_id: str, tmp_path: Path) -> str:
    """A space with one page; returns its head commit."""
    api = HfApi(endpoint=podium.url, token=token)
    api.create_repo(space_id, repo_type="space", space_sdk="static")
    folder = write_space(tmp_path / space_id.replace("/", "-"), "sdk: static", "<p>victim</p>", app_file="index.html")
    return api.upload_folder(repo_id=space_id, folder_path=folder, repo_type="space").oid


@pytest.mark.parametrize("route", ["api", "new-space-page"])
def test_a_chunked_multipart_upload_past_the_limit_is_refused_while_it_streams(
    podium: PodiumServer, mallory: str, tmp_path: Path, route: str
) -> None:
    boundary = uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"}
    if route == "api":
        head = _static_space(podium, mallory, "mallory/chunked", tmp_path)
        path, fields = "/api/spaces/mallory/chunked/upload", {}
        headers["Authorization"] = f"Bearer {mallory}"
    else:
        session, csrf = _session(podium, mallory)
        path = "/new"
        fields = {"csrf_token": csrf, "owner": "mallory", "name": "chunked-new", "sdk": "static", "source": "upload"}
        headers["Cookie"] = f"podium_session={session.cookies['podium_session']}"
    with podium_memory(podium) as growth:
        answer = send_until_answered(
            podium, "POST", path, headers, multipart(boundary, fields, "big.bin", zeros(8 * UPLOAD_LIMIT))
        )
    assert answer.status == 413, answer.body[:300]
    assert "max_upload_size" in answer.json()["error"]
    assert answer.sent < UPLOAD_LIMIT + IN_FLIGHT, "Podium read on past its limit"
    assert growth.mib < BOUND_MIB
    api = HfApi(endpoint=podium.url, token=mallory)
    if route == "api":
        assert api.space_info("mallory/chunked").sha == head  # nothing committed
    else:
        assert not api.repo_exists("mallory/chunked-new", repo_type="space")


def test_a_commit_line_longer_than_any_file_is_refused_while_it_streams(
    podium: PodiumServer, mallory: str, tmp_path: Path
) -> None:
    head = _static_space(podium, mallory, "mallory/ndjson", tmp_path)
    header = b'{"key": "header", "value": {"summary": "one endless line"}}\n'
    endless = [b'{"key": "file", "value": {"path": "big.txt", "content": "', *(b"A" * 65536 for _ in range(4096))]
    with podium_memory(podium) as growth:
        answer = send_until_answered(
            podium,
            "POST",
            "/api/spaces/mallory/ndjson/commit/main",
            {"Authorization": f"Bearer {mallory}", "Content-Type": "application/x-ndjson"},
            [header, *endless],
        )  # 256 MiB in one line
    assert answer.status == 413 and "max_file_size" in answer.json()["error"], answer.body[:300]
    assert answer.sent < FILE_LIMIT * 4 // 3 + IN_FLIGHT  # the longest line a file's base64 needs
    assert growth.mib < BOUND_MIB
    assert HfApi(endpoint=podium.url, token=mallory).space_info("mallory/ndjson").sha == head


def _tar_gz(member: tarfile.TarInfo, tar_format: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tar_format) as archive:
        archive.addfile(member, io.BytesIO(b"print('hi')\n"))
    return buffer.getvalue()


def _long_name_bomb() -> bytes:
    """A GNU ././@LongLink header naming one file with 80 MB of 'a'."""
    member = tarfile.TarInfo("a" * (80 * MiB))
    member.size = len(b"print('hi')\n")
    return _tar_gz(member, tarfile.GNU_FORMAT)


def _pax_bomb() -> bytes:
    """A pax header of 80 MB of records before one small file."""
    member = tarfile.TarInfo("app.py")
    member.size = len(b"print('hi')\n")
    member.pax_headers = {"comment": "c" * (80 * MiB)}
    return _tar_gz(member, tarfile.PAX_FORMAT)


@pytest.mark.parametrize("bomb", [_long_name_bomb, _pax_bomb], ids=["long-name", "pax"])
def test_tar_headers_that_unpack_to_80_mb_are_refused(
    podium: PodiumServer, mallory: str, tmp_path: Path, bomb: Callable[[], bytes]
) -> None:
    space_id = f"mallory/tar-{bomb.__name__.strip('_').replace('_', '-')}"
    head = _static_space(podium, mallory, space_id, tmp_path)
    archive = bomb()
    assert len(archive) < 200 * 1024  # what mallory sends
    with podium_memory(podium) as growth:
        answer = httpx.post(
            f"{podium.url}/api/spaces/{space_id}/upload",
            files={"files": ("bomb.tar.gz", archive)},
            headers={"Authorization": f"Bearer {mallory}"},
            timeout=60,
        )
    assert answer.status_code == 413 and "header" in answer.json()["error"], answer.text
    assert growth.mib < BOUND_MIB, f"Podium grew by {growth.mib:.0f} MiB unpacking {len(archive)} bytes"
    assert HfApi(endpoint=podium.url, token=mallory).space_info(space_id).sha == head


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_huge_json_body_is_refused_past_max_body_size(
    podium: PodiumServer, mallory: str, tmp_path: Path, declared: bool
) -> None:
    space_id = f"mallory/json-{'declared' if declared else 'chunked'}"
    _static_space(podium, mallory, space_id, tmp_path)
    size = 256 * MiB
    body = [b'{"key": "HUGE", "value": "', *zeros(size - 40), b'"}']
    with podium_memory(podium) as growth:
        answer = send_until_answered(
            podium,
            "POST",
            f"/api/spaces/{space_id}/variables",
            {"Authorization": f"Bearer {mallory}", "Content-Type": "application/json"},
            body,
            length=sum(map(len, body)) if declared else None,
        )
    assert answer.status == 413 and "max_body_size" in answer.json()["error"], answer.body[:300]
    assert answer.sent < 1 * MiB + IN_FLIGHT
    assert growth.mib < BOUND_MIB
    variables = httpx.get(
        f"{podium.url}/api/spaces/{space_id}/variables", timeout=30, headers={"Authorization": f"Bearer {mallory}"}
    ).json()
    assert "HUGE" not in variables


def test_a_forged_settings_form_carrying_a_big_file_is_refused_past_max_body_size(
    podium: PodiumServer, mallory: str, tmp_path: Path
) -> None:
    """The Settings tab's forms hold a name and a value: a multipart post there (no token, a file of
    256 MiB) is cut off at max_body_size before its CSRF token is even looked for."""
    _static_space(podium, mallory, "mallory/settings-form", tmp_path)
    session, _ = _session(podium, mallory)
    boundary = uuid.uuid4().hex
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": f"podium_session={session.cookies['podium_session']}",
    }
    with podium_memory(podium) as growth:
        answer = send_until_answered(
            podium,
            "POST",
            "/spaces/mallory/settings-form/settings/variables",
            headers,
            multipart(boundary, {"key": "A", "value": "b"}, "big.bin", zeros(256 * MiB)),
        )
    assert answer.status == 413 and "max_body_size" in answer.json()["error"], answer.body[:300]
    assert answer.sent < 1 * MiB + IN_FLIGHT
    assert growth.mib < BOUND_MIB


def _after_a_pause(chunks: Iterator[bytes], pause_s: float) -> Iterator[bytes]:
    """`chunks`, the first of them `pause_s` late: Podium has everything before them meanwhile."""
    time.sleep(pause_s)
    yield from chunks


def test_a_new_space_form_without_its_csrf_token_is_refused_before_its_file_is_read(
    podium: PodiumServer, mallory: str
) -> None:
    session, csrf = _session(podium, mallory)  # the victim is signed in; the attacker's page posts for her
    boundary = uuid.uuid4().hex
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Accept": "application/json",
        "Cookie": f"podium_session={session.cookies['podium_session']}",
    }
    fields = {"owner": "mallory", "name": "forged", "sdk": "static", "source": "upload"}
    big = 24 * MiB  # under the upload limit: only the missing token can stop it early
    with podium_memory(podium) as growth:
        # The form's fields and its file's header go at once; the file's content follows 3 s later.
        forged = send_until_answered(
            podium, "POST", "/new", headers, multipart(boundary, fields, "big.bin", _after_a_pause(zeros(big), 3))
        )
    assert forged.status == 403 and "csrf_token" in forged.json()["error"]
    assert forged.sent < 64 * 1024, f"Podium waited for the file: {forged.sent} bytes were sent"
    assert growth.mib < BOUND_MIB
    assert not HfApi(endpoint=podium.url, token=mallory).repo_exists("mallory/forged", repo_type="space")
    # The negative control: with its token the same form is read to its end (and refused for what it
    # says: files chosen while "Start from" says a template).
    honest = send_until_answered(
        podium,
        "POST",
        "/new",
        headers,
        multipart(
            boundary, {"csrf_token": csrf, **fields, "source": "template"}, "big.bin", _after_a_pause(zeros(big), 3)
        ),
    )
    assert honest.status == 400 and "You chose files" in honest.json()["error"]
    assert honest.sent > big  # every byte of the file, and the form around it


# -- builds ----------------------------------------------------------------------------------------

WHEEL = "stamp-1.0-py3-none-any.whl"


def _stamp_wheel() -> bytes:
    """A wheel no build has seen (its module holds a fresh id), so the spaces that ask for it need a
    new environment: the first of them builds it while the others wait."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stamp/__init__.py", f"STAMP = {uuid.uuid4().hex!r}\n")
        archive.writestr("stamp-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: stamp\nVersion: 1.0\n")
        archive.writestr(
            "stamp-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr("stamp-1.0.dist-info/RECORD", "")
    return buffer.getvalue()


def test_three_builds_at_once_with_one_slot_wait_in_line_and_say_where(
    start_podium: Callable[..., PodiumServer], tmp_path: Path
) -> None:
    server = start_podium(env={"PODIUM_MAX_CONCURRENT_BUILDS": "1"})
    wheel = _stamp_wheel()
    spaces = [f"admin/queued-{number}" for number in range(3)]
    folders = []
    for space_id in spaces:
        folder = write_space(
            tmp_path / space_id.replace("/", "-"), GRADIO, stdlib_app(), requirements=f"./wheels/{WHEEL}\n"
        )
        (folder / "wheels").mkdir()
        (folder / "wheels" / WHEEL).write_bytes(wheel)
        folders.append(folder)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        stages = list(pool.map(lambda pair: _push(server, server.token, *pair), zip(spaces, folders, strict=True)))
    assert stages == ["RUNNING"] * 3, stages
    logs = {space_id: log_lines(server, space_id, "build") for space_id in spaces}
    waits = {
        space_id: [line for line in lines if line.startswith("Waiting for a build slot")]
        for space_id, lines in logs.items()
    }
    # One built at once; the second said one build was ahead, the third two, then one as the line moved.
    assert sorted(len(lines) for lines in waits.values()) == [0, 1, 2], waits
    last = next(space_id for space_id, lines in waits.items() if len(lines) == 2)
    assert [line.split(":")[1].split("(")[0].strip() for line in waits[last]] == ["2 builds ahead", "1 build ahead"]
    for space_id, lines in waits.items():
        if lines:
            assert "A build slot is free: building now" in logs[space_id]
    assert time.monotonic() - started < 400
