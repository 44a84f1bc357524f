"""Loads the example spaces into a running Podium through its Hugging Face-compatible API.

Nothing here reaches into Podium's internals: the examples are created and uploaded exactly as a user
would with `huggingface_hub`, so loading them also exercises the API they document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def publish_models(
    api: HfApi, folder: Path, repo_ids: Sequence[str], *, log: Callable[[str], None] = print
) -> list[str]:
    """Each model folder `folder/org/name` (`podium examples standins`) as the model repository `org/name`,
    made if new; upload_folder sends weights through LFS and commits nothing when the files are unchanged.
    The owners are the Hub's (`distilbert`, `google`, ...), so `api`'s token must be an admin's."""
    missing = [repo_id for repo_id in repo_ids if not (folder / repo_id).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"no model folder for {', '.join(missing)} in {folder}; write them with "
            f"`podium examples standins --out {folder} --python ENV/bin/python`"
        )
    published = []
    for repo_id in repo_ids:
        api.create_repo(repo_id, repo_type="model", exist_ok=True)
        api.upload_folder(
            folder_path=folder / repo_id,
            repo_id=repo_id,
            repo_type="model",
            commit_message="Publish the example stand-in (tiny, random weights)",
        )
        log(f"{repo_id}: published")
        published.append(repo_id)
    return published


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
