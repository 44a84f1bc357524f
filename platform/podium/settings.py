"""Podium's settings, read from `PODIUM_*` environment variables: one source of truth for each fact.

Lists take JSON (`PODIUM_FRAME_ANCESTORS='["https://a.org"]'`); limits are nested
(`PODIUM_LIMITS__MAX_FILE_SIZE=1048576`).
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Spaces are served under this path in path mode (/apps/{owner}/{name}/); the proxy routes by it.
PATH_PREFIX = "/apps"


def address_of(space_id: str) -> str:
    """`space_id` as a host name can spell it: lower case, and '-' for '_' and '.'."""
    return space_id.lower().replace("_", "-").replace(".", "-")


def host_label(space_id: str) -> str:
    """The first label of a space's host-mode address, `owner-name` as `address_of` spells it. It spans
    owner and name, so `alice/smith-demo` and `alice-smith/demo` would have the same one."""
    return address_of(space_id).replace("/", "-")


log = logging.getLogger("podium")

MiB = 1024 * 1024


class Limits(BaseModel):
    """Bounds on what one upload may bring in; each 413 names the one it hit."""

    max_file_size: int = 50 * MiB
    max_upload_size: int = 500 * MiB
    max_archive_entries: int = 10_000
    max_archive_expansion: int = 1024 * MiB
    # Any request body but an upload: JSON API calls, the pages' forms.
    max_body_size: int = 1 * MiB


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODIUM_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 7860
    # Spaces are someone's arbitrary JavaScript: they get their own origin so they cannot act as a
    # signed-in visitor of Podium's pages (issue 6). Putting them on the pages' origin is opt-in.
    spaces_port: int = 7861
    spaces_on_pages_origin: bool = False
    domain: str | None = None
    public_url: str | None = None
    spaces_public_url: str | None = None

    data_dir: Path = Path("data")
    # Where the process backend keeps environments and its uv cache (one filesystem, for hardlinks);
    # default: under data_dir. Several Podiums (or test runs) may share one.
    environments_dir: Path | None = None
    database_url: str | None = None
    backend: Literal["process", "docker", "auto", "ray"] = "process"
    model_cache: str | None = None
    # A Hub whose models and datasets Podium caches when it does not hold them (podium.upstream): the public
    # Hub (https://huggingface.co) or another Podium; a token of it for gated or private repositories; how
    # long a branch's sha is trusted before the upstream is asked again.
    hub_upstream: str | None = None
    hub_upstream_token: SecretStr | None = None
    hub_upstream_refresh_s: float = 60.0
    # Seconds without traffic before a space is stopped; None keeps spaces up until paused.
    default_sleep_time: int | None = None
    limits: Limits = Limits()
    # A name from `podium_runner.hardware.FLAVORS`, the one table of flavors.
    default_hardware: str = "cpu-basic"
    # The size of every space's /data in GB (process backend); None: its flavor's (20 GB).
    space_data_gb: float | None = None
    # Origins allowed to frame any space (besides Podium's own pages), for CSP frame-ancestors.
    frame_ancestors: list[str] = []
    # Off by default: instances outlive a restart of `podium serve` and are re-adopted.
    stop_spaces_on_exit: bool = False
    # Seconds a replaced instance keeps running so requests already inside it can finish.
    drain_s: float = 10.0
    # Environments prepared at once (builds use every core they get); other deploys wait in line.
    max_concurrent_builds: int = os.cpu_count() or 1
    # How often the supervisor checks instances for exits and sleep.
    watch_interval_s: float = 1.0
    # Seconds without traffic before a space that may sleep is frozen in place (podium.lifecycle.freezing),
    # waking in milliseconds; it is stopped only after its sleep time. None: never frozen, only stopped.
    freeze_after_s: float | None = 30.0
    # Frozen spaces are stopped before their sleep time while the host has less memory available than this (MiB).
    frozen_stop_below_available_mb: int | None = 512
    # The process backend forks apps from a warm starter of their environment (podium_runner.process.warm_starter),
    # each starter held to this memory (MiB; what its apps share with it is charged to it). Where the whole
    # sandbox is not available, or a starter fails, apps start cold.
    warm_starts: bool = True
    warm_starter_memory_mb: int | None = 4096
    # The docker backend: the engine (None: DOCKER_HOST or the default socket), the base image
    # ({python_version} comes from the space; `podium images bootstrap` makes podium-base:bookworm),
    # and the optional ml base that spaces needing torch or transformers build on.
    docker_host: str | None = None
    docker_base_image: str = "python:{python_version}-slim"
    docker_ml_base_image: str | None = None
    # Whether Podium reaches spaces by their container IPs instead of ports published on the host's loopback;
    # None decides: by IP only where Podium runs in a container of the engine off the host's network, which
    # lets spaces reach each other (podium_runner.docker.network says why; run it with --network host).
    docker_reach_by_ip: bool | None = None
    # Started containers of each dependency image in use that wait for a space's code, so that a wake or a
    # code-only redeploy waits neither for a container nor for its imports (podium_runner.docker.seats);
    # 0 turns them off. They need Podium as root beside the engine, so none with docker_reach_by_ip.
    docker_seats: int = 1
    # The ray backend (README: Spaces on a Ray cluster): the cluster (`ray://head:10001`, or `head:6379` when
    # Podium's host is a Ray node), its token (RAY_AUTH_TOKEN of every node), where each node keeps
    # environments and instances (its own disk), where /data lives (shared storage mounted at the same path
    # on every node lets /data follow a space to another node; None: `ray_node_home`/data, left behind),
    # networks no app may reach besides every Ray node's address, a fraction of a GPU per GPU space
    # (None: the flavor's whole GPUs), and logical GPUs (tests: Ray's GPU ids without device nodes).
    ray_address: str | None = None
    ray_token: SecretStr | None = None
    ray_node_home: Path = Path("/var/lib/podium-ray")
    ray_data_dir: Path | None = None
    ray_environments_dir: Path | None = None
    ray_refused_networks: list[str] = []
    ray_gpu_fraction: float | None = None
    ray_logical_gpus: bool = False
    # GPU device ids Podium may hand out (JSON list, e.g. '["0","1"]'); None asks nvidia-smi.
    gpus: list[str] | None = None
    # Spaces' secrets are encrypted at rest with this key (podium.secret_box): the key itself, or a file
    # holding it, outside the data folder and its backups (None: ~/.config/podium/secrets.key, made on first start).
    secrets_key: SecretStr | None = None
    secrets_key_file: Path | None = None

    @field_validator("data_dir", "environments_dir", "model_cache", "secrets_key_file", mode="after")
    @classmethod
    def _absolute(cls, folder: Path | str | None) -> Path | str | None:
        """Folders are resolved once, when the settings are read: a relative `./data` means the folder
        Podium was started in, whatever working directory a build or an app runs in later."""
        if folder is None:
            return None
        resolved = Path(folder).expanduser().resolve()
        return str(resolved) if isinstance(folder, str) else resolved

    @cached_property
    def pages_url(self) -> str:
        """Where the pages are. With a domain they default to the domain itself, its spaces being its
        subdomains: one site, so a space's cookies (a private space's ticket, the instance cookie) work in its frame."""
        return (self.public_url or f"http://{self.domain or self.host}:{self.port}").rstrip("/")

    @cached_property
    def spaces_url(self) -> str:
        """Where spaces are served in path mode (the pages' own origin only when configured so)."""
        if self.spaces_public_url:
            return self.spaces_public_url.rstrip("/")
        if self.spaces_on_pages_origin:
            return self.pages_url
        return f"http://{self.host}:{self.spaces_port}"

    def space_path(self, space_id: str) -> str:
        return f"{PATH_PREFIX}/{space_id}"

    def space_subdomain(self, space_id: str) -> str:
        return host_label(space_id)

    def space_host(self, space_id: str) -> str | None:
        """The space's own host name in host mode (a domain is set), else None."""
        return f"{self.space_subdomain(space_id)}.{self.domain.lower()}" if self.domain else None

    def space_url(self, space_id: str) -> str:
        """The URL Podium hands out for a space: host mode when a domain is set, path mode otherwise."""
        if host := self.space_host(space_id):
            scheme, _, rest = self.spaces_url.partition("://")
            port = rest.rsplit(":", 1)[1] if ":" in rest else ""
            return f"{scheme}://{host}" + (f":{port}" if port else "")
        return f"{self.spaces_url}{self.space_path(space_id)}/"

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def worktrees_dir(self) -> Path:
        return self.data_dir / "worktrees"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def space_data_dir(self) -> Path:
        return self.data_dir / "space-data"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'podium.db'}"

    def warn_about_origins(self) -> None:
        if self.spaces_on_pages_origin:
            log.warning(
                "!!! PODIUM_SPACES_ON_PAGES_ORIGIN is on: spaces are served from the same origin as "
                "Podium's pages, so a space's JavaScript can read those pages and call the API as the "
                "signed-in visitor. Only do this when every space is trusted. !!!"
            )
