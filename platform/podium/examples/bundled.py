"""`podium serve --examples`: the bundled example spaces, on this Podium's home page from its first start.

Every example is created at once (so the home page lists all of them while they build), then their
files are committed a few at a time: each batch starts its apps (torch, transformers and Gradio, 10-15 s
of CPU each) before the next, which keeps a small machine responsive. They share one dependency set,
so one environment serves all of them. On later starts nothing is committed again unless an example's
files changed; the spaces come back like any other.

The examples load their models as any space does, through HF_ENDPOINT (this Podium). With the Hub answering,
Podium caches the real models from it (PODIUM_HUB_UPSTREAM, the Hub unless set). Without it (`--offline`,
`HF_HUB_OFFLINE=1`, or the Hub not answering) every model id an example names that Podium does not hold is
published here as a model repository holding a tiny random stand-in (`spaces_examples/standins.py`, written
into `data/example-models/org/name` by the examples' environment), which the examples load by that id.
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
from podium.hub.repo_types import MODEL
from podium.lfs_store import LfsStore
from podium.lfs_tracking import in_lfs
from podium.models import records
from podium.repos import BRANCH, Change, SpaceRepo
from podium.spaces.files import apply_commit, branch_head, replace_files
from podium.spaces.lifecycle import FIRST_FILE, CreateRepo, create_space
from podium.spaces.variables import delete_entry

OWNER = "examples"
BATCH = 6
STANDINS_FOLDER = "example-models"  # under the data folder
_STANDINS_DONE = ".podium-standins-folders-complete"  # not the earlier cache layout's
# The ids this Podium published stand-ins under, one a line: a start with the Hub deletes them again.
_PUBLISHED = "published.txt"
_OFFLINE = "HF_HUB_OFFLINE"
_STANDIN_COMMIT = "Publish the example stand-in (tiny, random weights)"
_SKIPPED = {".git", "__pycache__"}


def standins_folder(data_dir: Path) -> Path:
    return data_dir / STANDINS_FOLDER


def hub_unreachable_reason(hub: str, timeout_s: float = 3.0) -> str | None:
    """Why the examples cannot load their real models from `hub`, or None when it answers."""
    if constants.HF_HUB_OFFLINE:
        return f"{_OFFLINE} is set"
    try:
        httpx.head(hub, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"the Hub ({hub}) did not answer: {exc or type(exc).__name__}"
    return None


@dataclass
class ExamplesProgress:
    """What the home page says about the examples while they load."""

    offline_reason: str | None = None
    total: int = 0
    started_at: float = field(default_factory=time.monotonic)
    first_answer_s: float | None = None
    error: str | None = None


def _files(root: Path) -> list[Change]:
    return [
        Change(path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and not _SKIPPED & set(path.relative_to(root).parts)
    ]


async def _unchanged(ctx: Context, space_id: str, files: list[Change]) -> bool:
    repo = ctx.supervisor.repo(space_id)
    current = {entry.path: entry.oid for entry in await asyncio.to_thread(repo.files, "main")}
    current.pop(".gitattributes", None)
    # git_hash is the id git gives a file's content, as the repository's listing shows it.
    return current == {change.path: git_hash(change.content or b"") for change in files}


async def _create_missing(ctx: Context, specs: dict[str, SpaceSpec]) -> None:
    """Every example exists."""
    loader = User(name=OWNER, token_name="podium serve --examples", admin=False)
    for task, spec in specs.items():
        space_id = f"{OWNER}/{task}"
        with ctx.db.session() as session:
            space = ctx.db.find_space(session, space_id)
            if space is not None:
                # Set by Podium before the stand-ins were model repositories; it would keep HF_ENDPOINT unread.
                delete_entry(space, "variables", _OFFLINE)
                continue
        await create_space(ctx, loader, CreateRepo(name=task, organization=OWNER, type="space", sdk=spec.sdk))


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
    process = await asyncio.create_subprocess_exec(
        str(Path(environment.location) / "bin" / "python"), str(STANDINS_SCRIPT), "--out", str(cache),
        *model_ids(specs), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"writing the stand-ins failed:\n{output.decode(errors='replace')[-3000:]}")
    (cache / _STANDINS_DONE).touch()
    log(f"Stand-ins ready in {time.monotonic() - started:.0f} s")


async def _publish_standins(ctx: Context, repo_ids: list[str], log: Callable[[str], None]) -> None:
    """Each stand-in whose id Podium does not hold, or holds empty (a publish cut short, an admin's bare
    create_repo), as that model repository (weights in LFS, as an upload puts them); a model Podium holds
    with files (an earlier start's stand-in, an admin's upload) is kept."""
    folder = standins_folder(ctx.settings.data_dir)
    publisher = User(name=OWNER, token_name="podium serve --examples", admin=True)  # owners are the Hub's
    published = []
    for repo_id in repo_ids:
        repo = MODEL.git_of(ctx, repo_id)
        with ctx.db.session() as session:
            held = records.find(session, MODEL.name, repo_id) is not None
        if held and not await asyncio.to_thread(_holds_no_files, repo):
            continue
        if not held:
            owner, _, name = repo_id.partition("/")
            await records.create(ctx, publisher, MODEL.name, CreateRepo(name=name, organization=owner, type=MODEL.name))
        head = await asyncio.to_thread(branch_head, repo, repo_id, BRANCH)
        files = _files(folder / repo_id)
        # max_file_size bounds what users upload; Podium's own stand-ins may pass it (all-MiniLM-L6-v2's
        # real weights are 87 MiB, the default limit 50).
        largest = max(len(change.content or b"") for change in files)
        store = LfsStore(ctx.settings.data_dir, max(largest, ctx.settings.limits.max_file_size))
        changes = await asyncio.to_thread(in_lfs, files, store, repo.path, head)
        await apply_commit(ctx, repo_id, changes, _STANDIN_COMMIT, author=OWNER, repo_type=MODEL)
        with (folder / _PUBLISHED).open("a") as listing:
            listing.write(repo_id + "\n")
        published.append(repo_id)
    if published:
        log(f"Published {len(published)} stand-ins as models: {ctx.settings.pages_url}/models")


def _holds_no_files(repo: SpaceRepo) -> bool:
    """Whether `main` holds nothing but what a new repository's first commit does."""
    head = repo.head(BRANCH)
    return head is None or [entry.path for entry in repo.files(head)] == [FIRST_FILE.path]


