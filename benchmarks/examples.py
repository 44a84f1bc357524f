"""How long Podium takes to load every example space to RUNNING, and how fast each answers.

Starts a real `podium serve` (process backend), writes the offline stand-ins (`podium examples standins`),
publishes them as its models and loads the examples with `podium examples load --standins DIR --batch N
--wait` (the apps download their models through HF_ENDPOINT), and prints the time to all RUNNING;
then calls each example through the proxy with its shipped input (the same calls as the tests:
gradio_client for Gradio, headless Chromium for Streamlit) --calls times and prints the median
latency per task, beside its ratio to the median of all tasks.

With `--memory`, it loads them twice instead, on a `podium serve` with cold starts and then on one with warm
starts (the default), and prints the total PSS of the 31 running examples both ways (their apps, their
sandboxes' first processes and, warm, the starter they share), with the ratio.

    .venv/bin/python -m benchmarks.examples [--calls 5] [--batch 6] [--memory]   (from the repository root)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gradio_client import Client
from playwright.sync_api import sync_playwright
from podium.examples import example_specs, model_ids
from podium_runner.plan import make_plan
from podium_runner.process import ProcessBackend

from benchmarks.warm_starts import cgroup_processes, memory_of
from tests.examples.checks import GRADIO_CHECKS, STREAMLIT_CHECKS, use_streamlit_app
from tests.examples.test_examples_answer import CHROMIUM_ARGS
from tests.support.podium_server import PODIUM, PodiumServer
from tests.support.process_spaces import free_port, shared_folders

OWNER = "examples"


def timed(action: Callable[..., object], *args: object, **kwargs: object) -> float:
    started = time.monotonic()
    action(*args, **kwargs)
    return time.monotonic() - started


# all-MiniLM-L6-v2's stand-in is its real weights, 87 MiB: more than the default max_file_size (50 MiB).
SETTINGS = {"PODIUM_LIMITS__MAX_FILE_SIZE": str(100 << 20)}


def load(server: PodiumServer, standins: Path, batch: int) -> None:
    """`podium examples load` into `server`, until every example is RUNNING."""
    command = [str(PODIUM), "examples", "load", "--url", server.url, "--token", server.token, "--owner", OWNER]
    command += ["--standins", str(standins), "--batch", str(batch), "--wait", "1200"]
    subprocess.run(command, check=True, capture_output=True)


def measure_memory(root: Path, standins: Path, batch: int) -> None:
    """The examples' total PSS with cold starts, then with warm starts, each on a podium serve of its own."""
    totals = {}
    for label, warm in (("cold", "false"), ("warm", "true")):
        server = PodiumServer(root / f"data-{label}", free_port(), free_port(), SETTINGS | {"PODIUM_WARM_STARTS": warm})
        server.start()
        try:
            load_s = timed(load, server, standins, batch)
            time.sleep(10)  # idle, as a visitor would find them
            instances = cgroup_processes(f"{OWNER}--")
            starters = cgroup_processes("warm-")
            totals[label] = sum(memory_of(processes)[1] for processes in [*instances, *starters]) / 1024
            print(f"{label}: {len(instances)} examples RUNNING in {load_s:.0f} s, {len(starters)} warm starter(s)")
        finally:
            server.stop()
    shutil.rmtree(root, ignore_errors=True)
    print(f"{'the examples running at once, total PSS (GiB)':48} {'cold':>8} {'warm':>8} {'warm/cold':>9}")
    print(f"{'':48} {totals['cold']:8.2f} {totals['warm']:8.2f} {totals['warm'] / totals['cold']:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5, help="calls per example (the first is not counted)")
    parser.add_argument("--batch", type=int, default=6, help="examples started at a time")
    parser.add_argument("--memory", action="store_true", help="total PSS of the examples, cold and warm starts")
    args = parser.parse_args()
    specs = example_specs()
    root = Path(tempfile.mkdtemp(prefix="podium-bench-examples-"))

    plan = make_plan(next(iter(specs.values())))
    started = time.monotonic()
    environment = asyncio.run(ProcessBackend(shared_folders(root)).prepare(plan, lambda line: None))
    environment_s = time.monotonic() - started
    standins = root / "standins"
    python = Path(environment.location) / "bin" / "python"
    build_standins = [str(PODIUM), "examples", "standins", "--out", str(standins), "--python", str(python)]
    standins_s = timed(subprocess.run, build_standins, check=True, capture_output=True)

    if args.memory:
        measure_memory(root, standins, args.batch)
        return
    server = PodiumServer(root / "data", free_port(), free_port(), SETTINGS).start()
    try:
        load_s = timed(load, server, standins, args.batch)
        latencies: dict[str, float] = {}
        for task, check in GRADIO_CHECKS.items():
            client = Client(f"{server.spaces_url}/apps/{OWNER}/{task}/", verbose=False)
            check(client)  # warm-up: first call pays for lazy imports
            latencies[task] = statistics.median(timed(check, client) for _ in range(args.calls))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            for task, streamlit_check in STREAMLIT_CHECKS.items():
                url = f"{server.spaces_url}/apps/{OWNER}/{task}/"
                use_streamlit_app(page, url, streamlit_check)  # warm-up: the first run loads the model
                latencies[task] = statistics.median(
                    timed(use_streamlit_app, page, url, streamlit_check) for _ in range(args.calls)
                )
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"shared environment ready (built or reused): {environment_s:7.1f} s")
    print(f"all {len(model_ids(specs))} stand-ins built:             {standins_s:7.1f} s")
    print(
        f"stand-ins published, {len(specs)} examples RUNNING: {load_s:7.1f} s  "
        f"({load_s / len(specs):.1f} s per example, batches of {args.batch})"
    )
    overall = statistics.median(latencies.values())
    print(f"\n{'task':34} {'sdk':10} {'median s':>9} {'x median':>9}")
    for task in sorted(latencies):
        print(f"{task:34} {specs[task].sdk:10} {latencies[task]:9.3f} {latencies[task] / overall:9.2f}")
    print("(Gradio: one gradio_client call. Streamlit: open the page, type, click, read the output)")


if __name__ == "__main__":
    main()
