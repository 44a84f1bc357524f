"""A transformers upgrade cannot silently leave a pipeline task without an example space."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from podium_runner.plan import make_plan
from podium_runner.spec import SpaceSpec

# Tasks transformers 5 removed as pipelines that users still ask for; each example does it the v5 way.
REMOVED_CLASSICS = {
    "question-answering",
    "summarization",
    "translation",
    "text2text-generation",
    "image-to-text",
    "visual-question-answering",
}


def test_every_supported_pipeline_task_has_an_example(examples_python: Path, specs: dict[str, SpaceSpec]) -> None:
    # Asked of the transformers the examples pin, at run time, so an upgrade with a new task fails here.
    listing = subprocess.run(
        [
            str(examples_python),
            "-c",
            "import json; from transformers.pipelines import SUPPORTED_TASKS; "
            "print(json.dumps(sorted(SUPPORTED_TASKS)))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    tasks = set(json.loads(listing.stdout))
    assert len(tasks) >= 25
    missing = sorted(tasks - set(specs))
    assert not missing, f"no example space in spaces_examples/ for: {', '.join(missing)}"
    assert REMOVED_CLASSICS <= set(specs)


def test_each_example_is_a_complete_space_card(specs: dict[str, SpaceSpec]) -> None:
    for task, spec in specs.items():
        card = spec.card
        for key in (
            "title",
            "emoji",
            "color_from",
            "color_to",
            "sdk_version",
            "app_file",
            "short_description",
        ):
            assert getattr(card, key), f"{task}: README front matter lacks {key}"
        assert card.python_version == "3.11", task
        assert len(card.models) == 1, f"{task}: name the one model it loads in models:"
        assert task in card.tags and "podium-example" in card.tags, task
        app = (spec.root / "app.py").read_text()
        assert f'os.environ.get("MODEL_ID", "{card.models[0]}")' in app, f"{task}: load the model by its README id"
        assert card.models[0] in spec.readme_body, f"{task}: its README should say which model it uses"


def test_the_examples_share_one_environment_and_a_quarter_are_streamlit(specs: dict[str, SpaceSpec]) -> None:
    assert len({make_plan(spec).build_key for spec in specs.values()}) == 1
    assert len({(spec.root / "requirements.txt").read_text() for spec in specs.values()}) == 1
    streamlit = [task for task, spec in specs.items() if spec.sdk == "streamlit"]
    assert len(streamlit) * 4 >= len(specs), streamlit
