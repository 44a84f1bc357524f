"""The relay containers reach Podium's door through (podium_runner.docker.platform_door) is shared by every
container on the spaces network: one container opening connections without end must not starve the others.
Each address gets at most PER_CONTAINER at once; here two loopback addresses stand for two containers.

It also reaches a door whose path is longer than a Unix socket's name may be, and a restarted Podium opens a
relay again at the address its adopted containers were told."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from podium_runner.docker.platform_door import PER_CONTAINER, Door, PlatformDoors

HOSTILE, NEIGHBOUR = "127.0.0.2", "127.0.0.1"


async def _door(folder: Path) -> asyncio.AbstractServer:
    """A stand-in for Podium's door: answers each line with the same line."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()

    folder.mkdir(parents=True)
    descriptor = os.open(folder, os.O_PATH | os.O_DIRECTORY)  # the path is too long to bind by name
    try:
        return await asyncio.start_unix_server(echo, path=f"/proc/self/fd/{descriptor}/door.sock")
    finally:
        os.close(descriptor)


async def _connect(door: Door, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(door.host, door.port, local_addr=(source, 0))


async def _carried(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], text: str) -> bool:
    reader, writer = connection
    writer.write(f"{text}\n".encode())
    await writer.drain()
    return await asyncio.wait_for(reader.readline(), 10) == f"{text}\n".encode()


def test_one_container_cannot_take_every_connection_of_the_relay(tmp_path: Path) -> None:
    async def story() -> None:
        folder = tmp_path / ("a-long-data-folder-" * 6) / "door"  # past the 107 bytes of a socket's name
        door_server = await _door(folder)
        doors = PlatformDoors()
        try:
            door = await doors.open(NEIGHBOUR, str(folder / "door.sock"))
            assert await doors.open(NEIGHBOUR, str(folder / "door.sock")) == door  # one relay per address
            hostile = [await _connect(door, HOSTILE) for _ in range(PER_CONTAINER)]
            assert all([await _carried(connection, f"hog {n}") for n, connection in enumerate(hostile)])
            one_more = await _connect(door, HOSTILE)
            assert await asyncio.wait_for(one_more[0].read(), 10) == b""  # closed unanswered
            assert await _carried(await _connect(door, NEIGHBOUR), "the neighbour still gets through")
            hostile.pop()[1].close()
            await asyncio.sleep(0.2)
            assert await _carried(await _connect(door, HOSTILE), "a freed slot is the hog's again")
        finally:
            await doors.close()
            door_server.close()

    asyncio.run(story())


def test_a_restarted_podium_opens_the_relay_again_where_its_containers_look(tmp_path: Path) -> None:
    async def story() -> None:
        door_server = await _door(tmp_path / "door")
        first, again = PlatformDoors(), PlatformDoors()
        try:
            door = await first.open(NEIGHBOUR, str(tmp_path / "door" / "door.sock"))
            assert Door.from_label(door.label()) == door
            await first.close()  # Podium stops; its containers keep their HF_ENDPOINT
            await again.reopen(door)
            assert await _carried(await _connect(door, NEIGHBOUR), "back where it was")
            taken = socket.create_server((NEIGHBOUR, 0))
            host, port = taken.getsockname()
            with pytest.raises(OSError):
                await PlatformDoors().reopen(Door(host, port, door.socket))
            taken.close()
        finally:
            await again.close()
            door_server.close()

    asyncio.run(story())
