"""The process backend: uv virtualenvs, bubblewrap sandboxes and cgroup limits on the host itself."""

from podium_runner.process.backend import ProcessBackend, ProcessFolders, SandboxMode
from podium_runner.process.cgroups import Limits

__all__ = ["Limits", "ProcessBackend", "ProcessFolders", "SandboxMode"]
