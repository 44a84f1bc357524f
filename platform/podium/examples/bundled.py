"""`podium serve --examples`: the bundled example spaces, on this Podium's home page from its first start.

Every example is created at once (so the home page lists all of them while they build), then their
files are committed a few at a time: each batch starts its apps (torch, transformers and Gradio, 10-15 s
of CPU each) before the next, which keeps a small machine responsive. They share one dependency set,
so one environment serves all of them. On later starts nothing is committed again unless an example's
files changed; the spaces come back like any other.

Without the Hub (`--offline`, `HF_HUB_OFFLINE=1`, or the Hub not answering) every model id an example
names is served from tiny random stand-ins (`spaces_examples/standins.py`) written into `data/example-models`, which
becomes Podium's model cache, and each example gets `HF_HUB_OFFLINE=1`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from huggingface_hub import constants
from huggingface_hub.utils.sha import git_hash
from podium_runner.plan import make_plan
from podium_runner.spec import SpaceSpec
from podium_runner.stages import Stage

from podium.auth import User
from podium.context import Context
from podium.examples import STANDINS_SCRIPT, example_specs, model_ids
from podium.repos import Change
from podium.spaces.files import replace_files
from podium.spaces.lifecycle import CreateRepo, create_space
from podium.spaces.variables import delete_entry, set_entry

OWNER = "examples"
BATCH = 6
STANDINS_FOLDER = "example-models"  # under the data folder
_STANDINS_DONE = ".podium-standins-complete"
_OFFLINE = "HF_HUB_OFFLINE"
_SKIPPED = {".git", "__pycache__"}


def standins_folder(data_dir: Path) -> Path:
    return data_dir / STANDINS_FOLDER


def hub_unreachable_reason(timeout_s: float = 3.0) -> str | None:
    """Why the examples cannot load their real models from the Hub, or None when it answers."""
    if constants.HF_HUB_OFFLINE:
        return f"{_OFFLINE} is set"
    try:
        httpx.head(constants.ENDPOINT, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"the Hub ({constants.ENDPOINT}) did not answer: {exc or type(exc).__name__}"
    return None


@dataclass
class ExamplesProgress:
    """What the home page says about the examples while they load."""

    offline_reason: str | None = None
    total: int = 0
    started_at: float = field(default_factory=time.monotonic)
    first_answer_s: float | None = None
    error: str | None = None


def _files(spec: SpaceSpec) -> list[Change]:
    return [
        Change(path.relative_to(spec.root).as_posix(), path.read_bytes())
        for path in sorted(spec.root.rglob("*"))
        if path.is_file() and not _SKIPPED & set(path.relative_to(spec.root).parts)
    ]


async def _unchanged(ctx: Context, space_id: str, files: list[Change]) -> bool:
    repo = ctx.supervisor.repo(space_id)
    current = {entry.path: entry.oid for entry in await asyncio.to_thread(repo.files, "main")}
    current.pop(".gitattributes", None)
    # git_hash is the id git gives a file's content, as the repository's listing shows it.
    return current == {change.path: git_hash(change.content or b"") for change in files}


async def _create_missing(ctx: Context, specs: dict[str, SpaceSpec], offline: bool) -> None:
    """Every example exists, with HF_HUB_OFFLINE set exactly when the stand-ins serve its model."""
    loader = User(name=OWNER, token_name="podium serve --examples", admin=False)
    for task, spec in specs.items():
        space_id = f"{OWNER}/{task}"
        with ctx.db.session() as session:
            space = ctx.db.find_space(session, space_id)
            if space is not None:
                if offline:
                    set_entry(space, "variables", _OFFLINE, "1")
                else:
                    delete_entry(space, "variables", _OFFLINE)
                continue
        variables = [{"key": _OFFLINE, "value": "1"}] if offline else []
        await create_space(
            ctx, loader, CreateRepo(name=task, organization=OWNER, type="space", sdk=spec.sdk, variables=variables)
        )


async def _write_standins(ctx: Context, specs: dict[str, SpaceSpec], log: Callable[[str], None]) -> None:
    """The stand-ins, written once by the examples' own environment (it has torch; Podium does not)."""
    cache = standins_folder(ctx.settings.data_dir)
    if (cache / _STANDINS_DONE).exists():
        return
    if ctx.supervisor.backend.name != "process":
        raise RuntimeError(
            "offline stand-ins are made with the process backend's environments; start once with "
            "PODIUM_BACKEND=process, or set PODIUM_MODEL_CACHE to a folder made by `podium examples standins`"
        )
    started = time.monotonic()
    log("Building the examples' environment (torch, transformers, Gradio, Streamlit) for the stand-ins")
    task, spec = next(iter(specs.items()))
    # Built for the examples' owner: the same environment their spaces get.
    environment = await ctx.supervisor.backend.prepare(make_plan(spec), lambda _line: None, space_id=f"{OWNER}/{task}")
    log(f"Writing tiny stand-ins for {len(model_ids(specs))} models into {cache}")
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o755)  # sandboxed apps run as other users and only read it
    process = await asyncio.create_subprocess_exec(
        str(Path(environment.location) / "bin" / "python"), str(STANDINS_SCRIPT), "--cache", str(cache),
        *model_ids(specs), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"writing the stand-ins failed:\n{output.decode(errors='replace')[-3000:]}")
    (cache / _STANDINS_DONE).touch()
    log(f"Stand-ins ready in {time.monotonic() - started:.0f} s")


