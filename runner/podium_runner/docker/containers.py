"""How one space runs as a container: the hardened settings, the labels, and reading a container back.

Everything here is a plain function of its inputs, so the settings a container gets can be read and
tested in one place: Podium's spaces network (`network.py`), loopback-only port, uid 1000, no
capabilities, no privilege gain, read-only root with a tmpfs /tmp, a /data volume per space, the
flavor's limits, the model cache read-only, GPUs by id, and labels that let a restarted Podium find
its containers again. A seat's container (seats.py) has the same settings, its /data, app folder and
control folder bound from its seat folder instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import DeviceRequest, Mount

from podium_runner.backend import Instance, LogTail
from podium_runner.docker.dockerfile import APP_DIR, DATA_DIR
from podium_runner.docker.platform_door import LABEL as PLATFORM_DOOR_LABEL
from podium_runner.hardware import Flavor

LABEL_MANAGED = "org.podium.managed"
LABEL_SPACE = "org.podium.space"
LABEL_GPUS = "org.podium.gpus"
LABEL_APP_PORT = "org.podium.app-port"
LABEL_SEAT = "org.podium.seat"  # a seat's folder name (seats.py); its space label is empty
TMP_SIZE = "1g"
SEAT_CONTROL = "/podium-seat"


@dataclass(frozen=True)
class SeatFolder:
    """A seat's folder on the engine's host. Its `data` is bound at /data with `rslave` propagation, so
    the space's volume, mounted on it on the host once the seat is taken, reaches the running container;
    `app` (the space's code, copied in then) and `control` (the seat's program and its FIFO) read-only."""

    path: Path

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def app(self) -> Path:
        return self.path / "app"

    @property
    def control(self) -> Path:
        return self.path / "control"

    def mounts(self) -> list[Mount]:
        return [
            Mount(DATA_DIR, str(self.data), type="bind", propagation="rslave"),
            Mount(APP_DIR, str(self.app), type="bind", read_only=True),
            Mount(SEAT_CONTROL, str(self.control), type="bind", read_only=True),
        ]


def volume_name(space_id: str) -> str:
    """The named volume that keeps a space's /data across restarts and rebuilds."""
    return "podium-data-" + re.sub(r"[^a-z0-9_.-]+", "-", space_id.lower().replace("/", "--"))


def container_name(space_id: str, suffix: str) -> str:
    return "podium-" + re.sub(r"[^a-zA-Z0-9_.-]+", "-", space_id.replace("/", "--")) + "-" + suffix


def run_settings(
    *,
    image: str,
    name: str,
    space_id: str,
    network: str,
    app_port: int,
    publish_host: str | None,
    publish_port: int,
    command: list[str] | None,
    environment: dict[str, str],
    flavor: Flavor,
    host_cpus: int,
    model_cache: str | None,
    gpu_ids: tuple[str, ...],
    platform_door: str | None = None,
    seat: SeatFolder | None = None,
) -> dict[str, Any]:
    """Keyword arguments for docker-py's `containers.create`. `platform_door`: the label naming the relay
    the container reaches the platform through (platform_door.py). `seat`: a seat's container, for no
    space yet (`space_id` empty)."""
    volumes: dict[str, dict[str, str]] = {} if seat else {volume_name(space_id): {"bind": DATA_DIR, "mode": "rw"}}
    if model_cache:
        volumes[model_cache] = {"bind": model_cache, "mode": "ro"}
    settings: dict[str, Any] = {
        "image": image,
        "name": name,
        "network": network,
        "command": command,
        "environment": environment,
        "user": "1000:1000",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={TMP_SIZE},mode=1777"},
        "volumes": volumes,
        "mem_limit": flavor.memory_bytes,
        "memswap_limit": flavor.memory_bytes,  # no swap: a hog hits the limit instead of the disk
        # The engine refuses more CPUs than the host has; a small host gives what it can.
        "nano_cpus": int(min(flavor.cpus, host_cpus) * 1_000_000_000),
        "pids_limit": flavor.pids,
        "labels": {
            LABEL_MANAGED: "1",
            LABEL_SPACE: space_id,
            LABEL_GPUS: ",".join(gpu_ids),
            LABEL_APP_PORT: str(app_port),
        },
        "detach": True,
    }
    if publish_host is not None:
        settings["ports"] = {f"{app_port}/tcp": (publish_host, publish_port or None)}
    if platform_door:
        settings["labels"][PLATFORM_DOOR_LABEL] = platform_door
    if seat:
        settings["mounts"] = seat.mounts()
        settings["labels"][LABEL_SEAT] = seat.path.name
    if gpu_ids:
        settings["device_requests"] = [DeviceRequest(device_ids=list(gpu_ids), capabilities=[["gpu"]])]
    return settings


def networks_of(attrs: dict[str, Any]) -> list[str]:
    """The names of the networks a container is on (inspect data)."""
    return list(attrs["NetworkSettings"].get("Networks") or {})


@dataclass(frozen=True)
class ContainerDetails:
    """What the docker backend keeps about an instance beyond what every `Instance` has. `id` is the
    container's id (also the instance's), under the key every Podium release has saved it."""

    id: str
    name: str = ""
    image: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "image": self.image}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ContainerDetails:
        return cls(id=state["id"], name=state.get("name", ""), image=state.get("image", ""))


def instance_of(attrs: dict[str, Any], reach_on: str | None, logs: LogTail) -> Instance:
    """The `Instance` a container is, from what the engine says about it (inspect data): its labels
    alone rebuild what Podium saved, so a restarted Podium finds it again.

    `reach_on`: the network whose IP Podium reaches it at; None, its port published on the host."""
    labels = attrs["Config"].get("Labels") or {}
    app_port = labels.get(LABEL_APP_PORT, "")
    if reach_on is not None:
        address = ((attrs["NetworkSettings"].get("Networks") or {}).get(reach_on) or {}).get("IPAddress")
        url = f"http://{address}:{app_port}" if address else ""
    else:
        bindings = (attrs["NetworkSettings"].get("Ports") or {}).get(f"{app_port}/tcp") or []
        url = f"http://{bindings[0]['HostIp']}:{bindings[0]['HostPort']}" if bindings else ""
    return Instance(
        backend="docker",
        instance_id=attrs["Id"],
        space_id=labels.get(LABEL_SPACE, ""),
        url=url,
        gpu_ids=tuple(gpu for gpu in labels.get(LABEL_GPUS, "").split(",") if gpu),
        details=ContainerDetails(attrs["Id"], attrs["Name"].lstrip("/"), attrs["Config"].get("Image", "")),
        logs=logs,
    )


def exit_reason(state: dict[str, Any]) -> str:
    if state.get("OOMKilled"):
        return "out of memory"
    code = state.get("ExitCode")
    error = state.get("Error")
    return f"exited with code {code}" + (f" ({error})" if error else "")
