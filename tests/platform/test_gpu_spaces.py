"""GPU spaces on a host whose GPUs are a configured list: each gets its own device, a second one is
refused clearly while the first holds it, and pausing the first gives the device back.

This machine has no GPU, so the check stops at what reaches the app (CUDA_VISIBLE_DEVICES from the
allocator); benchmarks/gpu_check.sh runs the same path on a real one."""

from __future__ import annotations

import httpx

from tests.support.process_spaces import stdlib_app, write_space

REPORTS_DEVICES = stdlib_app('REPORT["devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")')


def test_gpu_spaces_get_their_own_device_and_give_it_back(start_podium, tmp_path):
    podium = start_podium(env={"PODIUM_GPUS": '["0"]'})
    first = write_space(tmp_path / "first", "sdk: gradio", REPORTS_DEVICES)
    second = write_space(tmp_path / "second", "title: Second\nsdk: gradio", REPORTS_DEVICES)

    assert podium.push("admin/gpu-one", first, space_hardware="t4-small")["stage"] == "RUNNING"
    assert httpx.get(f"{podium.spaces_url}/apps/admin/gpu-one/", timeout=30).json() == {"devices": "0"}

    refused = podium.push("admin/gpu-two", second, space_hardware="t4-small")
    assert refused["stage"] == "RUNTIME_ERROR"
    assert "needs 1 GPU(s) but only 0 of 1 are free (in use by admin/gpu-one (0))" in refused["errorMessage"]

    api = podium.api()
    api.pause_space("admin/gpu-one")
    api.restart_space("admin/gpu-two")
    assert podium.wait_for_stage("admin/gpu-two")["stage"] == "RUNNING"
    assert httpx.get(f"{podium.spaces_url}/apps/admin/gpu-two/", timeout=30).json() == {"devices": "0"}