def _stage(ctx: Context, space_id: str) -> str:
    with ctx.db.session() as session:
        return ctx.db.find_space(session, space_id).stage


async def _settle(ctx: Context, space_ids: list[str], progress: ExamplesProgress, log: Callable[[str], None]) -> None:
    """Wait until none of `space_ids` is building or starting; note when the first one answers."""
    pending = set(space_ids)
    while pending:
        for space_id in sorted(pending):
            stage = Stage(_stage(ctx, space_id))
            if stage.is_transitional or stage == Stage.NO_APP_FILE:
                continue
            pending.discard(space_id)
            if stage == Stage.RUNNING and progress.first_answer_s is None:
                progress.first_answer_s = time.monotonic() - progress.started_at
                log(f"First example answered after {progress.first_answer_s:.0f} s: {ctx.settings.space_url(space_id)}")
            elif stage != Stage.RUNNING:
                log(f"{space_id} is {stage}; its logs: {ctx.settings.pages_url}/spaces/{space_id}/logs")
        await asyncio.sleep(1)


async def load_bundled_examples(ctx: Context, progress: ExamplesProgress, log: Callable[[str], None]) -> None:
    """Create, then commit in batches, every bundled example; `progress` tells the home page how it goes."""
    offline = progress.offline_reason is not None
    try:
        specs = example_specs()
        progress.total = len(specs)
        await _create_missing(ctx, specs, offline)
        log(
            f"Loading {len(specs)} example spaces under {OWNER}/ "
            + (f"with offline stand-ins ({progress.offline_reason})" if offline else "with their Hub models")
        )
        if offline:
            await _write_standins(ctx, specs, log)
        tasks = list(specs)
        for start in range(0, len(tasks), BATCH):
            committed = []
            for task in tasks[start : start + BATCH]:
                space_id, files = f"{OWNER}/{task}", _files(specs[task])
                if not await _unchanged(ctx, space_id, files):
                    await replace_files(ctx, space_id, files, f"Load the {task} example")
                committed.append(space_id)
            await _settle(ctx, committed, progress, log)
        log(f"All {len(specs)} examples loaded in {time.monotonic() - progress.started_at:.0f} s")
    except Exception as exc:  # the pages keep serving; the home page and the log say what went wrong
        progress.error = f"{type(exc).__name__}: {exc}"
        log(f"Loading the examples failed: {progress.error}")


def offline_reason(forced: bool) -> str | None:
    """Why the examples run offline: `--offline`, or the Hub does not answer; None to use the Hub."""
    if forced:
        return "--offline"
    return hub_unreachable_reason()


def model_cache_for(data_dir: Path, configured: str | None, offline_examples: bool) -> str | None:
    """The model cache Podium hands to spaces: the configured one, else the examples' stand-ins when they
    run offline now or did on an earlier start (they keep HF_HUB_OFFLINE=1 until a start with the Hub)."""
    if configured:
        return configured
    folder = standins_folder(data_dir)
    return str(folder) if offline_examples or folder.is_dir() else None
