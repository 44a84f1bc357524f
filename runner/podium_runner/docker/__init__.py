"""The docker backend: spaces built into images and run as hardened containers."""

from podium_runner.docker.backend import NO_GPU_RUNTIME, DockerBackend

__all__ = ["NO_GPU_RUNTIME", "DockerBackend"]
