"""How long the process backend takes to build environments and to bring an app to its first 200.

Prints, side by side: building the default Gradio environment with a fresh uv cache (cold), with a
warm cache into a new environment, for a new space with the same requirements (shared environment),
and with one extra package; then launch-to-first-200 for Gradio and Streamlit. Medians of --runs.

    .venv/bin/python benchmarks/runner.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.spec import load_spec

GRADIO = 'import gradio as gr\ngr.Interface(lambda n: f"Hello {n}!", "text", "text").launch()\n'
STREAMLIT = 'import streamlit as st\nst.write("Hello")\n'
EXTRA_PACKAGE = "tabulate"


def space(root: Path, name: str, sdk: str, app: str, requirements: str = "") -> BuildPlan:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"---\nsdk: {sdk}\n---\n")
    (folder / "app.py").write_text(textwrap.dedent(app))
    (folder / "requirements.txt").write_text(requirements)
    return make_plan(load_spec(folder))


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.monotonic()
    await action()
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def first_200(backend: ProcessBackend, plan: BuildPlan) -> float:
    env = await backend.prepare(plan, lambda line: None)
    ctx = RunContext(space_id=f"bench/{plan.space_root.name}", port=free_port())
    started = time.monotonic()
    instance = await backend.start(plan, env, ctx, lambda line: None)
    try:
        await wait_until_ready(backend, instance, plan.launch(ctx).health_path, 300)
        return time.monotonic() - started
    finally:
        await backend.stop(instance)


def row(label: str, samples: list[float], baseline: float | None) -> str:
    median = statistics.median(samples)
    ratio = f"{median / baseline:6.2f}x" if baseline else "      -"
    spread = ", ".join(f"{s:.2f}" for s in samples)
    return f"{label:<46} {median:8.2f} s  {ratio}   ({spread})"


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="podium-bench-", dir=Path.home() / ".cache") as tmp:
        root = Path(tmp)
        backend = ProcessBackend(ProcessFolders.under(root / "home"))
        plain = space(root, "gradio", "gradio", GRADIO)
        cold = [await timed(lambda: backend.prepare(plain, lambda line: None))]
        warm = [await timed(lambda: backend.prepare(plain, lambda line: None, rebuild=True)) for _ in range(runs)]
        shared = []
        for number in range(runs):
            other = space(root, f"gradio-other-{number}", "gradio", GRADIO.replace("Hello", f"Hi {number}"))
            shared.append(await timed(lambda other=other: backend.prepare(other, lambda line: None)))
        extra = space(root, "gradio-extra", "gradio", GRADIO, requirements=EXTRA_PACKAGE + "\n")
        plus_one = [await timed(lambda: backend.prepare(extra, lambda line: None, rebuild=True)) for _ in range(runs)]
        streamlit = space(root, "streamlit", "streamlit", STREAMLIT)
        await backend.prepare(streamlit, lambda line: None)
        unsandboxed = ProcessBackend(ProcessFolders.under(root / "home"), sandbox="off")
        starts: dict[tuple[str, bool], list[float]] = {}
        for sdk_plan in (plain, streamlit):
            await first_200(backend, sdk_plan)  # warm-up: a fresh environment's files are not in memory yet
            for _ in range(runs):  # alternated, so that load on the machine falls on both alike
                for sandboxed in (True, False):
                    sample = await first_200(backend if sandboxed else unsandboxed, sdk_plan)
                    starts.setdefault((sdk_plan.sdk, sandboxed), []).append(sample)
        await backend.close()
        await unsandboxed.close()

    mode = "sandboxed" if backend.sandboxed else "plain child process"
    print(f"\nProcess backend ({mode}), {runs} runs, median (samples); ratio to the cold build\n")
    print(row("gradio environment, cold uv cache", cold, cold[0]))
    print(row("gradio environment, warm cache, new env", warm, cold[0]))
    print(row("new space, same requirements (shared env)", shared, cold[0]))
    print(row(f"gradio + {EXTRA_PACKAGE}, warm cache, new env", plus_one, cold[0]))
    print("\nStart to first HTTP 200; ratio to Gradio\n")
    gradio = statistics.median(starts[("gradio", True)])
    for (sdk, sandboxed), samples in starts.items():
        print(row(f"{sdk}, {mode if sandboxed else 'plain child process'}", samples, gradio))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
