"""A space's files: every accepted write is one git commit, and the supervisor deploys the new revision
right after. The API's commit and upload routes and the New space page write through these."""

from __future__ import annotations

import asyncio

from podium.context import Context
from podium.errors import ApiError, revision_not_found
from podium.hub.repo_types import SPACE, RepoType
from podium.pause_points import pause_at
from podium.repos import BRANCH, BadRefName, Change, PathConflict, RevisionNotFound, SpaceRepo
from podium.settings import Limits
from podium.upload_form import upload_too_large
from podium.uploads import UploadRejected, archive_changes, checked_file, is_archive


def rejected(space_id: str, exc: UploadRejected) -> ApiError:
    """An upload refused by podium.uploads, as the ApiError that says so for `space_id`."""
    return ApiError(exc.status, f"{space_id}: {exc}")


async def apply_commit(
    ctx: Context,
    space_id: str,
    changes: list[Change],
    summary: str,
    description: str = "",
    parent: str | None = None,
    branch: str = BRANCH,
    author: str | None = None,
    repo_type: RepoType = SPACE,
) -> str:
    """Commit `changes` to `branch` of the space's repository (as `author`, the user); on `main`, record
    the new head and deploy it. Other branches are only refs: nothing is built from them, as on the Hub.
    A model's or dataset's commit (`repo_type`) is the same, only recorded, never deployed."""
    repo = repo_type.git_of(ctx, space_id)
    async with ctx.commit_locks[space_id]:
        head = await asyncio.to_thread(branch_head, repo, space_id, branch)
        if parent and parent != head:
            raise ApiError(
                412,
                f"{space_id}: the parent commit {parent[:8]} is not the head of {branch} "
                f"({(head or '')[:8]}); someone else committed first. Retry on top of it",
            )
        try:
            sha = await asyncio.to_thread(
                repo.commit, changes, summary or "Upload files", description, head, branch, author
            )
        except PathConflict as exc:
            raise ApiError(409, f"{space_id}: {exc}") from None
        if branch != BRANCH:
            return sha
        with ctx.db.session() as session:
            recorded = repo_type.record_head(ctx, session, space_id, sha)
            session.flush()
            pause_at("commit.recording")  # the branch moved; the transaction recording it is open
    if recorded and repo_type.deploys:
        ctx.supervisor.deploy(space_id, sha)
    return sha


def branch_head(repo: SpaceRepo, space_id: str, branch: str) -> str | None:
    """The head of the branch a commit goes to: `main` may have none yet, any other must exist."""
    try:
        head = repo.head(branch)
    except BadRefName as exc:
        raise ApiError(400, f"{space_id}: commits go to a branch, and {exc}") from None
    if head is not None or branch == BRANCH:
        return head
    try:
        repo.resolve(branch)
    except RevisionNotFound:
        raise revision_not_found(space_id, branch) from None
    raise ApiError(400, f"{space_id}: {branch!r} is a tag or a commit; commits go to a branch (see create_branch)")


def upload_changes(space_id: str, files: list[tuple[str, bytes]], limits: Limits) -> list[Change]:
    """What uploaded (path, content) pairs write: one .zip/.tar.gz unpacked, or the files as named."""
    if not files:
        raise ApiError(
            400,
            f"{space_id}: the upload has no files; send multipart 'files' fields whose "
            f"filenames are paths relative to the space folder, or one .zip/.tar.gz",
        )
    try:
        if len(files) == 1 and is_archive(files[0][0]):
            changes = archive_changes(*files[0], limits)
        else:
            changes = [checked_file(path, content, limits) for path, content in files]
    except UploadRejected as exc:
        raise rejected(space_id, exc) from None
    if sum(len(c.content or b"") for c in changes) > limits.max_upload_size:
        raise upload_too_large(space_id, limits)
    return changes


async def replace_files(
    ctx: Context, space_id: str, changes: list[Change], summary: str | None = None, author: str | None = None
) -> str:
    """Commit `changes` as the whole content of the space: files they lack are removed."""
    kept = {change.path for change in changes}
    current = await asyncio.to_thread(ctx.supervisor.repo(space_id).files, "main")
    removed = [Change(entry.path) for entry in current if entry.path not in kept and entry.path != ".gitattributes"]
    return await apply_commit(
        ctx, space_id, changes + removed, summary or f"Upload {len(changes)} file(s)", author=author
    )
