"""Which `podium_runner` backend runs spaces, chosen by `PODIUM_BACKEND`, built from Podium's settings
by `podium_runner.backends` (the platform imports no backend's internals)."""

from __future__ import annotations

import logging

from podium_runner.backend import Backend
from podium_runner.backends import (
    docker_backend,
    docker_unavailable_reason,
    for_every_sdk,
    process_backend,
    ray_backend,
)

from podium.settings import Settings
from podium.signing import signer_for

log = logging.getLogger("podium")


def _docker(settings: Settings) -> Backend:
    return docker_backend(
        docker_host=settings.docker_host,
        base_image=settings.docker_base_image,
        ml_base_image=settings.docker_ml_base_image,
        reach_by_ip=settings.docker_reach_by_ip,
        # Names each owner's BuildKit uv cache: a key of this Podium's, so no owner can name another's.
        cache_key=signer_for(settings.data_dir).mac("buildkit-uv-cache", "").encode(),
        seats_folder=settings.data_dir / "docker-seats",
        seats_per_image=settings.docker_seats,
    )


def _process(settings: Settings) -> Backend:
    return process_backend(
        settings.data_dir / "process",
        settings.space_data_dir,
        environments=settings.environments_dir,
        outlive_caller=not settings.stop_spaces_on_exit,
        data_size_gb=settings.space_data_gb,
        warm_starts=settings.warm_starts,
        warm_starter_memory_mb=settings.warm_starter_memory_mb,
    )


def _ray(settings: Settings) -> Backend:
    if not settings.ray_address:
        raise ValueError("PODIUM_BACKEND=ray needs PODIUM_RAY_ADDRESS (ray://HEAD:10001, or HEAD:6379 on a Ray node)")
    return ray_backend(
        settings.ray_address,
        token=settings.ray_token.get_secret_value() if settings.ray_token else None,
        node_home=settings.ray_node_home,
        data=settings.ray_data_dir or settings.ray_node_home / "data",
        environments=settings.ray_environments_dir,
        refused_networks=tuple(settings.ray_refused_networks),
        gpu_fraction=settings.ray_gpu_fraction,
        logical_gpus=settings.ray_logical_gpus,
    )


def make_backend(settings: Settings) -> Backend:
    """The backend `PODIUM_BACKEND` names for spaces that run code; static spaces' files beside it."""
    return for_every_sdk(_operators_backend(settings))


def _operators_backend(settings: Settings) -> Backend:
    if settings.backend == "ray":
        return _ray(settings)
    if settings.backend == "process":
        return _process(settings)
    if settings.backend == "docker":
        return _docker(settings)
    # auto: docker when an engine answers, else processes.
    if reason := docker_unavailable_reason(settings.docker_host):
        log.warning("PODIUM_BACKEND=auto: no Docker engine answers (%s); running spaces as processes", reason)
        return _process(settings)
    return _docker(settings)
