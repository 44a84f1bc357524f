"""Hardware flavors: the one table of what each Hugging Face flavor name gives a space.

Names are Hugging Face's (`suggested_hardware` in the README, `hardware` in the API). Limits are
what Podium enforces on one instance: the docker backend passes them to the engine, the process
backend to its cgroups, and the GPU allocator reads `gpus`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flavor:
    name: str
    cpus: float
    memory_mb: int
    gpus: int = 0
    # Enough for a Gradio/Streamlit app with worker threads, few enough that a fork bomb stops.
    pids: int = 512
    # The size of the space's /data (the process backend's limit): Hugging Face's smallest persistent
    # storage. The volume is sparse, so the size limits what a space may keep; it reserves nothing.
    data_gb: float = 20

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024


_GIB = 1024
FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("cpu-basic", cpus=2, memory_mb=16 * _GIB),
        Flavor("cpu-upgrade", cpus=8, memory_mb=32 * _GIB),
        Flavor("t4-small", cpus=4, memory_mb=15 * _GIB, gpus=1),
        Flavor("t4-medium", cpus=8, memory_mb=30 * _GIB, gpus=1),
        Flavor("l4x1", cpus=8, memory_mb=30 * _GIB, gpus=1),
        Flavor("l4x4", cpus=48, memory_mb=186 * _GIB, gpus=4),
        Flavor("l40sx1", cpus=8, memory_mb=62 * _GIB, gpus=1),
        Flavor("l40sx4", cpus=48, memory_mb=382 * _GIB, gpus=4),
        Flavor("l40sx8", cpus=192, memory_mb=1534 * _GIB, gpus=8),
        Flavor("a10g-small", cpus=4, memory_mb=15 * _GIB, gpus=1),
        Flavor("a10g-large", cpus=12, memory_mb=46 * _GIB, gpus=1),
        Flavor("a10g-largex2", cpus=24, memory_mb=92 * _GIB, gpus=2),
        Flavor("a10g-largex4", cpus=48, memory_mb=184 * _GIB, gpus=4),
        Flavor("a100-large", cpus=12, memory_mb=142 * _GIB, gpus=1),
        Flavor("a100x4", cpus=48, memory_mb=568 * _GIB, gpus=4),
        Flavor("a100x8", cpus=96, memory_mb=1136 * _GIB, gpus=8),
    )
}


def flavor(name: str) -> Flavor:
    """The flavor called `name`; a clear error naming the allowed ones otherwise."""
    try:
        return FLAVORS[name]
    except KeyError:
        raise ValueError(f"unknown hardware flavor {name!r}; use one of: {', '.join(FLAVORS)}") from None
