"""Where a model or dataset repository lives, who may read or change it, and its record.

Their bare repositories live under the spaces' repositories folder, in `_models/` and `_datasets/`: no
owner name starts with `_` (podium.names), so no space's repository is ever among them, and git's smart
HTTP serves them from the same project root. A model and a space may share `owner/name`, as on the Hub.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy
from fastapi import Request
from podium_runner.spec import README, SpaceConfigError, split_front_matter
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.api.deps import current_user, require_user
from podium.auth import User
from podium.context import Context, context_of
from podium.db import HubRepo, HubRepoRedirect
from podium.errors import ApiError
from podium.names import check_name, split_repo_id
from podium.repos import SpaceRepo
from podium.spaces.lifecycle import FIRST_FILE, CreateRepo

FOLDERS = {"model": "_models", "dataset": "_datasets"}
# The first segment of Podium's own URLs (`apps`: settings.PATH_PREFIX): a model's page and files are at
# /{owner}/{name}, so no model may be owned by one of these (the Hub keeps such names from its users too).
RESERVED_OWNERS = frozenset(
    {"api", "apps", "datasets", "models", "spaces", "static", "settings", "oauth", "new", "signin", "tokens"}
)


def relative_path(repo_type: str, repo_id: str) -> str:
    """The repository's folder under the repositories folder (git http-backend's project root)."""
    return f"{FOLDERS[repo_type]}/{repo_id}.git"


def git_of(ctx: Context, repo_type: str, repo_id: str) -> SpaceRepo:
    return SpaceRepo(ctx.settings.repos_dir / relative_path(repo_type, repo_id))


def find(session: Session, repo_type: str, repo_id: str) -> HubRepo | None:
    owner, _, name = repo_id.partition("/")
    return session.scalar(
        select(HubRepo).where(HubRepo.repo_type == repo_type, HubRepo.owner == owner, HubRepo.name == name)
    )


def not_found(repo_type: str, repo_id: str) -> ApiError:
    return ApiError(
        404,
        f"Repository Not Found: no {repo_type} {repo_id!r} here (or it is private and your token cannot read it).",
        code="RepoNotFound",
    )


def may_read(user: User | None, record: HubRepo) -> bool:
    return not record.private or (user is not None and user.acts_for(record.owner))


def readable(request: Request, session: Session, repo_type: str, repo_id: str) -> HubRepo:
    """The record, if the caller may read it; else the one 404 a missing repository gets too."""
    record = find(session, repo_type, repo_id)
    if record is None or not may_read(current_user(request), record):
        raise not_found(repo_type, repo_id)
    return record


def writable(request: Request, session: Session, repo_type: str, repo_id: str) -> HubRepo:
    user = require_user(request)
    record = readable(request, session, repo_type, repo_id)
    if (refusal := user.write_refusal(record.owner, f"change the {repo_type} {repo_id}")) is not None:
        raise ApiError(403, refusal)
    return record


def check_access(repo_type: str, request: Request, repo_id: str, write: bool) -> None:
    """The API's 401, 403 or 404 (RepoNotFound) unless the caller may read, or `write`, the repository."""
    with context_of(request).db.session() as session:
        (writable if write else readable)(request, session, repo_type, repo_id)


def card_of(git: SpaceRepo, sha: str) -> dict:
    """The README's front matter at `sha` (huggingface_hub's `cardData`): empty without one, or when it
    does not parse (the card is then shown without its metadata, as on the Hub)."""
    entry = git.entry(sha, README)
    if entry is None or entry.is_folder:
        return {}
    try:
        card, _ = split_front_matter(git.blob(entry.oid).decode("utf-8", errors="replace"))
    except SpaceConfigError:
        return {}
    return card or {}


def record_head(ctx: Context, session: Session, repo_type: str, repo_id: str, sha: str) -> bool:
    """`sha` is the new head of main: the record's revision and card follow it (False: deleted meanwhile)."""
    record = find(session, repo_type, repo_id)
    if record is None:
        return False
    record.sha = sha
    record.card_data = card_of(git_of(ctx, repo_type, repo_id), sha)
    return True


def new_repo_id(user: User, repo_type: str, owner: str, name: str, doing: str) -> str:
    """`owner/name` once it is a name a repository may have and `user` may `doing` under `owner`: else a 400
    or 403 that says why."""
    owner = check_name(owner, "owner name")
    repo_id = f"{owner}/{check_name(name, f'{repo_type} name')}"
    if owner.lower() in RESERVED_OWNERS:
        raise ApiError(400, f"{owner!r} names Podium's own pages, so it cannot own a {repo_type}; use another owner")
    if (refusal := user.write_refusal(owner, f"{doing} under {owner!r}")) is not None:
        raise ApiError(403, refusal)
    return repo_id


