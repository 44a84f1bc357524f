"""What a page shows of a space, derived once from its record and Podium's settings."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from podium_runner.recipes import RECIPES
from podium_runner.spec import README, SpaceConfigError, split_front_matter, valid_entries
from podium_runner.stages import Stage

from podium.db import Space
from podium.repos import SpaceRepo
from podium.settings import Settings

STAGE_MESSAGES = {
    Stage.NO_APP_FILE: "This space has no app file yet. Upload one (app.py by default) to start it.",
    Stage.CONFIG_ERROR: "The README's configuration is not valid, so the space cannot be built. "
    "Fix it and upload again.",
    Stage.BUILDING: "Building the environment. Log lines appear below as they happen.",
    Stage.BUILD_ERROR: "The build failed. The last lines of the build log say why; fix the files and upload again.",
    Stage.APP_STARTING: "The environment is ready; the app is starting.",
    Stage.RUNTIME_ERROR: "The app stopped with an error. Its last log lines are below; restart it from Settings.",
    Stage.PAUSED: "The owner paused this space. It stays off until they restart it.",
    Stage.DELETING: "This space is being deleted.",
}
PRIVATE_APP_MESSAGE = (
    "This space is private. Here its app answers only clients that send a token (gradio_client with "
    "HF_TOKEN, huggingface_hub, curl with Authorization: Bearer). To use private spaces in the browser, "
    'Podium must give each space a host of its own: set PODIUM_DOMAIN (see the README, "Private '
    "spaces in the browser\"). On the spaces' shared origin, other spaces' scripts could read it."
)


_STAGE_KINDS = {
    Stage.RUNNING: "ok",
    Stage.RUNNING_BUILDING: "ok",
    Stage.RUNNING_APP_STARTING: "ok",
    Stage.BUILDING: "busy",
    Stage.APP_STARTING: "busy",
    Stage.DELETING: "busy",
    Stage.STOPPED: "idle",
    Stage.PAUSED: "idle",
}


def stage_kind(stage: str) -> str:
    """How a stage reads to a visitor: ok, busy, idle, or bad (every error stage)."""
    return _STAGE_KINDS.get(stage, "bad")  # type: ignore[call-overload]


_STAGE_LABELS = {
    "RUNNING_BUILDING": "Running · building",
    "RUNNING_APP_STARTING": "Running · starting",
    "APP_STARTING": "Starting",
    "NO_APP_FILE": "No app file",
}


def stage_label(stage: str) -> str:
    return _STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def _readme_card(repo: SpaceRepo, sha: str | None) -> dict[str, Any]:
    """The README's front matter, read from git. The supervisor records a space's card when it
    deploys; a space that never got that far (no app file yet, bad config) still has a title."""
    if not sha:
        return {}
    try:
        card, _ = split_front_matter(repo.read(sha, README).decode("utf-8", errors="replace"))
    except (RuntimeError, SpaceConfigError):  # no README, or one that does not parse
        return {}
    return card or {}


@dataclass(frozen=True)
class SpaceView:
    id: str
    owner: str
    name: str
    sdk: str
    stage: str
    private: bool
    hardware: str
    sleep_time: int | None
    sha: str | None
    error_message: str | None
    card: dict[str, Any]  # only entries that follow front_matter_rules.RULES: a README that failed them shows none
    url: str  # the space's own origin (never the pages' origin unless configured so)
    browsable: bool  # whether a signed-in reader can use the app in the browser (podium.space_access)

    @classmethod
    def of(cls, space: Space, settings: Settings, repo: SpaceRepo) -> SpaceView:
        # A CONFIG_ERROR space has no recorded card; its README's raw front matter is filtered the same way.
        card = valid_entries(space.card_data or {}) or valid_entries(_readme_card(repo, space.sha))
        return cls(
            id=space.space_id,
            owner=space.owner,
            name=space.name,
            sdk=space.sdk,
            stage=space.stage,
            private=space.private,
            hardware=space.hardware,
            sleep_time=space.sleep_time,
            sha=space.sha,
            error_message=space.error_message,
            card=card,
            url=settings.space_url(space.space_id),
            browsable=not space.private or settings.domain is not None,
        )

    @property
    def title(self) -> str:
        return self.card.get("title") or self.name

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.card.get("tags") or []]

    @property
    def app_url(self) -> str:
        """Where the app's page is: the space URL plus the README's `base_path` (checked: a path, so the
        result stays on the space's own origin, which /open and the App tab's frame rely on)."""
        base_path = str(self.card.get("base_path") or "").lstrip("/")
        url = self.url.rstrip("/") + "/" + base_path
        same_origin = urlsplit(url)[:2] == urlsplit(self.url)[:2]
        return url if same_origin else self.url

    @property
    def embed_url(self) -> str:
        """The app's page as an embed loads it: with what its recipe adds then (Streamlit's embed=true)."""
        recipe = RECIPES.get(self.sdk)
        if recipe is None or not recipe.embed_query:
            return self.app_url
        parts = urlsplit(self.app_url)  # base_path may bring a query of its own
        return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, recipe.embed_query]))))

    def matches(self, query: str) -> bool:
        text = " ".join([self.id, self.title, str(self.card.get("short_description") or ""), *self.tags])
        return query.lower() in text.lower()


def embed_snippets(space: SpaceView, pages_url: str) -> dict[str, str]:
    """What the Embed dialog offers: an iframe, the <podium-space> element, and the status badge."""
    return {
        "iframe": f'<iframe src="{space.embed_url}" title="{html.escape(space.title)}" frameborder="0" '
        'width="850" height="450"></iframe>',
        "script": f'<script type="module" src="{pages_url}/static/embed.js"></script>\n'
        f'<podium-space space="{space.id}"></podium-space>',
        "badge": f"[![{space.id}]({pages_url}/spaces/{space.id}/badge.svg)]({pages_url}/spaces/{space.id})",
    }
