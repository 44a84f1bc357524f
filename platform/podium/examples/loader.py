"""Loads the example spaces into a running Podium through its Hugging Face-compatible API.

Nothing here reaches into Podium's internals: the examples are created and uploaded exactly as a user
would with `huggingface_hub`, so loading them also exercises the API they document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from huggingface_hub import HfApi
from podium_runner.spec import SpaceSpec
from podium_runner.stages import Stage

# Stages a space passes through on its way to RUNNING; any other stage is where it ended up.
_ON_THE_WAY = {
    Stage.NO_APP_FILE,
    Stage.BUILDING,
    Stage.APP_STARTING,
    Stage.RUNNING_BUILDING,
    Stage.RUNNING_APP_STARTING,
}


@dataclass(frozen=True)
class LoadedExample:
    task: str
    space_id: str
    sdk: str


def load_examples(
    api: HfApi,
    specs: Mapping[str, SpaceSpec],
    *,
    owner: str,
    variables: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> list[LoadedExample]:
    """Create `owner/<task>` for each example (kept if it exists) and upload its folder."""
    loaded = []
    for task, spec in specs.items():
        space_id = f"{owner}/{task}"
        api.create_repo(
            space_id,
            repo_type="space",
            space_sdk=spec.sdk,
            exist_ok=True,
            space_variables=[{"key": key, "value": value} for key, value in (variables or {}).items()],
        )
        api.upload_folder(
            folder_path=spec.root,
            repo_id=space_id,
            repo_type="space",
            commit_message=f"Load the {task} example",
        )
        log(f"{space_id}: uploaded ({spec.sdk}, {', '.join(spec.card.models)})")
        loaded.append(LoadedExample(task=task, space_id=space_id, sdk=spec.sdk))
    return loaded


def wait_until_running(
    api: HfApi,
    space_ids: Iterable[str],
    *,
    timeout_s: float,
    log: Callable[[str], None] = print,
) -> dict[str, str]:
    """Wait until no space is on its way to RUNNING; returns each space's stage.

    A space that fails (BUILD_ERROR, RUNTIME_ERROR, ...) stops being waited for at once; the caller
    decides what a failure means. Spaces still starting at the deadline keep their current stage.
    """
    pending = set(space_ids)
    stages: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while pending:
        for space_id in sorted(pending):
            stage = api.get_space_runtime(space_id).stage
            stages[space_id] = stage
            if stage not in _ON_THE_WAY:
                pending.discard(space_id)
                log(f"{space_id}: {stage}")
        if pending and time.monotonic() > deadline:
            log(f"still starting after {timeout_s:.0f} s: {', '.join(sorted(pending))}")
            break
        time.sleep(1 if pending else 0)
    return stages
