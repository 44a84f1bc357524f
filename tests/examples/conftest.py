"""The example spaces, loaded into one real Podium (process backend) with offline model stand-ins.

The examples share one dependency set, so one environment serves all 31. It is prepared first with
the process backend (in the machine-wide test cache, where `podium serve` finds it again), because
the stand-in builder runs in it. The README's `podium examples` block, run as written, writes the
stand-ins and publishes them as model repositories under their Hub ids, and the apps download them
through HF_ENDPOINT (the door in their sandbox), as in a real deployment: no HF_HUB_OFFLINE, no model cache.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from podium.examples import example_specs
from podium_runner.plan import make_plan
from podium_runner.process import ProcessBackend
from podium_runner.spec import SpaceSpec

from tests.support.as_written import readme_blocks
from tests.support.podium_server import PODIUM, PodiumServer
from tests.support.process_spaces import shared_folders

OWNER = "examples"  # `podium examples load`'s default owner
README_BLOCK = "tests/examples/conftest.py runs this block"
ENV_PYTHON = "ENV/bin/python"  # the README's name for the Python of an environment with the examples' requirements
# The README's PODIUM_LIMITS__MAX_FILE_SIZE: all-MiniLM-L6-v2's stand-in is its real weights, 87 MiB.
MAX_FILE_SIZE = 104857600
# Writing and publishing the stand-ins and starting the 31 apps (2-3 min on 2 cores, much more beside other
# heavy tests) is the setup of the first test that asks for the examples, within that test's timeout.
LOAD_TIMEOUT_S = 1200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "examples_podium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(LOAD_TIMEOUT_S))


@pytest.fixture(scope="session")
def specs() -> dict[str, SpaceSpec]:
    return example_specs()


@pytest.fixture(scope="session")
async def examples_python(
    specs: dict[str, SpaceSpec], tmp_path_factory: pytest.TempPathFactory, anyio_backend: str
) -> Path:
    """The Python of the examples' one shared environment, built (or reused) by the process backend."""
    plans = {make_plan(spec).build_key: make_plan(spec) for spec in specs.values()}
    assert len(plans) == 1, f"the examples should share one environment, they need {len(plans)}"
    backend = ProcessBackend(shared_folders(tmp_path_factory.mktemp("examples-env")))
    lines: list[str] = []
    environment = await backend.prepare(next(iter(plans.values())), lines.append, space_id=f"{OWNER}/any")
    return Path(environment.location) / "bin" / "python"


def readme_commands() -> tuple[str, str]:
    """The README's two `podium examples` lines: write the stand-ins, then publish them and load the examples."""
    ((language, block),) = readme_blocks(README_BLOCK)
    assert language == "sh"
    write, load = block.splitlines()
    assert write.startswith("podium examples standins") and load.startswith("podium examples load"), block
    return write, load


def run_as_written(line: str, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`line` in bash in `folder`, with this checkout's `podium` first on PATH."""
    path = f"{PODIUM.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{line}\n"],
        cwd=folder,
        env=os.environ | {"PATH": path} | env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def examples_folder(examples_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `standins/`, written once by the README's first line with the examples' Python."""
    folder = tmp_path_factory.mktemp("examples-load")
    write, _ = readme_commands()
    result = run_as_written(write.replace(ENV_PYTHON, str(examples_python)), folder)
    assert result.returncode == 0, f"writing the stand-ins failed:\n{result.stdout}\n{result.stderr}"
    return folder


@pytest.fixture(scope="module")
def examples_podium(start_podium: Callable[..., PodiumServer], examples_folder: Path) -> Iterator[PodiumServer]:
    """A Podium holding the stand-ins as model repositories, with every example loaded and RUNNING.

    Stopped (with its 31 apps, several GiB) as soon as the module's tests are done, not at session end.
    """
    # Warm starts (Podium's default): the 31 apps fork from one starter that imported torch, transformers and
    # Gradio once (the setup takes about a minute instead of five on 2 cores), and every example checks a
    # warm start too.
    server = start_podium(env={"PODIUM_LIMITS__MAX_FILE_SIZE": str(MAX_FILE_SIZE)})
    # The README's second line, with the admin token in PODIUM_TOKEN (as its quick start exports it).
    _, load = readme_commands()
    result = run_as_written(load, examples_folder, PODIUM_URL=server.url, PODIUM_TOKEN=server.token)
    assert result.returncode == 0, (
        f"loading the examples failed:\n{result.stdout}\n{result.stderr}\npodium serve's log:\n{server.log()[-5000:]}"
    )
    yield server
    server.stop()
