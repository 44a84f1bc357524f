"""Warm starts and tiered sleep (issue 13), measured from outside through Podium's API and proxy.

Two `podium serve`s on one machine, one with cold starts (no warm starters, no freezing) and one with warm
starts and freezing, each running the same idle Gradio spaces of one environment. Prints side by side: a start
(request to a stopped space until the first byte of its 200) and a wake from the freezer (median and slowest
of the rounds), a code-only push until the new revision answers, and the private memory and PSS of each idle
space (its app and the sandbox's first process; warm: plus the starter's own, shared by its spaces), with
ratios.

    .venv/bin/python benchmarks/warm_starts.py [--rounds 3] [--spaces 3] [--torch-spaces 3] [--docker]

`--docker` also runs the Gradio spaces' starts, wakes and pushes on the docker backend (dockerd running, the
base image bootstrapped), without seats and paused containers, then with them.

`--torch-spaces N` also runs N idle spaces on the examples' environment (torch, transformers, gradio,
streamlit; `tests/examples` builds it), each building a small BERT, cold and then warm, and prints their
memory the same way: the 31 examples at once take more memory than a shared test machine has.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx
from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podium_runner.backend import Environment  # noqa: E402
from podium_runner.health import wait_until_ready  # noqa: E402
from podium_runner.plan import RunContext, make_plan  # noqa: E402
from podium_runner.process import ProcessBackend, procs  # noqa: E402
from podium_runner.spec import load_spec  # noqa: E402

from tests.platform.spaces import echo_space  # noqa: E402
from tests.support.podium_server import PodiumServer  # noqa: E402
from tests.support.process_spaces import TEST_CACHE, free_port, shared_folders, write_space  # noqa: E402

MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory/podium")
COLD = {"PODIUM_WARM_STARTS": "false", "PODIUM_FREEZE_AFTER_S": "1000000"}
WARM = {"PODIUM_WARM_STARTS": "true", "PODIUM_FREEZE_AFTER_S": "1"}
_COMMON = {"PODIUM_WATCH_INTERVAL_S": "0.2"}
DOCKER = {"PODIUM_BACKEND": "docker", "PODIUM_DOCKER_BASE_IMAGE": "podium-base:bookworm"}
DOCKER_COLD = DOCKER | {"PODIUM_DOCKER_SEATS": "0", "PODIUM_FREEZE_AFTER_S": "1000000"}
DOCKER_WARM = DOCKER | {"PODIUM_DOCKER_SEATS": "1", "PODIUM_FREEZE_AFTER_S": "1"}


def first_byte(server: PodiumServer, space: str, path: str = "config") -> float:
    started = time.perf_counter()
    with httpx.stream("GET", f"{server.spaces_url}/apps/{space}/{path}", timeout=600) as response:
        next(response.iter_raw())
        if response.status_code != 200:
            sys.exit(f"{space} answered {response.status_code}")
    return time.perf_counter() - started


def runtime(server: PodiumServer, space: str) -> dict:
    return server.http().get(f"/api/spaces/{space}/runtime").json()


def stop_wake(server: PodiumServer, space: str) -> float:
    """Seconds from a request to a stopped space until the first byte of its 200: a start."""
    api = server.api()
    api.set_space_sleep_time(space, 1)
    while runtime(server, space)["stage"] != "STOPPED":
        time.sleep(0.1)
    api.set_space_sleep_time(space, -1)
    return first_byte(server, space)


def freeze_wake(server: PodiumServer, space: str) -> float:
    """Seconds from a request to a frozen space until the first byte of its 200."""
    server.api().set_space_sleep_time(space, 3600)
    while not runtime(server, space).get("frozen"):
        time.sleep(0.1)
    woken = first_byte(server, space)
    server.api().set_space_sleep_time(space, -1)
    return woken


def code_only_push(server: PodiumServer, space: str, folder: Path, version: str, pause: float) -> float:
    """Seconds from the upload of new code until the new revision answers through the proxy, after `pause`
    seconds of a developer's edit. Each probe is a new client: one that keeps its instance cookie stays on the
    old revision while that one drains."""
    time.sleep(pause)
    echo_space(folder, version=version)
    url = f"{server.spaces_url}/apps/{space}/"
    started = time.perf_counter()
    server.api().upload_folder(repo_id=space, folder_path=folder, repo_type="space")
    while not Client(url, verbose=False).predict(api_name="/about").startswith(f"{version} "):
        time.sleep(0.05)
    return time.perf_counter() - started


def memory_of(processes: list[int]) -> tuple[float, float]:
    """Private (clean + dirty) and PSS in MiB of `processes`, from smaps_rollup."""
    private = pss = 0
    for pid in processes:
        try:
            fields = dict(
                (line.split()[0].rstrip(":"), int(line.split()[1]))
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
            )
        except OSError:
            continue
        private += fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        pss += fields.get("Pss", 0)
    return private / 1024, pss / 1024


def cgroup_processes(prefix: str) -> list[list[int]]:
    """The processes of each instance cgroup whose name starts with `prefix`."""
    return [
        [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
        for group in sorted(MEMORY_CGROUPS.glob(f"{prefix}*"))
        if group.is_dir()
    ]


# A developer's pushes come after an edit; the docker backend's seat for the next push is made meanwhile (its
# imports take 4 to 6 s on 2 busy cores, so pushes back to back find it still importing and start cold).
PUSH_PAUSE_S = 10.0


def measure(server: PodiumServer, root: Path, spaces: int, rounds: int, warm: bool) -> dict[str, float]:
    api = server.api()
    names = [f"admin/bench-idle-{i}" for i in range(spaces)]  # admin's environments are in the test cache
    folders = {name: echo_space(root / name.replace("/", "-")) for name in names}
    pushes = []
    for name in names:
        api.create_repo(name, repo_type="space", space_sdk="gradio")
        started = time.perf_counter()
        api.upload_folder(repo_id=name, folder_path=folders[name], repo_type="space")
        if server.wait_for_stage(name, timeout=900, poll_s=0.02)["stage"] != "RUNNING":
            sys.exit(f"{name} did not run:\n{server.log()[-3000:]}")
        pushes.append(time.perf_counter() - started)
        first_byte(server, name, "")  # a page view, as a visitor would
    # The first one's environment was there already.
    results = {"push_same_environment": statistics.median(pushes[1:])}
    time.sleep(3)  # idle
    if per_space := [memory_of(procs) for procs in cgroup_processes("admin--bench-idle-")]:  # processes only
        starter = [memory_of(procs) for procs in cgroup_processes("warm-")] if warm else []
        results |= {
            "private": statistics.mean(p for p, _ in per_space),
            "pss": statistics.mean(s for _, s in per_space),
            "starter_pss": sum(s for _, s in starter),
            "total_pss": sum(s for _, s in per_space) + sum(s for _, s in starter),
        }
    # The first space's starts and wakes; the others keep the environment's starter alive.
    starts = [stop_wake(server, names[0]) for _ in range(rounds)]
    results["start"], results["start_slowest"] = statistics.median(starts), max(starts)
    if warm:
        wakes = [freeze_wake(server, names[0]) for _ in range(rounds)]
        results["freeze_wake"], results["freeze_wake_slowest"] = statistics.median(wakes), max(wakes)
    versions = iter(range(2, 2 + 2 * rounds))  # each push's code is new
    for label, pause in (("code_push", PUSH_PAUSE_S), ("code_push_at_once", 0)):
        pushes = [
            code_only_push(server, names[0], folders[names[0]], f"v{next(versions)}", pause) for _ in range(rounds)
        ]
        results[label] = statistics.median(pushes)
    return results


# An example-like app: torch and transformers imported, a small BERT built (no download), a Gradio page.
TORCH_APP = """
import gradio as gr
import torch
from transformers import BertConfig, BertModel

