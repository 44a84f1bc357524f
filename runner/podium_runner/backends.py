"""Backends by name: the one module that knows every backend. Callers (the platform, `podium run`)
pass plain settings and get the `Backend` interface; none imports a backend's internals."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from podium_runner.backend import Backend

log = logging.getLogger("podium_runner")

BackendName = Literal["process", "docker", "auto", "ray"]


def for_every_sdk(primary: Backend) -> Backend:
    """`primary` for the spaces that run code, and the files backend for static spaces (`BackendRouter`)."""
    from podium_runner.backend_router import BackendRouter
    from podium_runner.files import FilesBackend

    return BackendRouter(primary, FilesBackend())


def process_backend(
    home: Path,
    data: Path,
    *,
    environments: Path | None,
    outlive_caller: bool,
    data_size_gb: float | None,
    warm_starts: bool = False,
    warm_starter_memory_mb: int | None = 4096,
) -> Backend:
    """Spaces as sandboxed processes: run folders under `home`, environments and the uv cache under
    `environments` (shared by several Podiums, or `home` when None), each space's /data under `data`."""
    from podium_runner.process import ProcessBackend, ProcessFolders

    shared = environments or home
    folders = ProcessFolders(
        environments=shared / "environments", uv_cache=shared / "uv-cache", data=data, runs=home / "runs"
    )
    return ProcessBackend(
        folders,
        outlive_caller=outlive_caller,
        data_size_gb=data_size_gb,
        warm_starts=warm_starts,
        warm_memory_mb=warm_starter_memory_mb,
    )


def docker_backend(
    *,
    docker_host: str | None,
    base_image: str,
    ml_base_image: str | None,
    reach_by_ip: bool,
    cache_key: bytes,
    seats_folder: Path | None = None,
    seats_per_image: int = 0,
) -> Backend:
    """Spaces as containers of the engine at `docker_host`; `cache_key` keys each owner's BuildKit cache;
    `seats_per_image` started containers of each dependency image in use wait for a space's code."""
    from podium_runner.docker import DockerBackend

    return DockerBackend(
        docker_host=docker_host,
        base_image=base_image,
        ml_base_image=ml_base_image,
        reach_by_ip=reach_by_ip,
        cache_key=cache_key,
        seats_folder=seats_folder,
        seats_per_image=seats_per_image,
    )


def ray_backend(
    address: str,
    *,
    token: str | None,
    node_home: Path,
    data: Path,
    environments: Path | None,
    refused_networks: tuple[str, ...],
    gpu_fraction: float | None,
    logical_gpus: bool,
) -> Backend:
    """Spaces as detached actors of the Ray cluster at `address`: each node keeps environments and
    instances under `node_home` (or environments under `environments`), each space's /data under `data`."""
    try:
        from podium_runner.ray import RayBackend
        from podium_runner.ray.job import NodeFolders
    except ImportError as exc:
        raise ValueError(f"the ray backend needs Ray ({exc}): pip install 'podium[ray]'") from None
    return RayBackend(
        address,
        NodeFolders(home=node_home, data=data, environments=environments),
        token=token,
        refused_networks=refused_networks,
        gpu_fraction=gpu_fraction,
        logical_gpus=logical_gpus,
    )


def docker_unavailable_reason(docker_host: str | None) -> str | None:
    """Why no Docker engine answers at `docker_host` (for `auto`), or None when one does."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.DockerClient(base_url=docker_host, timeout=3) if docker_host else docker.from_env(timeout=3)
        client.ping()
    except DockerException as exc:
        return str(exc)
    return None
