"""Which `podium_runner` backend runs spaces, chosen by `PODIUM_BACKEND`. The only place that names one."""

from __future__ import annotations

import logging

import docker
from docker.errors import DockerException
from podium_runner.backend import Backend

from podium.settings import Settings
from podium.signing import signer_for

log = logging.getLogger("podium")


def _docker(settings: Settings) -> Backend:
    from podium_runner.docker import DockerBackend

    return DockerBackend(
        docker_host=settings.docker_host,
        base_image=settings.docker_base_image,
        ml_base_image=settings.docker_ml_base_image,
        reach_by_ip=settings.docker_reach_by_ip,
        # Names each owner's BuildKit uv cache: a key of this Podium's, so no owner can name another's.
        cache_key=signer_for(settings.data_dir).mac("buildkit-uv-cache", "").encode(),
    )


def _process(settings: Settings) -> Backend:
    from podium_runner.process import ProcessBackend, ProcessFolders

    home = settings.data_dir / "process"
    shared = settings.environments_dir
    folders = ProcessFolders(
        environments=(shared or home) / "environments",
        uv_cache=(shared or home) / "uv-cache",
        data=settings.space_data_dir,
        runs=home / "runs",
    )
    return ProcessBackend(folders, outlive_caller=not settings.stop_spaces_on_exit, data_size_gb=settings.space_data_gb)


def make_backend(settings: Settings) -> Backend:
    if settings.backend == "process":
        return _process(settings)
    if settings.backend == "docker":
        return _docker(settings)
    # auto: docker when an engine answers, else processes.
    try:
        docker.from_env(timeout=3).ping()
    except DockerException as exc:
        log.warning("PODIUM_BACKEND=auto: no Docker engine answers (%s); running spaces as processes", exc)
        return _process(settings)
    return _docker(settings)
