"""A hardware flavor as Ray resources, and why Ray has not placed a space yet, in words."""

from __future__ import annotations

from typing import Any

from podium_runner.hardware import Flavor

# Every node that may run spaces declares this custom resource (`ray start --resources='{"podium_space": N}'`
# is optional: without it any node with the CPUs, memory and GPUs will do). Not asked for: see `actor_options`.
GIB = 2**30


def actor_options(flavor: Flavor, gpu_fraction: float | None = None) -> dict[str, Any]:
    """The flavor's CPUs, memory and GPUs as the actor's Ray resources. `gpu_fraction` (0 < f < 1) shares
    one GPU between spaces, as Ray does for `num_gpus=0.5`; None asks the flavor's whole GPUs."""
    gpus = flavor.gpus if gpu_fraction is None or not flavor.gpus else gpu_fraction
    return {"num_cpus": flavor.cpus, "memory": flavor.memory_bytes, "num_gpus": gpus}


def why_pending(options: dict[str, Any], total: dict[str, float], free: dict[str, float]) -> str:
    """Why no node takes a space with these `options`, from the cluster's `total` and `free` resources
    (ray.cluster_resources(), ray.available_resources())."""
    wants = [("GPU", options.get("num_gpus") or 0, "GPU"), ("CPU", options.get("num_cpus") or 0, "CPU")]
    wants.append(("memory", (options.get("memory") or 0) / GIB, "GiB of memory"))
    for key, needed, words in wants:
        have_total = total.get(key, 0) / (GIB if key == "memory" else 1)
        have_free = free.get(key, 0) / (GIB if key == "memory" else 1)
        if needed and have_total < needed:
            return (
                f"no node can ever take it: it needs {needed:g} {words} and the whole cluster has {have_total:g}; "
                f"add a node with more, or choose a smaller hardware flavor"
            )
        if needed and have_free < needed:
            article = "a free GPU" if key == "GPU" else f"{needed:g} free {words}"
            return (
                f"waiting for Ray to place it: no node has {article} (the cluster has {have_free:g} of "
                f"{have_total:g} free); it starts as soon as one frees"
            )
    return "waiting for Ray to place it on a node"
