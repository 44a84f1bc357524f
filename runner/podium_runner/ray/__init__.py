"""The ray backend: each space instance a detached, named Ray actor running the process backend on its node."""

from podium_runner.ray.backend import RayBackend

__all__ = ["RayBackend"]
