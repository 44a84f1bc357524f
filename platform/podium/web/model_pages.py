"""The pages of models and datasets: the listings (/models, /datasets) and one repository's page, at
the Hub's addresses (/{owner}/{name} for a model, /datasets/{owner}/{name}): its card (the README's front
matter as tags, its body as Markdown), its files, and the spaces whose README names it (`models:`).

A README is a stranger's text: its Markdown is rendered with raw HTML off and markdown-it's link check
(no javascript: or data: links), and the page's Content-Security-Policy runs no inline script anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from markdown_it import MarkdownIt
from podium_runner.spec import README, SpaceConfigError, split_front_matter
from sqlalchemy import select
from starlette.convertors import Convertor, register_url_convertor

from podium.browser_session import identify
from podium.context import context_of
from podium.db import HubRepo as HubRepoRecord
from podium.db import Space
from podium.hub.access import HubRepo
from podium.hub.entries import pointers_of
from podium.hub.repo_types import HOSTED, MODEL, RepoType, prefix_pattern
from podium.models import records
from podium.models.api import tags_of, used_by
from podium.repos import TreeEntry
from podium.web.access import PageError
from podium.web.routing import PageRoute
from podium.web.templating import render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

MAX_README = 512 * 1024  # longer cards are shown as their first half megabyte
_MARKDOWN = MarkdownIt("js-default")  # CommonMark with raw HTML off


@dataclass(frozen=True)
class RepoView:
    """What a page shows of a model or dataset."""

    kind: RepoType
    id: str
    owner: str
    name: str
    private: bool
    sha: str | None
    card: dict[str, Any]
    tags: list[str]

    @classmethod
    def of(cls, kind: RepoType, record: HubRepoRecord) -> RepoView:
        card = record.card_data or {}
        return cls(
            kind, record.repo_id, record.owner, record.name, record.private, record.sha, card, tags_of(kind.name, card)
        )

    @property
    def url(self) -> str:
        return records.url_path(self.kind.name, self.id)


def _visible(request: Request, kind: RepoType) -> list[RepoView]:
    user = visitor.user if (visitor := identify(request)) else None
    with context_of(request).db.session() as session:
        found = session.scalars(
            select(HubRepoRecord).where(HubRepoRecord.repo_type == kind.name).order_by(HubRepoRecord.updated_at.desc())
        )
        return [RepoView.of(kind, record) for record in found if records.may_read(user, record)]


def _readme_html(git, sha: str) -> str:
    entry = git.entry(sha, README)
    if entry is None or entry.is_folder:
        return ""
    text = git.blob(entry.oid)[:MAX_README].decode("utf-8", errors="replace")
    try:
        _, body = split_front_matter(text)
    except SpaceConfigError:
        body = text
    return _MARKDOWN.render(body)


def _listing(kind: RepoType):
    def listing(request: Request, q: str = "", tag: str = ""):
        repos = _visible(request, kind)
        tags = sorted({t for repo in repos for t in repo.tags})
        shown = [r for r in repos if (not q or q.lower() in r.id.lower()) and (not tag or tag in r.tags)]
        return render(request, "models.html", kind=kind, repos=shown, tags=tags, q=q, tag=tag)

    return listing


def _page(kind: RepoType):
    def page(request: Request, owner: str, name: str):
        ctx = context_of(request)
        user = visitor.user if (visitor := identify(request)) else None
        repo_id = f"{owner}/{name}"
        with ctx.db.session() as session:
            record = records.find(session, kind.name, repo_id)
            if record is None or not records.may_read(user, record):
                raise PageError(
                    404,
                    f"{kind.name.capitalize()} not found",
                    f"There is no {kind.name} {repo_id}, or it is private and you are not signed in as its owner.",
                )
            view = RepoView.of(kind, record)
            spaces = used_by(list(session.scalars(select(Space))), user, kind.name, repo_id)
        git = kind.git_of(ctx, repo_id)
        files: list[TreeEntry] = [e for e in git.tree(view.sha, "", True) if not e.is_folder] if view.sha else []
        # An LFS file's size is its content's, not its pointer's.
        sizes = {
            path: p.size for path, p in pointers_of(HubRepo(kind, repo_id, git, ctx.settings.data_dir), files).items()
        }
        readme = _readme_html(git, view.sha) if view.sha else ""
        return render(request, "model.html", repo=view, files=files, sizes=sizes, readme=readme, spaces=spaces)

    return page


class _Owner(Convertor[str]):
    """An owner a model may have: never the first part of Podium's own addresses (`/api/...`), which then
    stay the API's (a JSON 404), not a model page's."""

    regex = prefix_pattern(MODEL) + "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("model_page_owner", _Owner())

for _kind in HOSTED:
    _front = "" if _kind.files_prefix == "" else f"/{_kind.files_prefix.rstrip('/')}"
    router.add_api_route(f"/{_kind.api_segment}", _listing(_kind), methods=["GET"])
    router.add_api_route(_front + "/{owner:model_page_owner}/{name}", _page(_kind), methods=["GET"])