model = BertModel(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128))


def embed(text: str) -> str:
    with torch.no_grad():
        return str(model(torch.tensor([[len(text) % 100 + 1]])).last_hidden_state.shape)


gr.Interface(embed, "text", "text").launch()
"""


def examples_environment() -> Path:
    """The examples' environment in the test cache (tests/examples builds it)."""
    found = sorted(TEST_CACHE.glob("environments/examples-*/*/.podium-complete.json"))
    for marker in found:
        if '"torch' in marker.read_text():
            return marker.parent.resolve()
    sys.exit("no examples environment in the test cache: run tests/examples first")


async def torch_spaces(root: Path, count: int, warm: bool) -> dict[str, float]:
    location = examples_environment()
    backend = ProcessBackend(shared_folders(root / ("warm" if warm else "cold")), sandbox="on", warm_starts=warm)
    # The requirements the examples' environment was built from: they name what its starter imports.
    requirements = "\n".join(json.loads((location / ".podium-complete.json").read_text())["requirements"])
    plan = make_plan(load_spec(write_space(root / "torch-space", "sdk: gradio", TORCH_APP, requirements=requirements)))
    environment = Environment(backend="process", key=location.name.split(".")[0], location=str(location))
    instances = []
    try:
        for index in range(count):
            ctx = RunContext(space_id=f"examples/bench-torch-{index}", port=free_port())
            instance = await backend.start(plan, environment, ctx, lambda line: None)
            instances.append(instance)
            await wait_until_ready(backend, instance, "/", 900)
            httpx.get(instance.url + "/", timeout=60)
        time.sleep(3)
        per_space = [memory_of(procs.tree(instance.details.pid)) for instance in instances]
        starter = backend.warm.get(location)
        starter_pss = memory_of(procs.tree(starter.process.pid))[1] if starter else 0.0
    finally:
        for instance in instances:
            await backend.stop(instance)
        await backend.close()
    return {
        "private": statistics.mean(p for p, _ in per_space),
        "pss": statistics.mean(s for _, s in per_space),
        "total_pss": sum(s for _, s in per_space) + starter_pss,
    }


