"""The example spaces, loaded into one real Podium (process backend) with offline model stand-ins.

The examples share one dependency set, so one environment serves all 31. It is prepared first with
the process backend (in the machine-wide test cache, where `podium serve` finds it again), because
the stand-in builder runs in it: the stand-ins must be in the model cache before any app starts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from podium.examples import STANDINS_SCRIPT, example_specs, model_ids
from podium_runner.plan import make_plan
from podium_runner.process import ProcessBackend
from podium_runner.spec import SpaceSpec

from tests.support.podium_server import PODIUM, PodiumServer
from tests.support.process_spaces import shared_folders

OWNER = "examples"
# Apps import torch, transformers and Gradio at start (10-15 s of CPU each); starting them a few at a
# time keeps a 2-core machine responsive instead of 31 imports thrashing at once.
BATCH = 6
START_TIMEOUT_S = 300


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


@pytest.fixture(scope="session")
def standin_cache(examples_python: Path, specs: dict[str, SpaceSpec], tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("model-cache")
    cache.chmod(0o755)  # sandboxed apps run as another user and only read it
    subprocess.run(
        [str(examples_python), str(STANDINS_SCRIPT), "--cache", str(cache), *model_ids(specs)],
        check=True,
        capture_output=True,
        text=True,
    )
    return cache


@pytest.fixture(scope="module")
def examples_podium(start_podium: Callable[..., PodiumServer], standin_cache: Path) -> Iterator[PodiumServer]:
    """A Podium whose model cache holds the stand-ins, with every example loaded and RUNNING.

    Stopped (with its 31 apps, several GiB) as soon as the module's tests are done, not at session end.
    """
    server = start_podium(env={"PODIUM_MODEL_CACHE": str(standin_cache)})
    # Loaded as a user would: the CLI, through the HTTP API.
    load = [
        str(PODIUM),
        "examples",
        "load",
        "--url",
        server.url,
        "--token",
        server.token,
        "--owner",
        OWNER,
        "--offline",
        "--batch",
        str(BATCH),
        "--wait",
        str(START_TIMEOUT_S),
    ]
    result = subprocess.run(load, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"loading the examples failed:\n{result.stdout}\n{result.stderr}\npodium serve's log:\n{server.log()[-5000:]}"
    )
    yield server
    server.stop()
