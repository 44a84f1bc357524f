"""Hosts the network attack tests stand up themselves, so that no packet is ever sent anywhere else.

`fake_hosts()` makes a network namespace joined to the host by a veth pair, and removes it after:
- 198.18.0.1, the host's end: one more of the host's own (non-loopback) addresses;
- 198.18.0.2, a host "outside" (the benchmark range, RFC 2544), which spaces must reach;
- 169.254.169.254 in that namespace too, a fake cloud metadata service, which they must not.
One server in the namespace answers on both with a banner naming the address it was reached at.
The `hosts` fixture holds them for a test module. `banner_server(address)` is a server on the host
itself that answers with a banner of its own.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

HOST_END = "198.18.0.1"
OUTSIDE = "198.18.0.2"
METADATA = "169.254.169.254"
FAKE_PORT = 18080  # inside the test's own namespace: no other listener there

# Answers every connection with "FAKE-HOST <the address it was reached at>".
_NAMESPACE_SERVER = textwrap.dedent(f"""
    import socket, threading
    server = socket.create_server(("0.0.0.0", {FAKE_PORT}))
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        connection.sendall(f"FAKE-HOST {{connection.getsockname()[0]}}\\n".encode())
        connection.close()
""")


@dataclass(frozen=True)
class FakeHosts:
    namespace: str
    port: int = FAKE_PORT


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def fake_hosts() -> Iterator[FakeHosts]:
    tag = uuid.uuid4().hex[:6]
    namespace, host_end, far_end = f"podium-test-{tag}", f"pt{tag}h", f"pt{tag}n"
    _ip("netns", "add", namespace)
    server = None
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", far_end, "netns", namespace)
        _ip("addr", "add", f"{HOST_END}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        inside = ["-n", namespace]
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "addr", "add", f"{OUTSIDE}/30", "dev", far_end)
        _ip(*inside, "addr", "add", f"{METADATA}/32", "dev", far_end)
        _ip(*inside, "link", "set", far_end, "up")
        _ip(*inside, "route", "add", "default", "via", HOST_END)
        # Only this one address of the link-local range leads there, and only while the test runs.
        _ip("route", "add", f"{METADATA}/32", "via", OUTSIDE, "dev", host_end)
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", _NAMESPACE_SERVER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield FakeHosts(namespace)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        # Deleting the namespace deletes the veth pair, and with it the host's address and route.
        subprocess.run(["ip", "netns", "del", namespace], check=False)
        deadline = time.monotonic() + 5
        while subprocess.run(["ip", "link", "show", host_end], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, f"{host_end} outlived its namespace"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def hosts() -> Iterator[FakeHosts]:
    with fake_hosts() as made:
        yield made


@contextlib.contextmanager
def banner_server(address: str, banner: str) -> Iterator[int]:
    """A server on the host at `address` (a free port, given) that sends `banner` to whoever connects."""
    server = socket.create_server((address, 0))
    server.settimeout(0.2)  # so that the loop sees `stopping`
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            with contextlib.suppress(OSError):
                connection, _ = server.accept()
                with connection:
                    connection.sendall(banner.encode() + b"\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stopping.set()
        server.close()
        thread.join(5)


def first_line_from(address: str, port: int, timeout: float = 3.0) -> str:
    """What the host itself reads at address:port: the banner's line, or the error's name."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as connection:
            return connection.makefile().readline().strip()
    except OSError as exc:
        return type(exc).__name__