async def _delete_published_standins(ctx: Context, log: Callable[[str], None]) -> None:
    """The stand-ins an offline start published, deleted, so that the real models come from the Hub."""
    listing = standins_folder(ctx.settings.data_dir) / _PUBLISHED
    if not listing.is_file():
        return
    repo_ids = listing.read_text().split()
    for repo_id in repo_ids:
        await records.delete(ctx, MODEL.name, repo_id)
    listing.unlink()
    log(
        f"Deleted the {len(repo_ids)} stand-ins an offline start published; "
        "examples still running on them load the real models when they restart"
    )


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
        await _create_missing(ctx, specs)
        log(
            f"Loading {len(specs)} example spaces under {OWNER}/ "
            + (
                f"with offline stand-ins ({progress.offline_reason})"
                if offline
                else f"with their models, cached from {ctx.settings.hub_upstream}"
            )
        )
        if offline:
            await _write_standins(ctx, specs, log)
            await _publish_standins(ctx, model_ids(specs), log)
        else:
            await _delete_published_standins(ctx, log)
        tasks = list(specs)
        for start in range(0, len(tasks), BATCH):
            committed = []
            for task in tasks[start : start + BATCH]:
                space_id, files = f"{OWNER}/{task}", _files(specs[task].root)
                if not await _unchanged(ctx, space_id, files):
                    await replace_files(ctx, space_id, files, f"Load the {task} example")
                committed.append(space_id)
            await _settle(ctx, committed, progress, log)
        log(f"All {len(specs)} examples loaded in {time.monotonic() - progress.started_at:.0f} s")
    except Exception as exc:  # the pages keep serving; the home page and the log say what went wrong
        progress.error = f"{type(exc).__name__}: {exc}"
        log(f"Loading the examples failed: {progress.error}")


def offline_reason(forced: bool, upstream: str | None) -> str | None:
    """Why the examples run offline: `--offline`, or the Hub (`upstream`, else the public one) does not
    answer; None to load their real models from it."""
    if forced:
        return "--offline"
    return hub_unreachable_reason(upstream or constants.ENDPOINT)


def upstream_for(configured: str | None, offline_examples: bool) -> str | None:
    """The Hub Podium caches models from: the configured one, else the Hub itself when the examples load
    their real models (they reach models through Podium only)."""
    if configured or offline_examples:
        return configured
    return constants.ENDPOINT
