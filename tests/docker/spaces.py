"""Spaces the docker tests run: Gradio ones, and stdlib servers on the shared Gradio dependency image."""

from __future__ import annotations

import textwrap
import time
from dataclasses import replace
from pathlib import Path

import docker
from podium_runner.backend import Backend, Instance
from podium_runner.docker import containers
from podium_runner.hardware import FLAVORS
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.spec import load_spec

from tests.support.process_spaces import GRADIO_HELLO, stdlib_app, write_space

# Small limits so that the memory hog and the fork bomb hit them fast on a shared 2-core machine.
TEST_FLAVORS = {
    **FLAVORS,
    "cpu-basic": replace(FLAVORS["cpu-basic"], cpus=1, memory_mb=768, pids=128),
    "t4-small": replace(FLAVORS["t4-small"], cpus=1, memory_mb=768, pids=128),
}


async def start_container(backend: Backend, plan: BuildPlan, ctx: RunContext, cleanup: list[str]) -> Instance:
    """Build and start `plan`, its container listed in `cleanup` for removal after the test."""
    env = await backend.prepare(plan, lambda _line: None)
    instance = await backend.start(plan, env, ctx, lambda _line: None)
    cleanup.append(instance.state["id"])
    return instance


def stdlib_space(folder: Path, prelude: str = "", packages: str | None = None) -> BuildPlan:
    """The shared stdlib server (answers with REPORT as JSON; `prelude` fills it or misbehaves first)."""
    app = stdlib_app(prelude)
    files = {"packages.txt": packages} if packages is not None else None
    return make_plan(load_spec(write_space(folder, "sdk: gradio", app, files=files)))


def write_probe(*paths: str) -> str:
    """A prelude that tries to write each path (REPORT[path]: "written", or why not) and lists /data;
    unindented, so that it can follow another prelude."""
    return textwrap.dedent(f"""
        import pathlib
        for path in {paths!r}:
            try:
                pathlib.Path(path).write_text("x")
                REPORT[path] = "written"
            except OSError as exc:
                REPORT[path] = exc.strerror
        REPORT["data"] = sorted(p.name for p in pathlib.Path("/data").iterdir())
    """)


def gradio_space(folder: Path, greeting: str = "Hello", nonce: str = "") -> BuildPlan:
    """A Gradio greeter; a `nonce` makes its code new, so its app image must be built this run."""
    app = GRADIO_HELLO.replace('f"Hello {name}!"', f'f"{greeting} {{name}}!"') + f"    # {nonce}\n"
    return make_plan(load_spec(write_space(folder, "title: Greeter\nsdk: gradio", app)))


def docker_space(folder: Path, dockerfile: str, files: dict[str, str] | None = None, app_port: int = 7860) -> BuildPlan:
    front = f"sdk: docker\napp_port: {app_port}"
    return make_plan(load_spec(write_space(folder, front, dockerfile, app_file="Dockerfile", files=files)))


def containers_of(client: docker.DockerClient, space_id: str, *ids: str) -> list[str]:
    """The names of the containers named after `space_id`, or with one of `ids`, running or not. The engine may
    refuse a listing while a container is being renamed (400 Bad Request): it is asked again."""
    prefix = "/" + containers.container_name(space_id, "")
    for _ in range(20):
        try:
            listed = client.api.containers(all=True)
            break
        except docker.errors.APIError:
            time.sleep(0.1)
    else:
        raise AssertionError("the engine refused to list its containers 20 times")
    return [item["Names"][0] for item in listed if item["Names"][0].startswith(prefix) or item["Id"] in ids]
