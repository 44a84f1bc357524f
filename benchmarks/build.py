"""Docker backend vs process backend, side by side, on one Gradio space:

cold build        a dependency set neither backend has seen (uv's cache is warm, as on a used host)
warm build        the same space again (the environment or image exists)
code-only         app.py changed (process: nothing to build; docker: one COPY layer)
start to first 200  start() until the app answers

  .venv/bin/python benchmarks/build.py [--base-image podium-base:bookworm] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from podium_runner.backend import Backend
from podium_runner.docker import DockerBackend
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.spec import load_spec

APP = """
import gradio as gr
gr.Interface(lambda name: f"{greeting} {name}!", "text", "text").launch()
"""


def write_space(folder: Path, nonce: str, greeting: str) -> BuildPlan:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("---\nsdk: gradio\n---\n")
    # A requirement every run writes differently, which any markupsafe satisfies: a new dependency set.
    (folder / "requirements.txt").write_text(f"markupsafe>=0.{nonce}\n")
    (folder / "app.py").write_text(f"greeting = {greeting!r}\n" + textwrap.dedent(APP))
    return make_plan(load_spec(folder))


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await step()
    return time.perf_counter() - started


async def measure(backend: Backend, work: Path, port: int) -> dict[str, float]:
    nonce = str(uuid.uuid4().int % 10**8)
    quiet = lambda _line: None  # noqa: E731
    plan = write_space(work / "space", nonce, "Hello")
    figures = {
        "cold build": await timed(lambda: backend.prepare(plan, quiet)),
        "warm build": await timed(lambda: backend.prepare(plan, quiet)),
    }
    changed = write_space(work / "space", nonce, "Howdy")
    env = None

    async def code_only() -> None:
        nonlocal env
        env = await backend.prepare(changed, quiet)

    figures["code-only rebuild"] = await timed(code_only)
    ctx = RunContext(space_id="bench/space", port=port)
    started = time.perf_counter()
    instance = await backend.start(changed, env, ctx, quiet)
    await wait_until_ready(backend, instance, changed.launch(ctx).health_path, 120)
    figures["start to first 200"] = time.perf_counter() - started
    await backend.stop(instance)
    return figures


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="podium-base:bookworm")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        backends: dict[str, Callable[[], Backend]] = {
            "process": lambda: ProcessBackend(ProcessFolders.under(Path(tmp) / "process")),
            "docker": lambda: DockerBackend(base_image=args.base_image),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in backends}
        for run in range(args.runs):
            for name, make in backends.items():
                backend = make()
                results[name].append(await measure(backend, Path(tmp) / f"{name}-{run}", free_port()))
                await backend.close()
    steps = list(results["process"][0])
    title = f"median of {args.runs} run(s), seconds"
    print(f"{title:<34}{'process':>10}{'docker':>10}{'docker/process':>16}")
    for step in steps:
        process = statistics.median(r[step] for r in results["process"])
        docker = statistics.median(r[step] for r in results["docker"])
        # A ratio of two near-zero times says nothing; those rows show the times alone.
        ratio = f"{docker / process:>15.1f}x" if min(process, docker) >= 0.05 else f"{'-':>16}"
        print(f"{step:<34}{process:>10.2f}{docker:>10.2f}{ratio}")


if __name__ == "__main__":
    asyncio.run(main())
