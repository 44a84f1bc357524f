"""GPU spaces on the cluster: Ray gives each its own logical GPU on the worker that has two, a third waits
with a stage that says why, and starts as soon as one of the others gives its GPU back."""

from __future__ import annotations

import json
import time

import pytest
from gradio_client import Client

from tests.cluster.spaces import OWNER

pytest.importorskip("ray", reason="the cluster tests need Ray: pip install 'podium[ray]'")
pytestmark = pytest.mark.slow

GPU_WORKER = "10.98.51.11"


def placed(podium) -> dict[str, dict]:
    return {space["space_id"]: space for space in podium.http().get("/api/cluster").json()["spaces"]}


def wait_for_message(podium, space_id: str, words: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runtime = podium.api().get_space_runtime(space_id).raw
        if words in (runtime.get("errorMessage") or "") or time.monotonic() > deadline:
            return runtime
        time.sleep(0.5)


def test_two_gpu_spaces_get_distinct_gpus_and_a_third_waits_until_one_frees(ray_podium, space_folders):
    first, second, third = (f"{OWNER}/gpu-{n}" for n in ("a", "b", "c"))
    for space_id in (first, second):
        runtime = ray_podium.push(space_id, space_folders["inspector"], space_hardware="t4-small")
        assert runtime["stage"] == "RUNNING", runtime
    where = placed(ray_podium)
    assert {where[first]["node_ip"], where[second]["node_ip"]} == {GPU_WORKER}
    assert sorted(where[first]["gpu_ids"] + where[second]["gpu_ids"]) == ["0", "1"], where
    seen = json.loads(Client(f"{ray_podium.spaces_url}/apps/{first}/", verbose=False).predict("", api_name="/inspect"))
    assert seen["environ"]["CUDA_VISIBLE_DEVICES"] == "0"  # its own GPU, numbered from 0 as CUDA does

    api = ray_podium.api()
    api.create_repo(third, repo_type="space", space_sdk="gradio", space_hardware="t4-small")
    api.upload_folder(repo_id=third, folder_path=space_folders["inspector"], repo_type="space")
    waiting = wait_for_message(ray_podium, third, "no node has a free GPU")
    assert waiting["stage"] == "APP_STARTING", waiting
    assert "no node has a free GPU" in waiting["errorMessage"], waiting

    freed = where[first]["gpu_ids"]
    started = time.monotonic()
    api.pause_space(first)
    runtime = ray_podium.wait_for_stage(third, timeout=180)
    print(f"the waiting GPU space ran {time.monotonic() - started:.1f} s after a GPU was freed")
    assert runtime["stage"] == "RUNNING", runtime
    assert placed(ray_podium)[third]["gpu_ids"] == freed
    for space_id in (second, third):  # the GPUs go back for the stories that follow
        api.pause_space(space_id)
