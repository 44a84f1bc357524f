"""A GPU space sees only its own GPUs' device nodes, not every /dev/nvidia* of the host.

These check the command line the sandbox builds, against a folder of fake device nodes: binding
real ones needs a machine with NVIDIA GPUs (there, `nvidia-smi -L` inside a space holding GPU 1 of
several lists one GPU), which the machines these tests run on do not have.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from podium_runner.backend import StartError
from podium_runner.process.gpu_nodes import gpu_device_nodes
from podium_runner.process.sandbox import Sandbox

GPU_NODES = ("nvidia0", "nvidia1", "nvidia2", "nvidia3")
CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    """A /dev-like folder with four GPUs' nodes and the driver's control nodes."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in (*GPU_NODES, *CONTROL_NODES, "null"):
        (folder / name).touch()
    return folder


def _sandbox(tmp_path: Path, dev: Path, gpu_ids: tuple[str, ...]) -> Sandbox:
    env_dir = tmp_path / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "pyvenv.cfg").write_text("home = /usr/bin\n")
    scratch = tmp_path / "scratch"
    return Sandbox(env_dir, tmp_path / "app", tmp_path / "data", scratch, 200_001, gpu_ids=gpu_ids, dev=dev)


def _device_binds(command: list[str]) -> dict[str, str]:
    """Inside path -> host path of every `--dev-bind` in a bwrap command line."""
    return {command[i + 2]: command[i + 1] for i, arg in enumerate(command) if arg == "--dev-bind"}


def test_a_space_holding_gpu_1_gets_only_its_node_and_the_drivers_control_nodes(tmp_path: Path, dev: Path) -> None:
    sandbox = _sandbox(tmp_path, dev, ("1",))
    command = sandbox.wrap(["python", "app.py"])
    assert _device_binds(command) == {
        "/dev/nvidia1": str(dev / "nvidia1"),
        **{f"/dev/{name}": str(dev / name) for name in CONTROL_NODES},
    }
    assert not any("nvidia0" in arg or "nvidia2" in arg or "nvidia3" in arg for arg in command)
    # Inside, CUDA numbers the one GPU it can open 0: the host's "1" would name none.
    assert sandbox.gpu_environment() == {"CUDA_VISIBLE_DEVICES": "0"}


def test_a_space_without_gpus_gets_no_nvidia_node(tmp_path: Path, dev: Path) -> None:
    sandbox = _sandbox(tmp_path, dev, ())
    command = sandbox.wrap(["python", "app.py"])
    assert _device_binds(command) == {}
    assert not any("nvidia" in arg for arg in command)
    assert sandbox.gpu_environment() == {}


def test_a_gpu_id_with_no_node_is_refused_rather_than_run_on_no_or_another_gpu(tmp_path: Path, dev: Path) -> None:
    with pytest.raises(StartError, match="GPU 7 has no device node"):
        _sandbox(tmp_path, dev, ("7",)).wrap(["python", "app.py"])


def test_the_drivers_listing_maps_an_index_or_uuid_to_its_node_when_minors_differ(tmp_path: Path, dev: Path) -> None:
    """nvidia-smi numbers GPUs in PCI bus order; the driver's minor numbers need not follow it."""
    gpus = tmp_path / "proc" / "driver" / "nvidia" / "gpus"
    for bus_id, minor, uuid in (("0000:3b:00.0", 2, "GPU-aaaa"), ("0000:86:00.0", 0, "GPU-bbbb")):
        (gpus / bus_id).mkdir(parents=True)
        (gpus / bus_id / "information").write_text(
            f"Model: \t\t NVIDIA H100\nGPU UUID: \t {uuid}\nBus Location: \t {bus_id}\nDevice Minor: \t {minor}\n"
        )
    proc = tmp_path / "proc"
    assert gpu_device_nodes(("0",), dev, proc)[0] == dev / "nvidia2"
    assert gpu_device_nodes(("1",), dev, proc)[0] == dev / "nvidia0"
    assert gpu_device_nodes(("GPU-bbbb",), dev, proc)[0] == dev / "nvidia0"
    with pytest.raises(StartError):  # the listing names two GPUs: index 3 is none of them
        gpu_device_nodes(("3",), dev, proc)
