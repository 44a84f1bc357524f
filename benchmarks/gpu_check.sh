#!/usr/bin/env bash
# Does a GPU space see its GPU, and only its own? A few minutes, as root on a machine with an NVIDIA GPU:
#   1. the allocator hands the space a device from nvidia-smi's inventory;
#   2. the process backend starts the space with the machine's own Python (which has torch), and the
#      app reports torch.cuda.is_available(), the devices it sees and their names;
#   3. where that Python is a virtualenv and bubblewrap is installed, the same space sandboxed, started
#      cold and then warm (forked from a warm starter that imported torch first): only the space's own
#      device nodes are bound, and the run log says which path the start took; then a space with no GPU,
#      from the same environment (warm: the same starter), which must find no GPU and no device node;
#   4. where Docker answers and PODIUM_GPU_CHECK_IMAGE names a local image with torch, the docker
#      backend does the same in a container with the allocated DeviceRequest.
# It prints one line per check and exits 1 when a space did not see exactly its GPUs.
# On a machine without network, first run benchmarks/gpu_wheels.sh elsewhere and carry .gpu-wheels/: its
# wheels, and Debian's packages of the sandbox's tools, unpacked here where a tool is missing.
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
        pydantic uv docker pyseccomp 2>&1 | tail -n 3 || true
fi

# Each file of a carried package that is missing here is copied to its place, never over one that exists:
# `dpkg -x` onto / would replace a merged-/usr system's /bin and /lib links with folders (on Ubuntu 24.04
# it broke /bin/sh).
unpack() {
    local deb unpacked="$DEPS/deb-$1"
    deb="$(ls "$ROOT/.gpu-wheels/debs/$1"_*.deb 2>/dev/null | head -n 1)"
    [ -n "$deb" ] || { echo "gpu_check: $1 is missing here and was not carried"; return; }
    echo "gpu_check: unpacking $(basename "$deb")"
    dpkg -x "$deb" "$unpacked"
    (cd "$unpacked" && find . ! -type d ! -path "./usr/share/*") | while read -r file; do
        dest="/${file#./}"
        [ -e "$dest" ] || [ -L "$dest" ] || { mkdir -p "$(dirname "$dest")"; cp -P "$unpacked/$file" "$dest"; }
    done
}
if [ -d "$ROOT/.gpu-wheels/debs" ] && [ "$(id -u)" = 0 ]; then
    for tool in bwrap:bubblewrap slirp4netns:slirp4netns ip:iproute2; do
        command -v "${tool%%:*}" >/dev/null || unpack "${tool#*:}"
    done
    for lib in libslirp.so.0:libslirp0 libglib-2.0.so.0:libglib2.0-0 libmnl.so.0:libmnl0 libbpf.so.1:libbpf1 \
        libxtables.so.12:libxtables12 libtirpc.so.3:libtirpc3 libelf.so.1:libelf1 libcap.so.2:libcap2 \
        libdb-5.3.so:libdb5.3 libselinux.so.1:libselinux1 libpcre2-8.so.0:libpcre2-8-0 libseccomp.so.2:libseccomp2; do
        ldconfig -p | grep -q "${lib%%:*}" || unpack "${lib#*:}"
    done
    ldconfig
fi
# The app runs with this very interpreter and its own package path (torch may come from a venv or
# from PYTHONPATH); Podium's modules and the carried wheels are for the check only.
export GPU_CHECK_APP_PYTHONPATH="${PYTHONPATH:-}"
export PYTHONPATH="$ROOT/runner:$DEPS/site${PYTHONPATH:+:$PYTHONPATH}"

exec timeout 400 "$PY" - "$DEPS" <<'PYTHON'
import asyncio, json, os, sys, urllib.request
from pathlib import Path

from podium_runner.backend import Environment
from podium_runner.gpus import GpuAllocator, inventory
from podium_runner.health import wait_until_ready
from podium_runner.plan import RunContext, make_plan
from podium_runner.spec import load_spec

work = Path(sys.argv[1])
APP = """
import http.server, json, os
import torch

def report():
    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    return {"uid": os.getuid(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "torch": torch.__version__, "cuda_available": available, "device_count": count,
            "device_names": [torch.cuda.get_device_name(i) for i in range(count)],
            "nvidia_nodes": sorted(name for name in os.listdir("/dev") if name.startswith("nvidia")),
            "tensor_sum": float(torch.ones(1000, device="cuda").sum()) if available else None}

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(report()).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)

address = (os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), int(os.environ.get("GRADIO_SERVER_PORT", os.environ.get("PORT", "7860"))))
http.server.HTTPServer(address, Handler).serve_forever()
"""
failures: list[str] = []


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


