"""The NVIDIA device nodes one sandboxed app may open: its own GPUs' and the driver's shared ones.

Each GPU is one node, /dev/nvidia<minor>; the driver's control nodes (nvidiactl, nvidia-uvm...) are
needed by every CUDA program and give no access to a GPU by themselves. CUDA only uses the GPUs whose
node it can open, so binding only the space's nodes is what keeps it off the others, as the NVIDIA
container runtime does for Docker.

A GPU's id (what `nvidia-smi` calls its index, or its UUID) is not always its node's minor number:
the driver lists each GPU under /proc/driver/nvidia/gpus/<PCI bus id>/information with its minor and
UUID, and nvidia-smi numbers GPUs in PCI bus order.
"""

from __future__ import annotations

from pathlib import Path

from podium_runner.backend import StartError

_CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


def _minors_by_id(proc: Path) -> dict[str, str]:
    """Each GPU's device minor under its index and its UUID, from the driver's own listing."""
    minors: dict[str, str] = {}
    for index, info in enumerate(sorted((proc / "driver" / "nvidia" / "gpus").glob("*/information"))):
        fields = dict(line.split(":", 1) for line in info.read_text().splitlines() if ":" in line)
        minor = fields.get("Device Minor", "").strip()
        if minor:
            minors[str(index)] = minor
            if uuid := fields.get("GPU UUID", "").strip():
                minors[uuid] = minor
    return minors


def gpu_device_nodes(gpu_ids: tuple[str, ...], dev: Path = Path("/dev"), proc: Path = Path("/proc")) -> list[Path]:
    """The nodes to bind for a space holding `gpu_ids`: one per GPU, and the control nodes that exist.

    Without the driver's listing (no /proc/driver/nvidia), an index is taken as the minor. An id that
    names no GPU raises, rather than start the app on no GPU or on another space's."""
    if not gpu_ids:
        return []
    minors = _minors_by_id(proc)
    nodes = []
    for gpu_id in gpu_ids:
        minor = minors.get(gpu_id) or (gpu_id if gpu_id.isdigit() and not minors else None)
        node = dev / f"nvidia{minor}"
        if minor is None or not node.exists():
            raise StartError(
                f"GPU {gpu_id} has no device node under {dev} (is the NVIDIA driver loaded?); load the driver, "
                f"or list only this host's GPUs in PODIUM_GPUS"
            )
        nodes.append(node)
    return nodes + [dev / name for name in _CONTROL_NODES if (dev / name).exists()]
