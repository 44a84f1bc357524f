"""GPU spaces: devices handed out from a configured inventory, and the request that reaches the engine.

This machine has no NVIDIA GPU and no NVIDIA container runtime, so the engine's answer to a real GPU
request is the refusal a GPU-less host gives; benchmarks/gpu_check.sh covers a machine with one.
"""

from __future__ import annotations

import pytest
from podium_runner.backend import StartError
from podium_runner.docker import NO_GPU_RUNTIME, DockerBackend, network
from podium_runner.docker.containers import LABEL_SPACE
from podium_runner.gpus import Gpu, GpuAllocator, GpuUnavailable, inventory
from podium_runner.plan import RunContext

from tests.docker.spaces import TEST_FLAVORS, stdlib_space
from tests.support.process_spaces import free_port


def test_each_gpu_space_gets_its_own_devices_until_none_are_free():
    allocator = GpuAllocator(inventory(["0", "1", "2"]))
    assert allocator.allocate("alice/big", 2) == ("0", "1")
    assert allocator.allocate("bob/small", 1) == ("2",)
    assert allocator.allocate("bob/small", 1) == ("2",)  # asking again keeps the same device
    with pytest.raises(GpuUnavailable) as refused:
        allocator.allocate("carol/late", 1)
    assert str(refused.value) == (
        "carol/late: its hardware needs 1 GPU(s) but only 0 of 3 are free (in use by alice/big (0,1), "
        "bob/small (2)); stop or pause one of those spaces, or choose a smaller flavor"
    )
    allocator.release("alice/big")  # the space stopped or went to sleep
    assert allocator.allocate("carol/late", 1) == ("0",)
    assert allocator.free() == ["1"]


def test_a_gpu_space_on_a_host_without_gpus_is_refused_clearly():
    allocator = GpuAllocator(inventory([]))
    refusal = "this host has no NVIDIA GPU .*choose a cpu-\\* hardware flavor"
    with pytest.raises(GpuUnavailable, match=refusal):
        allocator.allocate("alice/gpu", 1)


def test_nvidia_smi_absent_means_no_gpus():
    assert inventory() == [] and GpuAllocator([Gpu("0", "Tesla T4")]).free() == ["0"]


@pytest.fixture(scope="module")
async def gpu_space(backend: DockerBackend, tmp_path_factory, anyio_backend):
    plan = stdlib_space(tmp_path_factory.mktemp("gpu"), 'REPORT["cuda"] = os.environ["CUDA_VISIBLE_DEVICES"]')
    env = await backend.prepare(plan, lambda _line: None)
    return plan, env


def test_the_allocated_devices_reach_the_engine_as_a_device_request(backend, gpu_space, docker_client, cleanup):
    plan, env = gpu_space
    allocator = GpuAllocator(inventory(["0", "1"]))
    allocator.allocate("alice/other", 1)
    ids = allocator.allocate("alice/gpu", 1)
    ctx = RunContext(space_id="alice/gpu", port=free_port(), hardware="t4-small", gpu_ids=ids)
    launch = plan.launch(ctx)
    backend.engine.sync(network.ensure, backend.engine.client, backend.network, ctx.space_id)  # as start does
    container = backend.engine.sync(backend.create, plan, env, ctx, TEST_FLAVORS["t4-small"], launch)
    cleanup.append(container.id)
    requests = docker_client.api.inspect_container(container.id)["HostConfig"]["DeviceRequests"]
    assert requests == [{"Driver": "", "Count": 0, "DeviceIDs": ["1"], "Capabilities": [["gpu"]], "Options": {}}]
    assert container.attrs["Config"]["Env"].count("CUDA_VISIBLE_DEVICES=1") == 1


def _space_containers(docker_client, space_id: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"{LABEL_SPACE}={space_id}"})


@pytest.mark.anyio
async def test_an_engine_without_the_nvidia_runtime_is_detected_before_the_space_starts(
    base_image, gpu_space, docker_client
):
    plan, env = gpu_space
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS)  # asks the engine itself
    ctx = RunContext(space_id="alice/gpu-probe", port=free_port(), hardware="t4-small", gpu_ids=("0",))
    with pytest.raises(StartError) as refused:
        await backend.start(plan, env, ctx, lambda _line: None)
    assert NO_GPU_RUNTIME in str(refused.value)
    assert "Install the NVIDIA Container Toolkit" in str(refused.value)
    assert _space_containers(docker_client, "alice/gpu-probe") == []


@pytest.mark.anyio
async def test_the_engines_own_refusal_leaves_no_container_behind(base_image, gpu_space, docker_client):
    plan, env = gpu_space
    # As if the runtime were announced but the engine cannot select the driver when the container starts.
    backend = DockerBackend(base_image=base_image, flavors=TEST_FLAVORS, gpu_runtime=True)
    ctx = RunContext(space_id="alice/gpu-refused", port=free_port(), hardware="t4-small", gpu_ids=("0",))
    with pytest.raises(StartError, match=NO_GPU_RUNTIME):
        await backend.start(plan, env, ctx, lambda _line: None)
    assert _space_containers(docker_client, "alice/gpu-refused") == []
    assert backend._gpu_runtime is False  # later GPU spaces are refused before any container


@pytest.mark.anyio
async def test_a_gpu_flavor_without_allocated_devices_is_refused(backend, gpu_space):
    plan, env = gpu_space
    ctx = RunContext(space_id="alice/gpu", port=free_port(), hardware="t4-small")
    with pytest.raises(StartError, match="hardware t4-small needs 1 GPU\\(s\\) but 0 were given"):
        await backend.start(plan, env, ctx, lambda _line: None)


@pytest.mark.anyio
async def test_an_unknown_flavor_is_refused_with_the_known_ones(backend, gpu_space):
    plan, env = gpu_space
    ctx = RunContext(space_id="alice/gpu", port=free_port(), hardware="h100-giant")
    with pytest.raises(StartError, match="unknown hardware flavor 'h100-giant'; use one of: cpu-basic, "):
        await backend.start(plan, env, ctx, lambda _line: None)