def measure_with(settings: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    """`measure` on a fresh `podium serve` with `settings`."""
    warm = settings in (WARM, DOCKER_WARM)
    with tempfile.TemporaryDirectory(prefix=f"podium-bench-{'warm' if warm else 'cold'}-") as tmp:
        root = Path(tmp)
        server = PodiumServer(root / "data", free_port(), free_port(), settings | _COMMON).start()
        try:
            return measure(server, root, args.spaces, args.rounds, warm)
        finally:
            server.stop()


def print_code_pushes(cold: dict[str, float], warm: dict[str, float]) -> None:
    label = f"code-only push {PUSH_PAUSE_S:.0f} s after the last -> new code answers (s)"
    print_row(label, cold["code_push"], warm["code_push"])
    print_row("  pushed as soon as the last answers (s)", cold["code_push_at_once"], warm["code_push_at_once"])


def print_row(label: str, before: float, after: float) -> None:
    print(f"{label:62} {before:9.2f} {after:9.2f} {after / before:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spaces", type=int, default=3, help="at least 2; 0 skips the Gradio hello spaces")
    parser.add_argument("--torch-spaces", type=int, default=0)
    parser.add_argument("--docker", action="store_true", help="the Gradio spaces on the docker backend too")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="If your Space runs on the default 'cpu-basic'")
    print(f"{'process backend':62} {'cold':>9} {'warm':>9} {'warm/cold':>9}")
    if args.spaces >= 2:
        cold, warm = (measure_with(settings, args) for settings in (COLD, WARM))
        print_row("push to RUNNING, same environment as a running space (s)", *(
            r["push_same_environment"] for r in (cold, warm)))  # fmt: skip
        print_row("start: request to a stopped space -> first byte (s)", cold["start"], warm["start"])
        print_row(f"  the slowest of {args.rounds} (s)", cold["start_slowest"], warm["start_slowest"])
        print_row("wake: stopped (cold) vs frozen (warm) -> first byte (s)", cold["start"], warm["freeze_wake"])
        print_row(f"  the slowest of {args.rounds} (s)", cold["start_slowest"], warm["freeze_wake_slowest"])
        print_code_pushes(cold, warm)
        print_row("idle Gradio hello space, private memory (MiB)", cold["private"], warm["private"])
        print_row("idle Gradio hello space, PSS (MiB)", cold["pss"], warm["pss"])
        print_row(f"{args.spaces} idle Gradio spaces, total PSS incl. the starter (MiB)", cold["total_pss"],
                  warm["total_pss"])  # fmt: skip
        print(f"{'  of which the warm starter, PSS (MiB)':62} {'':>9} {warm['starter_pss']:9.1f}")
    if args.docker and args.spaces >= 2:
        cold, warm = (measure_with(settings, args) for settings in (DOCKER_COLD, DOCKER_WARM))
        print(f"{'docker backend':62} {'no seats':>9} {'seats':>9}")
        print_row("push to RUNNING, same dependency image as a running space (s)", *(
            r["push_same_environment"] for r in (cold, warm)))  # fmt: skip
        print_row("start: request to a stopped space -> first byte (s)", cold["start"], warm["start"])
        print_row(f"  the slowest of {args.rounds} (s)", cold["start_slowest"], warm["start_slowest"])
        print_row("wake: stopped (no seats) vs paused (seats) -> first byte (s)", cold["start"], warm["freeze_wake"])
        print_code_pushes(cold, warm)
    if args.torch_spaces:
        with tempfile.TemporaryDirectory(prefix="podium-bench-torch-") as tmp:
            cold = asyncio.run(torch_spaces(Path(tmp), args.torch_spaces, warm=False))
            warm = asyncio.run(torch_spaces(Path(tmp), args.torch_spaces, warm=True))
        print_row("idle torch+transformers space, private memory (MiB)", cold["private"], warm["private"])
        print_row("idle torch+transformers space, PSS (MiB)", cold["pss"], warm["pss"])
        print_row(f"{args.torch_spaces} torch+transformers spaces, total PSS incl. the starter (MiB)",
                  cold["total_pss"], warm["total_pss"])  # fmt: skip


if __name__ == "__main__":
    main()
