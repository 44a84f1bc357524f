"""What a space's actor needs to run it on whichever node Ray places it: plain, picklable data, carried in
the actor's creation arguments so that Ray can start the actor again anywhere without Podium."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from podium_runner.plan import BuildPlan, RunContext


@dataclass(frozen=True)
class NodeFolders:
    """Where a node keeps things, the same path on every node. `home`: environments with their per-owner
    uv caches, and one folder per instance (node-local disk is right: each node builds and caches its
    own). `data`: the spaces' /data; shared storage mounted at the same path on every node makes /data
    follow a space to another node, a node-local folder leaves it behind on the node it was written on."""

    home: Path
    data: Path
    environments: Path | None = None  # environments and uv caches elsewhere than `home` (tests share one)


@dataclass(frozen=True)
class SpaceJob:
    name: str  # the actor's name: one instance of one space
    plan: BuildPlan  # its `space_root` is Podium's; the actor unpacks `files` on its node instead
    files: bytes  # the space's folder, as a tar
    context: RunContext  # host, port and gpu_ids are the node's, chosen by the actor
    folders: NodeFolders
    # Addresses the app (and its build) must not reach: every Ray node's, so no app talks to the cluster.
    refused: tuple[str, ...] = ()
    # Ray's GPUs are only numbers on these nodes (tests): the app is told its ids, no device node is bound.
    logical_gpus: bool = False
    crash_limit: int = 3  # app exits within `crash_window_s` after which the actor gives up
    crash_window_s: float = 60.0
    env: dict[str, str] = field(default_factory=dict)


def pack(folder: Path) -> bytes:
    """The space's files (no .git) as a tar, for the actor to unpack on its node."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".", filter=lambda info: None if info.name.startswith("./.git") else info)
    return buffer.getvalue()


def unpack(files: bytes, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(files)) as tar:
        tar.extractall(target, filter="data")  # Podium packed it, but no member leaves `target` regardless
    return target
