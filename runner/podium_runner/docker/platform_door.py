"""How a space's container reaches the platform's endpoints for apps (`HF_ENDPOINT`, OAuth): through a relay
Podium opens at its own address on the spaces network, which carries each connection to the platform's Unix
socket for apps (the door: Podium serves there only its OpenID Connect endpoints and the Hub's read routes of
models and datasets, podium.oauth.door), as the process backend's relay does inside each sandbox.

A container reaches the host at its network's gateway: that traffic is the host's input, not traffic between
containers, so the network's inter-container communication being off does not stop it, and the container
needs no route to wherever the pages are published. Podium in a container of its own, joined to the spaces
network (`reach_by_ip`), is reached at its address there instead. The relay listens on a port the kernel
picks, which the container learns from its variables and keeps in a label (`LABEL`), so that a restarted
Podium opens the relay again where the containers it adopts look for it.

Every container on the network can reach the relay: it answers what Podium's public pages answer anyway, and
at most `PER_CONTAINER` connections at once from one container (by its address), so a space cannot starve
another's downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from podium_runner.process.platform_door import carrier

LABEL = "org.podium.platform-door"  # {"host": ..., "port": ..., "socket": "/…/door.sock"}
PER_CONTAINER = 32
logger = logging.getLogger("podium_runner.docker")


@dataclasses.dataclass(frozen=True)
class Door:
    """One relay's ends: where containers connect (`host`, `port`) and the platform's socket it carries to."""

    host: str
    port: int
    socket: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def label(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_label(cls, text: str) -> Door | None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            said = json.loads(text)
            return cls(str(said["host"]), int(said["port"]), str(said["socket"]))
        return None


def podium_address(network_attrs: dict[str, Any], own_container: dict[str, Any] | None) -> str:
    """Where containers on the network (inspect data) reach Podium: its address on the network when its own
    container (inspect data; None on a host) is joined to it, else the network's gateway, the host's."""
    if own_container is not None:
        joined = (own_container["NetworkSettings"].get("Networks") or {}).get(network_attrs["Name"]) or {}
        if joined.get("IPAddress"):
            return joined["IPAddress"]
    for pool in (network_attrs.get("IPAM") or {}).get("Config") or []:
        if pool.get("Gateway"):
            return pool["Gateway"].split("/")[0]
    raise OSError(f"the Docker network {network_attrs['Name']} has no gateway address for its containers to reach")


class PlatformDoors:
    """The relays this Podium holds open, one per address and socket."""

    def __init__(self) -> None:
        self._open: dict[Door, tuple[asyncio.Server, int]] = {}  # with the socket folder's descriptor
        self._opening = asyncio.Lock()  # spaces starting at once share one relay

    async def open(self, host: str, platform_socket: str) -> Door:
        """A relay at `host` (on a port the kernel picks) to `platform_socket`; the one already open there, if any."""
        async with self._opening:
            for door in self._open:
                if (door.host, door.socket) == (host, platform_socket):
                    return door
            return await self._listen(host, 0, platform_socket)

    async def reopen(self, door: Door) -> None:
        """The relay `door` names, at its own port, for a container an earlier Podium started: OSError if the
        port is taken meanwhile."""
        async with self._opening:
            if door not in self._open:
                await self._listen(door.host, door.port, door.socket)

    async def _listen(self, host: str, port: int, platform_socket: str) -> Door:
        # The socket is reached through a descriptor of its folder: a data folder's path may be longer than a
        # Unix socket's name can be (107 bytes), and this way it also survives the folder being renamed.
        folder = os.open(Path(platform_socket).parent, os.O_PATH | os.O_DIRECTORY)
        try:
            name = f"/proc/self/fd/{folder}/{Path(platform_socket).name}"
            relay = carrier(name, PER_CONTAINER)
            server = await asyncio.start_server(relay, host=host, port=port, family=socket.AF_INET)
        except BaseException:
            os.close(folder)
            raise
        door = Door(host, server.sockets[0].getsockname()[1], platform_socket)
        self._open[door] = (server, folder)
        logger.info("containers reach the platform's endpoints for apps at %s", door.url)
        return door

    async def close(self) -> None:
        for server, folder in self._open.values():
            server.close()
            os.close(folder)
        self._open.clear()
