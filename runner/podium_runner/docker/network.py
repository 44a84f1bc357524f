"""The Docker network that space containers run on, which Podium creates when it first needs it.

On the engine's default bridge every container reaches every other one at its IP: one space could
call another's app port (a private space), or the unauthenticated reload server Gradio's `spaces`
package starts on 7887. So spaces get a network of their own, a bridge with inter-container
communication off (`com.docker.network.bridge.enable_icc=false`): dockerd then drops whatever one
container on the bridge sends to another (iptables `FORWARD -i br -o br -j DROP`; it filters IP only,
and spaces run without CAP_NET_RAW to send raw frames). The host, and through masquerading the
world outside, stay reachable (spaces download models), and Podium reaches each space at its port
published on 127.0.0.1.

`reach_by_ip` (Podium in a container of its own off the host's network, reaching spaces at their
IPs) cannot work with that: Podium's container would be one more container on the bridge, cut off
like the spaces. Publishing the spaces' ports on an address Podium's container reaches does not help
either: dockerd's userland proxy relays a connection from a container on the bridge to such an
address to the space, past the bridge's filter (measured: a container on a bridge with
inter-container communication off reached another's port published on a second bridge's gateway).
So there the spaces run on a bridge with inter-container communication on, which Podium's own
container joins: spaces can reach each other, as on the default bridge, but no longer the engine's
other containers, and Podium warns at start. Podium's container on the host's network
(`--network host`, README's way to run the image) reaches spaces on the host's loopback and keeps
them apart; `reach_by_ip_here` picks that whenever it can.

On either network, nothing reaches link-local addresses (cloud metadata): link_local.py.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from podium_runner.backend import BackendUnavailable, StartError
from podium_runner.docker import link_local

ICC_OPTION = "com.docker.network.bridge.enable_icc"
_OWN_CONTAINER = re.compile(r"/containers/([0-9a-f]{64})/")  # the engine mounts /etc/hosts from there


@dataclass(frozen=True)
class SpacesNetwork:
    name: str
    icc: bool  # whether containers on it reach each other
    podium_joins: bool = False  # whether Podium's own container, if it runs in one, is connected to it

    def settings(self) -> dict[str, object]:
        """Keyword arguments for docker-py's `api.create_network`."""
        return {
            "name": self.name,
            "driver": "bridge",
            "options": {ICC_OPTION: str(self.icc).lower()},
            "labels": {link_local.MANAGED_LABEL: "1"},
            "check_duplicate": True,
        }

    def differences(self, attrs: dict) -> list[str]:
        """How an existing network (inspect data) differs from what Podium needs, in words."""
        found = []
        if attrs.get("Driver") != "bridge":
            found.append(f"its driver is {attrs.get('Driver')}, not bridge")
        icc = (attrs.get("Options") or {}).get(ICC_OPTION, "true").lower() == "true"
        if icc != self.icc:
            found.append(f"inter-container communication is {'on' if icc else 'off'} ({ICC_OPTION})")
        if attrs.get("Internal"):
            found.append("it is internal (no way out for downloads)")
        return found


ISOLATED = SpacesNetwork("podium-spaces", icc=False)
SHARED = SpacesNetwork("podium-spaces-shared", icc=True, podium_joins=True)  # for reach_by_ip

_creating = threading.Lock()
_warned_unblocked: set[str] = set()
logger = logging.getLogger("podium_runner.docker")


def for_mode(reach_by_ip: bool) -> SpacesNetwork:
    return SHARED if reach_by_ip else ISOLATED


def reach_by_ip_here(client: Callable[[], docker.DockerClient]) -> bool:
    """Whether Podium must reach spaces by their IPs: it runs in a container of this engine off the host's
    network, where the ports spaces publish on the host's loopback are out of reach. On the host, or in a
    container on the host's network (`--network host`), it reaches them there, and they stay apart. The
    engine is asked (`client()`) only in a container: a backend is made before the engine answers."""
    if own_container_id() is None:
        return False
    try:
        own = own_container(client())
    except (docker.errors.DockerException, BackendUnavailable):  # no answer now: a container's usual case
        return True
    return own is not None and own["HostConfig"].get("NetworkMode") != "host"


def ensure(client: docker.DockerClient, network: SpacesNetwork, space_id: str) -> dict:
    """Create `network` unless it exists, refuse one that exists with other settings, and connect
    Podium's own container to it if it should; the network's inspect data."""
    with _creating:  # spaces starting at once would otherwise create it twice
        try:
            attrs = client.api.inspect_network(network.name)
        except docker.errors.NotFound:
            try:
                client.api.create_network(**network.settings())
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: another Podium created it just now
                    raise
            attrs = client.api.inspect_network(network.name)
        differences = network.differences(attrs)
        if differences:
            raise StartError(
                f"{space_id}: the Docker network {network.name} exists, but {'; '.join(differences)}. "
                f"Stop the containers on it and remove it (docker network rm {network.name}); "
                f"Podium creates it again as it needs it"
            )
        if network.podium_joins:
            _join(client, network, space_id)
    unblocked = link_local.block(attrs)
    if unblocked and network.name not in _warned_unblocked:
        _warned_unblocked.add(network.name)
        logger.warning(
            "WARNING: spaces on the Docker network %s can reach link-local addresses (cloud metadata, "
            "169.254.0.0/16): Podium could not block them, %s. Drop that traffic on the engine's host "
            "(iptables -I DOCKER-USER -i <the network's bridge> -d 169.254.0.0/16 -j DROP)",
            network.name,
            unblocked,
        )
    return attrs


def own_container_id(mountinfo: Path = Path("/proc/self/mountinfo")) -> str | None:
    """The id of the container this process runs in, if the engine made one (else None)."""
    try:
        match = _OWN_CONTAINER.search(mountinfo.read_text())
    except OSError:
        return None
    return match.group(1) if match else None


def own_container(client: docker.DockerClient) -> dict | None:
    """The inspect data of the container Podium runs in, if this engine made it (else None: a host, or a
    container of another engine)."""
    container_id = own_container_id()
    if container_id is None:
        return None
    try:
        return client.api.inspect_container(container_id)
    except docker.errors.NotFound:
        return None


def _join(client: docker.DockerClient, network: SpacesNetwork, space_id: str) -> None:
    """Connect Podium's own container to `network`, so that it reaches the spaces at their IPs."""
    own = own_container(client)
    if own is None:
        return  # a host reaches every bridge; from another engine's container only an operator can route
    container_id = own["Id"]
    if network.name in (own["NetworkSettings"]["Networks"] or {}):
        return
    try:
        client.api.connect_container_to_network(container_id, network.name)
    except docker.errors.APIError as exc:
        raise StartError(
            f"{space_id}: Podium could not connect its own container {container_id[:12]} to the "
            f"Docker network {network.name}, where it reaches spaces at their IPs: "
            f"{exc.explanation or exc}. Run Podium's container with --network {network.name}, "
            f"or on the host's network without PODIUM_DOCKER_REACH_BY_IP"
        ) from None
