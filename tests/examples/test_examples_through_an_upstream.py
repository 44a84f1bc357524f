"""An example loaded without stand-ins into a Podium whose upstream Hub holds its model (issue 12, item 5): the
app downloads the model through its Podium, which fetches it from the upstream once and keeps it cached.

The Hub cannot be reached from here, so the upstream is a second real Podium holding the stand-in under the
model's Hub id, as the Hub holds the real one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client
from huggingface_hub import HfApi
from podium.examples.loader import publish_models

from tests.examples.checks import GRADIO_CHECKS
from tests.examples.conftest import MAX_FILE_SIZE, OWNER
from tests.support.podium_server import PODIUM, PodiumServer

pytestmark = pytest.mark.slow

TASK = "token-classification"  # a Gradio example with a small model
MODEL = "dslim/bert-base-NER"


def test_an_example_loads_its_model_through_the_pull_through_cache(
    start_podium: Callable[..., PodiumServer], examples_folder: Path
) -> None:
    upstream = start_podium(env={"PODIUM_LIMITS__MAX_FILE_SIZE": str(MAX_FILE_SIZE)})
    publish_models(HfApi(endpoint=upstream.url, token=upstream.token), examples_folder / "standins", [MODEL])
    podium = start_podium(env={"PODIUM_HUB_UPSTREAM": upstream.url})
    load = [str(PODIUM), "examples", "load", "--url", podium.url, "--token", podium.token]
    loaded = subprocess.run([*load, "--only", TASK, "--wait", "600"], capture_output=True, text=True, timeout=900)
    assert loaded.returncode == 0, f"{loaded.stdout}\n{loaded.stderr}\n{podium.log()[-3000:]}"

    GRADIO_CHECKS[TASK](Client(f"{podium.spaces_url}/apps/{OWNER}/{TASK}/", verbose=False))
    cached = subprocess.run(
        [str(PODIUM), "models", "cached", "--endpoint", podium.url, "--token", podium.token],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"model\t{MODEL}" in cached.stdout.splitlines(), cached.stdout + cached.stderr
    # The same revision as the upstream's: fetched from there, not made up.
    sha = HfApi(endpoint=upstream.url).model_info(MODEL).sha
    assert HfApi(endpoint=podium.url, token=podium.token).model_info(MODEL).sha == sha
