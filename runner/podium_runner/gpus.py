"""Which GPUs this host has, and which space holds which of them.

The inventory comes from `nvidia-smi` (or a configured list, for hosts where Podium should use only
some devices, and for tests). The allocator gives each GPU space its own devices, by its flavor's
count, and refuses clearly when too few are free; the caller frees them when the space stops or
sleeps. Backends receive the ids through `RunContext.gpu_ids`: the process backend as
`CUDA_VISIBLE_DEVICES`, the docker backend as a `DeviceRequest`.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from podium_runner.backend import RunnerError


class GpuUnavailable(RunnerError):
    """A space asked for more GPUs than are free (or than the host has)."""


@dataclass(frozen=True)
class Gpu:
    id: str  # what CUDA_VISIBLE_DEVICES and Docker's device_ids accept: an index or a UUID
    name: str = ""


def discover(nvidia_smi: str = "nvidia-smi") -> list[Gpu]:
    """The GPUs `nvidia-smi` lists; none when it is missing or fails (a host without a driver)."""
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        index, _, name = line.partition(",")
        if index.strip():
            gpus.append(Gpu(id=index.strip(), name=name.strip()))
    return gpus


def inventory(configured: Iterable[str] | None = None) -> list[Gpu]:
    """The configured device ids when given (even an empty list), else what `nvidia-smi` finds."""
    if configured is not None:
        return [Gpu(id=str(item)) for item in configured]
    return discover()


class GpuAllocator:
    """Hands out whole devices to spaces. Thread-safe; one per Podium process."""

    def __init__(self, gpus: Iterable[Gpu]):
        self.gpus = list(gpus)
        self._held: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def free(self) -> list[str]:
        with self._lock:
            return self._free()

    def _free(self) -> list[str]:
        taken = {gpu for ids in self._held.values() for gpu in ids}
        return [gpu.id for gpu in self.gpus if gpu.id not in taken]

    def held_by(self, space_id: str) -> tuple[str, ...]:
        with self._lock:
            return self._held.get(space_id, ())

    def allocate(self, space_id: str, count: int) -> tuple[str, ...]:
        """`count` free devices for `space_id` (the same ones again if it already holds them)."""
        if count <= 0:
            return ()
        with self._lock:
            if space_id in self._held:
                return self._held[space_id]
            free = self._free()
            if len(free) < count:
                if not self.gpus:
                    raise GpuUnavailable(
                        f"{space_id}: its hardware needs {count} GPU(s) but this host has no NVIDIA GPU "
                        f"(nvidia-smi finds none and none is configured); choose a cpu-* hardware flavor"
                    )
                users = ", ".join(f"{space} ({','.join(ids)})" for space, ids in sorted(self._held.items()))
                raise GpuUnavailable(
                    f"{space_id}: its hardware needs {count} GPU(s) but only {len(free)} of "
                    f"{len(self.gpus)} are free (in use by {users}); stop or pause one of those spaces, "
                    f"or choose a smaller flavor"
                )
            self._held[space_id] = tuple(free[:count])
            return self._held[space_id]

    def adopt(self, space_id: str, ids: Iterable[str]) -> None:
        """Record devices a re-adopted instance already uses (after Podium restarted)."""
        with self._lock:
            self._held[space_id] = tuple(ids)

    def release(self, space_id: str) -> None:
        """Free what `space_id` held (on stop and on sleep). Releasing twice is harmless."""
        with self._lock:
            self._held.pop(space_id, None)


class ScheduledByBackend(GpuAllocator):
    """For a backend whose engine places GPU spaces and picks their devices (Ray): Podium holds none and
    refuses none; a GPU space waits in the engine until a GPU frees."""

    def __init__(self) -> None:
        super().__init__([])

    def allocate(self, space_id: str, count: int) -> tuple[str, ...]:
        return ()