async def run(backend, plan, env, ctx, label: str) -> list:
    """Start the space, print what its app reports and which path the start took, and note a failure.
    Returns the running instances to stop (the caller keeps one running while it starts the next)."""
    log: list[str] = []
    instance = None
    try:
        instance = await backend.start(plan, env, ctx, log.append)
        await wait_until_ready(backend, instance, "/", 240)
        with urllib.request.urlopen(instance.url + "/", timeout=60) as response:
            result = json.loads(response.read())
    except Exception as exc:  # the check reports every backend's outcome, whatever one of them raised
        failures.append(f"{label}: {exc}")
        print(f"{label}: FAILED: {exc}\n  run log: {log[-8:]}")
        return [instance] if instance else []
    paths = [line.split("; not importable")[0] for line in log if line.startswith(("warm start", "cold start", "WARNING"))]
    print(f"{label}, allocated {list(ctx.gpu_ids)}: {json.dumps(result)}\n  run log: {paths}")
    wanted = len(ctx.gpu_ids)
    seen = result["device_count"] if result["cuda_available"] else 0
    # A space with no GPU must not even find a GPU's device node; one with a GPU must compute on it.
    if seen != wanted or (result["tensor_sum"] != 1000 if wanted else bool(result["nvidia_nodes"])):
        failures.append(f"{label}: the app did not see exactly its {wanted} GPU(s)")
    return [instance]


async def stop_all(backend, instances: list) -> None:
    for instance in instances:
        await backend.stop(instance)


async def main() -> None:
    allocator = GpuAllocator(inventory())
    print(f"inventory: {[(gpu.id, gpu.name) for gpu in allocator.gpus]}")
    from podium_runner.process import ProcessBackend, ProcessFolders
    from podium_runner.process.sandbox import sandbox_unavailable_reason

    # The machine's own Python (it has torch): an "environment" whose bin/python is that interpreter.
    env_dir = work / "host-env"
    (env_dir / "bin").mkdir(parents=True)
    python = env_dir / "bin" / "python"
    # A wrapper, not a symlink: the interpreter keeps its venv (found next to sys.executable).
    python.write_text(f"#!/bin/sh\nPYTHONPATH={os.environ['GPU_CHECK_APP_PYTHONPATH']!r} "
                      f"exec {sys.executable!r} \"$@\"\n")
    python.chmod(0o755)
    # requirements.txt names torch, so a warm starter of this environment imports it before it forks the app.
    plan = make_plan(load_spec(space(work / "space", "sdk: gradio", {"app.py": APP, "requirements.txt": "torch\n"})))
    ids = allocator.allocate("check/process", 1)
    backend = ProcessBackend(ProcessFolders.under(work / "process"), sandbox="off", limits=None)
    ctx = RunContext(space_id="check/process", port=free_port(), gpu_ids=ids, hardware="t4-small")
    await stop_all(backend, await run(backend, plan, Environment("process", "host", str(env_dir)), ctx, "process backend, not sandboxed"))
    await backend.close()

    # Sandboxed, the environment is bound into the app's root as it is: that of a virtualenv that holds torch.
    missing = sandbox_unavailable_reason()
    if sys.prefix == sys.base_prefix or os.environ["GPU_CHECK_APP_PYTHONPATH"]:
        print("process backend, sandboxed: not checked (torch does not come from a virtualenv's own packages)")
    elif missing:
        print(f"process backend, sandboxed: not checked ({missing})")
    else:
        for warm in (False, True):
            backend = ProcessBackend(ProcessFolders.under(work / f"sandboxed-{warm}"), sandbox="auto", warm_starts=warm)
            ctx = RunContext(space_id="check/process", port=free_port(), gpu_ids=ids, hardware="t4-small")
            label = f"process backend, sandboxed, warm starts {'on' if warm else 'off'}"
            running = await run(backend, plan, Environment("process", "host", sys.prefix), ctx, label)
            # A space without a GPU, started while the GPU space runs (warm: forked from the same starter).
            ctx = RunContext(space_id="check/cpu", port=free_port())
            running += await run(backend, plan, Environment("process", "host", sys.prefix), ctx, f"{label}, a space with no GPU")
            await stop_all(backend, running)
            await backend.close()
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
    await stop_all(backend, await run(backend, plan, env, ctx, "docker backend"))


asyncio.run(main())
if failures:
    sys.exit("gpu_check: FAILED: " + "; ".join(failures))
print("gpu_check: every space saw exactly its GPUs")
PYTHON
