"""How long deploying takes on Podium, measured from outside through its API and proxy.

Prints, in one run: push to RUNNING with a new dependency set (a cold environment; uv's package
cache warm) and with the same set as an earlier space (a warm environment); a code-only push until
the new revision answers; and a request to a sleeping space until its first byte.

    .venv/bin/python benchmarks/deploy.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import httpx
from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.platform.spaces import echo_space  # noqa: E402
from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import free_port  # noqa: E402


def push(server: PodiumServer, space: str, folder: Path) -> float:
    """Seconds from the start of the upload until the space is RUNNING."""
    api = server.api()
    api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
    started = time.perf_counter()
    api.upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    runtime = server.wait_for_stage(space, timeout=900, poll_s=0.02)
    if runtime["stage"] != "RUNNING":
        sys.exit(f"{space} ended in {runtime['stage']}: {runtime['errorMessage']}")
    return time.perf_counter() - started


def code_only_push(server: PodiumServer, space: str, folder: Path, requirements: str) -> float:
    """Seconds from the upload of new code until the new revision answers through the proxy."""
    echo_space(folder, version="v2", requirements=requirements)
    client = Client(server.api().space_info(space).host, verbose=False)
    started = time.perf_counter()
    server.api().upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    while not client.predict(api_name="/about").startswith("v2 "):
        time.sleep(0.1)
    return time.perf_counter() - started


def wake(server: PodiumServer, space: str) -> float:
    """Seconds from a request to a sleeping space until the first byte of its answer."""
    api = server.api()
    api.set_space_sleep_time(space, 1)
    while api.get_space_runtime(space).stage != "STOPPED":
        time.sleep(0.2)
    api.set_space_sleep_time(space, -1)
    started = time.perf_counter()
    with httpx.stream("GET", f"{server.spaces_url}/apps/{space}/config", timeout=300) as response:
        next(response.iter_raw())
        return time.perf_counter() - started


def main() -> None:
    # huggingface_hub warns that cpu-basic sleep times are fixed on Hugging Face; Podium honours them.
    warnings.filterwarnings("ignore", message="If your Space runs on the default 'cpu-basic'")
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        root = Path(tmp)
        server = PodiumServer(root / "data", free_port(), free_port(), {}).start()
        try:
            # A marker that is always true makes a dependency set no earlier run has built.
            requirements = f'six; platform_system != "bench-{uuid.uuid4().hex[:8]}"\n'
            cold = push(server, "bench/cold", echo_space(root / "cold", requirements=requirements))
            warm_folder = echo_space(root / "warm", requirements=requirements)
            warm = push(server, "bench/warm", warm_folder)
            code = code_only_push(server, "bench/warm", warm_folder, requirements)
            woken = wake(server, "bench/warm")
        finally:
            server.stop()
    rows = [
        ("push -> RUNNING, cold environment (new dependency set)", cold),
        ("push -> RUNNING, warm environment (same set, new space)", warm),
        ("code-only push -> new revision answering", code),
        ("request to a sleeping space -> first byte", woken),
    ]
    print(f"{'deploy step (Gradio space, process backend)':58} {'seconds':>8} {'vs cold':>8}")
    for label, seconds in rows:
        print(f"{label:58} {seconds:8.2f} {seconds / cold:7.2f}x")


if __name__ == "__main__":
    main()
