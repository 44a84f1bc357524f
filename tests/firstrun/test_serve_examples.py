"""`scripts/serve --examples` on a fresh folder: all 31 examples on the home page at once, the first
one answering, and the home page saying that their models are offline stand-ins (no Hub here), which
Podium publishes as model repositories under the real models' ids for the examples to load through
HF_ENDPOINT."""

from __future__ import annotations

import re
from collections.abc import Callable

from huggingface_hub import HfApi
from podium.examples import example_specs

from tests.support.as_written import PAGES_PORT, ServeAsWritten, http_get

# Builds the examples' torch environment and the stand-ins from nothing, then starts the first batch.
FIRST_ANSWER_TIMEOUT_S = 1500


def test_serve_examples_lists_every_example_and_the_first_one_answers(
    serve_as_written: Callable[..., ServeAsWritten],
) -> None:
    # The Hub cannot be reached from here; HF_HUB_OFFLINE says so without a probe leaving the machine.
    server = serve_as_written("--examples", env={"HF_HUB_OFFLINE": "1"})
    tasks = set(example_specs())
    server.wait_for(f"Loading {len(tasks)} example spaces", timeout_s=120)  # all created by then

    home = http_get(f"http://127.0.0.1:{PAGES_PORT}/").text
    listed = set(re.findall(r'data-space="examples/([^"]+)"', home))
    assert listed == tasks, f"missing from the home page: {sorted(tasks - listed)}"
    assert 'id="examples-offline"' in home and "HF_HUB_OFFLINE is set" in home

    server.wait_for(
        "First example answered after",
        FIRST_ANSWER_TIMEOUT_S,
        unless=("examples loaded in", "Loading the examples failed"),
    )
    first_url = re.search(r"First example answered after \d+ s: (\S+)", server.output).group(1)
    assert http_get(first_url).status_code == 200
    # Its model is one of the stand-ins, written under ./data and published here as that model's repository.
    first_task = first_url.rstrip("/").rpartition("/")[2]
    (model_id,) = example_specs()[first_task].card.models
    assert (server.folder / "data" / "example-models" / model_id / "config.json").is_file()
    info = http_get(f"http://127.0.0.1:{PAGES_PORT}/api/models/{model_id}").json()
    assert "config.json" in {sibling["rfilename"] for sibling in info["siblings"]}

    # A publish cut short leaves the model's repository made and empty; the next start fills it.
    hub = HfApi(endpoint=f"http://127.0.0.1:{PAGES_PORT}", token=server.token)
    hub.delete_repo(model_id)
    hub.create_repo(model_id)  # what publishing had done before it was stopped
    server.stop()
    again = serve_as_written("--examples", env={"HF_HUB_OFFLINE": "1"})
    again.wait_for("Published 1 stand-ins as models", 300, unless=("First example answered", "Loading the examples"))
    assert "config.json" in {file.rfilename for file in hub.model_info(model_id).siblings}
