"""The one way out of an app's network namespace to the platform: a relay that listens on the namespace's
own `127.0.0.1:7850` and carries each connection to the platform's Unix socket for apps (Podium serves its
OpenID Connect endpoints and the Hub's read routes of models and datasets there, nothing else: podium.oauth.door).

The app's namespace reaches nothing of the host's loopback (network.py); its server-side OAuth code
must still fetch the provider's discovery document and exchange codes. The relay is a process of its own,
started by root through `nsenter` into the app's namespace only: it binds its listening socket there,
enters the socket's folder, then drops to `nobody` before it accepts a byte, and ends when the app's
sandbox does (a pidfd of its first process). Being in a session of its own, it outlives a restart of Podium together
with the app, like slirp4netns. It runs this file with `python -I` and imports nothing outside the
standard library.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from asyncio import StreamReader, StreamWriter
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium_runner.plan import PlatformAddress

INSIDE_PORT = 7850
INSIDE_URL = f"http://127.0.0.1:{INSIDE_PORT}"
NOBODY = 65534
_MAX_CONNECTIONS = 32
_READY = b"ready\n"
# A Python start-up: a fraction of a second, but many seconds on a host busy starting apps (six examples
# importing torch at once took it past 10 s), and an app cannot start without its door.
_START_TIMEOUT_S = 60.0


def inside(platform: PlatformAddress | None) -> PlatformAddress | None:
    """The platform's address as an app in a network of its own reaches it: the relay, where the platform
    offers a socket for it."""
    if platform is None or not platform.socket:
        return platform
    return replace(platform, url=INSIDE_URL)


async def open_door(namespace_pid: int, platform_socket: str, log_path: Path) -> None:
    """Start the relay in the network namespace of `namespace_pid` (the first process inside the app's
    sandbox), to `platform_socket`; returns once it listens, or raises OSError saying why not."""
    from podium_runner.process.sandbox import ROOT_ENVIRONMENT, system_tool

    nsenter = system_tool("nsenter")
    if nsenter is None:
        raise OSError("nsenter is not installed (Debian: apt-get install util-linux)")
    with log_path.open("ab") as log:
        relay = subprocess.Popen(
            [nsenter, f"--net=/proc/{namespace_pid}/ns/net", "--", sys.executable, "-I", __file__]
            + [str(namespace_pid), platform_socket],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=ROOT_ENVIRONMENT,
            start_new_session=True,  # it serves an app that may outlive Podium
        )
    try:
        said = await asyncio.wait_for(asyncio.to_thread(relay.stdout.readline), _START_TIMEOUT_S)
    except TimeoutError:
        relay.kill()
        said = b""
    finally:
        relay.stdout.close()
    if said != _READY:
        raise OSError(f"the relay to the platform did not start (exit code {relay.poll()}; see {log_path.name})")


async def _pipe(reader: StreamReader, writer: StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


def carrier(name: str, per_peer: int = _MAX_CONNECTIONS) -> Callable[[StreamReader, StreamWriter], Awaitable[None]]:
    """A `start_server` callback carrying each connection to the Unix socket `name`, at most `per_peer`
    connections at once from one address (an app here; one container each where many share a relay,
    podium_runner.docker.platform_door): an app cannot pile up connections, nor starve another's."""
    open_by_peer: Counter[str] = Counter()

    async def carry(reader: StreamReader, writer: StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        if open_by_peer[peer] >= per_peer:
            writer.close()
            return
        open_by_peer[peer] += 1
        try:
            inner_reader, inner_writer = await asyncio.open_unix_connection(name)
        except OSError:
            writer.close()
        else:
            await asyncio.gather(_pipe(reader, inner_writer), _pipe(inner_reader, writer))
            writer.close()
            inner_writer.close()
        finally:
            open_by_peer[peer] -= 1
            if not open_by_peer[peer]:
                del open_by_peer[peer]

    return carry


async def _relay(listener: socket.socket, name: str, app_ended: int) -> None:
    ended = asyncio.Event()
    asyncio.get_running_loop().add_reader(app_ended, ended.set)
    server = await asyncio.start_server(carrier(name), sock=listener)
    sys.stdout.buffer.write(_READY)
    sys.stdout.flush()
    async with server:
        await ended.wait()


def main(argv: list[str]) -> None:
    namespace_pid, platform_socket = int(argv[0]), Path(argv[1])
    if os.stat("/proc/self/ns/net").st_ino == os.stat(f"/proc/{os.getppid()}/ns/net").st_ino:
        sys.exit("the relay refuses to listen in its caller's own network: it belongs in an app's namespace")
    app_ended = os.pidfd_open(namespace_pid)  # readable once the sandbox's first process has gone
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by each accepted connection: with Nagle's algorithm on, a reply carried in two writes
    # waits for the app's delayed ACK (40 ms) before its second part leaves (podium_runner.files).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", INSIDE_PORT))
    listener.listen(64)
    # In the socket's folder, which it then names relatively: the socket stays reachable once privileges
    # are gone, whatever the modes of the folders above it (Podium's data folder is root's alone).
    os.chdir(platform_socket.parent)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    asyncio.run(_relay(listener, platform_socket.name, app_ended))


if __name__ == "__main__":
    main(sys.argv[1:])