def claim(session: Session, repo_type: str, repo_id: str) -> None:
    """Take `repo_id` for a repository of `repo_type` (409 where one has it); the redirect an earlier move
    left at the name goes, as the name is someone's again."""
    if find(session, repo_type, repo_id) is not None:
        # huggingface_hub's create_repo(exist_ok=True) reads the existing repository's `url`.
        raise ApiError(409, f"You already created this {repo_type} repo: {repo_id}", url=url_path(repo_type, repo_id))
    session.execute(sqlalchemy.delete(HubRepoRedirect).where(*_redirect_at(repo_type, repo_id)))


def moved(session: Session, repo_type: str, repo_id: str) -> HubRepo | None:
    """The repository that was called `repo_id` before it moved, if none is called that now."""
    redirect = session.scalar(select(HubRepoRedirect).where(*_redirect_at(repo_type, repo_id)))
    return redirect.repo if redirect is not None else None


def _redirect_at(repo_type: str, repo_id: str) -> tuple[sqlalchemy.ColumnElement[bool], ...]:
    owner, _, name = repo_id.partition("/")
    return HubRepoRedirect.repo_type == repo_type, HubRepoRedirect.owner == owner, HubRepoRedirect.name == name


async def create(ctx: Context, user: User, repo_type: str, body: CreateRepo) -> str:
    """A new, empty model or dataset repository (its .gitattributes the Hub's), as `user`; its id."""
    repo_id = new_repo_id(user, repo_type, body.organization or user.name, body.name, f"create {repo_type}s")
    with ctx.db.session() as session:
        claim(session, repo_type, repo_id)
        owner, _, name = repo_id.partition("/")
        session.add(HubRepo(repo_type=repo_type, owner=owner, name=name, private=_private(body)))
    git = git_of(ctx, repo_type, repo_id)
    await asyncio.to_thread(git.init)
    sha = await asyncio.to_thread(git.commit, [FIRST_FILE], "initial commit")
    with ctx.db.session() as session:
        record_head(ctx, session, repo_type, repo_id, sha)
    return repo_id


async def move(ctx: Context, user: User, repo_type: str, from_id: str, to_id: str) -> str:
    """Move a model or dataset to another name or owner, as huggingface_hub's `move_repo` asks: its history,
    files and LFS grants go with its repository folder, and the old name redirects to the new one until a
    repository of its type takes it. The new id, or an ApiError that says why not (nothing moved then)."""
    to_id = new_repo_id(user, repo_type, *split_repo_id(to_id, "toRepo", repo_type), f"move {repo_type}s")
    with ctx.db.session() as session:
        record = find(session, repo_type, from_id)
        if record is None or not may_read(user, record):
            raise not_found(repo_type, from_id)
        if (refusal := user.write_refusal(record.owner, f"move the {repo_type} {from_id}")) is not None:
            raise ApiError(403, refusal)
        if to_id == from_id:
            raise ApiError(400, f"{from_id} is already called that; name another id to move it to")
    first, second = sorted((from_id, to_id))  # in one order, so two moves between the same names cannot deadlock
    old, new = git_of(ctx, repo_type, from_id).path, git_of(ctx, repo_type, to_id).path
    async with ctx.commit_locks[first], ctx.commit_locks[second]:  # no commit lands halfway through the move
        folder_moved = False
        try:
            with ctx.db.session() as session:
                record = find(session, repo_type, from_id)
                if record is None:
                    raise not_found(repo_type, from_id)
                claim(session, repo_type, to_id)
                session.add(HubRepoRedirect(repo_type=repo_type, owner=record.owner, name=record.name, repo=record))
                record.owner, _, record.name = to_id.partition("/")
                session.flush()  # the database's own refusals come before the folder moves
                await asyncio.to_thread(_move_folder, old, new, f"{repo_type} {from_id}")
                folder_moved = True
        except BaseException:
            if folder_moved:  # the record could not take the new name: nor does the folder
                await asyncio.to_thread(new.rename, old)
            raise
    return to_id


def _move_folder(old: Path, new: Path, what: str) -> None:
    """Rename a repository's folder, never onto an existing one (a folder no record holds is not this
    move's to replace); on the 409 the caller's transaction rolls back, so nothing moved."""
    try:
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.exists() or new.is_symlink():
            raise FileExistsError(f"{new} is in the way")
        old.rename(new)
    except OSError as exc:
        raise ApiError(409, f"The repository of the {what} could not move: {exc}. Nothing changed; retry.") from None


def _private(body: CreateRepo) -> bool:
    return bool(body.private or body.visibility == "private")


async def delete(ctx: Context, repo_type: str, repo_id: str) -> None:
    """Remove the record, then the repository (its LFS objects stay in the shared store)."""
    with ctx.db.session() as session:
        if (record := find(session, repo_type, repo_id)) is not None:
            session.delete(record)
    await asyncio.to_thread(git_of(ctx, repo_type, repo_id).delete)


def url_path(repo_type: str, repo_id: str) -> str:
    """The repository's page, as the Hub addresses it: /{owner}/{name} for a model, /datasets/... else."""
    return f"/{repo_id}" if repo_type == "model" else f"/{repo_type}s/{repo_id}"
