#!/usr/bin/env bash
# Does a GPU space see its GPU? Under a minute, on a machine with an NVIDIA GPU:
#   1. the allocator hands the space a device from nvidia-smi's inventory;
#   2. the process backend starts the space with the machine's own Python (which has torch), and the
#      app reports torch.cuda.is_available() and the device name under CUDA_VISIBLE_DEVICES;
#   3. where Docker answers and PODIUM_GPU_CHECK_IMAGE names a local image with torch, the docker
#      backend does the same in a container with the allocated DeviceRequest.
# On a machine without network, first run benchmarks/gpu_wheels.sh elsewhere and carry .gpu-wheels/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi is missing or lists no device); nothing to check"
    exit 2
fi
nvidia-smi -L

DEPS="$(mktemp -d)"
trap 'rm -rf "$DEPS"' EXIT
if [ -d "$ROOT/.gpu-wheels" ]; then
    "$PY" -m pip install --quiet --no-index --find-links "$ROOT/.gpu-wheels" --target "$DEPS/site" \
        pydantic uv docker 2>&1 | tail -n 3 || true
fi
# The app runs with this very interpreter and its own package path (torch may come from a venv or
# from PYTHONPATH); Podium's modules and the carried wheels are for the check only.
export GPU_CHECK_APP_PYTHONPATH="${PYTHONPATH:-}"
export PYTHONPATH="$ROOT/runner:$DEPS/site${PYTHONPATH:+:$PYTHONPATH}"

exec timeout 55 "$PY" - "$DEPS" <<'PYTHON'
import asyncio, json, os, sys, textwrap, urllib.request
from pathlib import Path

from podium_runner.backend import Environment
from podium_runner.gpus import GpuAllocator, inventory
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.spec import load_spec

work = Path(sys.argv[1])
APP = '''
import http.server, json, os
import torch

def report():
    available = torch.cuda.is_available()
    return {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "torch": torch.__version__,
            "cuda_available": available, "device_count": torch.cuda.device_count(),
            "device_name": torch.cuda.get_device_name(0) if available else None}

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(report()).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)

address = (os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), int(os.environ.get("GRADIO_SERVER_PORT", os.environ.get("PORT", "7860"))))
http.server.HTTPServer(address, Handler).serve_forever()
'''


def space(folder: Path, front: str, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"---\n{front}\n---\n")
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run(backend, plan, env, ctx) -> dict:
    instance = await backend.start(plan, env, ctx, lambda line: None)
    try:
        await wait_until_ready(backend, instance, "/", 40)
        with urllib.request.urlopen(instance.url + "/", timeout=20) as response:
            return json.loads(response.read())
    finally:
        await backend.stop(instance)


async def main() -> None:
    allocator = GpuAllocator(inventory())
    print(f"inventory: {[(gpu.id, gpu.name) for gpu in allocator.gpus]}")
    ids = allocator.allocate("check/process", 1)
    from podium_runner.process import ProcessBackend, ProcessFolders

    # The machine's own Python (it has torch): an "environment" whose bin/python is that interpreter.
    env_dir = work / "host-env"
    (env_dir / "bin").mkdir(parents=True)
    python = env_dir / "bin" / "python"
    # A wrapper, not a symlink: the interpreter keeps its venv (found next to sys.executable).
    python.write_text(f"#!/bin/sh\nPYTHONPATH={os.environ['GPU_CHECK_APP_PYTHONPATH']!r} "
                      f"exec {sys.executable!r} \"$@\"\n")
    python.chmod(0o755)
    plan = make_plan(load_spec(space(work / "process-space", "sdk: gradio", {"app.py": APP})))
    backend = ProcessBackend(ProcessFolders.under(work / "process"), sandbox="off", limits=None)
    ctx = RunContext(space_id="check/process", port=free_port(), gpu_ids=ids, hardware="t4-small")
    result = await run(backend, plan, Environment("process", "host", str(env_dir)), ctx)
    print(f"process backend, allocated {ids}: {json.dumps(result)}")
    allocator.release("check/process")

    image = os.environ.get("PODIUM_GPU_CHECK_IMAGE")
    try:
        import docker
        docker.from_env(timeout=5).ping()
    except Exception as exc:  # no SDK or no engine: say which
        print(f"docker backend: not checked (no Docker engine or SDK here: {exc})")
        return
    if not image:
        print("docker backend: not checked (set PODIUM_GPU_CHECK_IMAGE to a local image with python and torch)")
        return
    from podium_runner.docker import DockerBackend

    ids = allocator.allocate("check/docker", 1)
    dockerfile = f"FROM {image}\nCOPY app.py /srv/app.py\nCMD [\"python\", \"/srv/app.py\"]\n"
    plan = make_plan(load_spec(space(work / "docker-space", "sdk: docker\napp_port: 7860",
                                     {"Dockerfile": dockerfile, "app.py": APP})))
    backend = DockerBackend()
    env = await backend.prepare(plan, lambda line: None)
    ctx = RunContext(space_id="check/docker", port=free_port(), gpu_ids=ids, hardware="t4-small")
    try:
        result = await run(backend, plan, env, ctx)
        print(f"docker backend, allocated {ids}: {json.dumps(result)}")
    except Exception as exc:
        print(f"docker backend: {exc}")


asyncio.run(main())
PYTHON
