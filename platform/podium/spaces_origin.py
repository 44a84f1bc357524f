"""The resolver behind the spaces origin: for each request, where that space's traffic goes now.

A serving space is an `Upstream` for the proxy (a static space's too: the files backend serves it). A
space that sleeps is woken; while it comes up a browser gets a small page that refreshes itself,
and an API client simply waits, bounded by the space's startup timeout. Unknown and private spaces
answer None, so the proxy's 404 never tells them apart. A private space admits a Bearer token, or
on its own host a browser that came with a ticket from the pages (podium.space_access).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from podium_runner.spec import DEFAULT_STARTUP_TIMEOUT_S
from podium_runner.stages import Stage
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.auth import TokenRefused, User, bearer_token, user_for_token, user_for_token_id
from podium.context import Context
from podium.cookies import ACCESS_COOKIE, AFFINITY_COOKIE, PODIUM_COOKIES
from podium.db import Database, Space
from podium.lifecycle.space_state import affinity_key
from podium.proxy import Resolution, Upstream
from podium.proxy.headers import header, host_name
from podium.proxy.pages import send_error
from podium.settings import address_of
from podium.space_access import SpaceAccess

_REFRESH_S = 2
_KEPT_FOR_S = 2.0


def _cookie(scope: Scope, name: str) -> str | None:
    try:
        jar = SimpleCookie((header(scope, b"cookie") or b"").decode("latin-1"))
    except CookieError:
        return None
    return jar[name].value if name in jar else None


def _caller_token(scope: Scope) -> str | None:
    """The caller's Podium token: `Authorization: Bearer`, or `X-HF-Authorization`, where gradio_client
    sends it to a space (the proxy forwards neither to the app)."""
    for name in (b"authorization", b"x-hf-authorization"):
        if token := bearer_token((header(scope, name) or b"").decode("latin-1")):
            return token
    return None


def _wants_html(scope: Scope) -> bool:
    return scope["type"] == "http" and b"text/html" in (header(scope, b"accept") or b"")


@dataclass(frozen=True)
class _Admitted:
    """A space a request may reach, and what the resolver reads of it."""

    space_id: str
    card: dict
    private: bool
    stage: Stage
    visitor: str | None  # who a private space's caller is; None for a public space


@dataclass(frozen=True)
class _Kept:
    space: _Admitted
    until: float  # time.monotonic()


class SpaceResolver:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.access = SpaceAccess(ctx.signer)
        # Public spaces as last read, by (owner, name, on its own host). Reading a space costs a database
        # session and a query, about 220 us on a 2-core host: more than the proxy's own work for a small
        # response. Everything kept is dropped as soon as a commit of this Podium changes any space (made
        # private, deleted, moved, stopped), and an entry is read again after _KEPT_FOR_S in any case, for
        # a write no session of this process made. Private spaces are never kept: each request's token is
        # checked against the database.
        self._public: dict[tuple[str, str, bool], _Kept] = {}
        self._public_as_of = ctx.db.space_changes

    async def __call__(self, owner: str, name: str, scope: Scope) -> Resolution:
        supervisor = self.ctx.supervisor
        # In host mode owner and name come from a host name: lower case, '-' for '_' and '.'.
        own_host = host_name(header(scope, b"host")) == self.ctx.settings.space_host(f"{owner}/{name}")
        admitted = self._admit(owner, name, own_host, scope)
        if not isinstance(admitted, _Admitted):
            return admitted
        space_id, card = admitted.space_id, admitted.card
        status = supervisor.status(space_id)
        if not status.serving:
            if admitted.stage == Stage.STOPPED:
                await supervisor.wake(space_id)
            if status.busy:
                if _wants_html(scope):
                    return _starting_page(space_id, supervisor.stage_of(space_id)[0])
                timeout = float(card.get("startup_duration_timeout") or DEFAULT_STARTUP_TIMEOUT_S)
                await supervisor.wait_until_settled(space_id, timeout)
        affinity = _cookie(scope, AFFINITY_COOKIE)
        instance = supervisor.instance_for(space_id, affinity)
        if instance is None:
            stage, message = supervisor.stage_of(space_id)
            return _unavailable(space_id, stage, message)
        supervisor.touch(space_id)  # before the thaw: a freeze waiting for it then sees the space in use
        await supervisor.thaw(space_id)
        key = affinity_key(instance)  # sent only to a client that does not hold it yet
        prefix = self.ctx.settings.space_path(space_id)
        # Path mode scopes the cookie to this space; host mode gives each space its own host anyway.
        path = prefix + "/" if scope["path"].startswith(prefix) else "/"
        return Upstream(
            base_url=instance.url.rstrip("/"),
            prefix=prefix,
            strip_prefix=not (status.plan is None or status.plan.accepts_root_path),
            frame_ancestors=self._frame_ancestors(card, admitted.private),
            extra_headers=card.get("custom_headers") or {},
            visit=lambda: supervisor.visit(space_id),
            podium_cookies=PODIUM_COOKIES,
            set_cookie=None if affinity == key else f"{AFFINITY_COOKIE}={key}; Path={path}; HttpOnly; SameSite=Lax",
            visitor=admitted.visitor,
            # The app's cookies its page needs in an embed on another site (podium.proxy.cookies).
            cross_site_cookies=status.plan.recipe.cross_site_cookies if status.plan else frozenset(),
        )

    def _admit(self, owner: str, name: str, own_host: bool, scope: Scope) -> _Admitted | Resolution:
        """The space the request names, if the caller may reach it; else None, or the redirect that
        redeems a ticket, where the request ends here."""
        db = self.ctx.db
        key = (owner, name, own_host)
        changes = db.space_changes
        if changes != self._public_as_of:
            self._public.clear()
            self._public_as_of = changes
        kept = self._public.get(key)
        if kept is not None and time.monotonic() < kept.until:
            if own_host and (redeemed := self.access.redeem(kept.space.space_id, scope)) is not None:
                return redeemed[1]  # a public space: whoever a valid ticket is for may read it
            return kept.space
        with db.session() as session:
            space = _space_named(db, session, owner, name, own_host)
            if space is None:
                return None
            space_id, visitor = space.space_id, None
            if own_host and (redeemed := self.access.redeem(space_id, scope)) is not None:
                user, set_cookie_and_go_on = redeemed
                return set_cookie_and_go_on if _still_reads(db, user, space) else None
            if space.private:
                try:
                    user = user_for_token(db, _caller_token(scope))
                except TokenRefused:  # expired or revoked: as good as none, and a private space stays a 404
                    return None
                if user is None and own_host:
                    user = self.access.user(space_id, _cookie(scope, ACCESS_COOKIE), scope)
                    user = None if user is None else user_for_token_id(db, user.token_id)
                if user is None or not user.can_read(space):
                    return None
                visitor = user.name
            admitted = _Admitted(space_id, dict(space.card_data or {}), space.private, Stage(space.stage), visitor)
        if not admitted.private and db.space_changes == changes:  # no commit changed a space meanwhile
            self._public[key] = _Kept(admitted, time.monotonic() + _KEPT_FOR_S)
        return admitted

    def _frame_ancestors(self, card: dict, private: bool) -> str:
        """Who may frame this space: Podium's pages always; others unless it is private or has
        `disable_embedding`."""
        own = f"'self' {self.ctx.settings.pages_url}"
        if private or card.get("disable_embedding"):
            return own
        allowed = self.ctx.settings.frame_ancestors
        return f"{own} {' '.join(allowed)}" if allowed else "*"


def _space_named(db: Database, session: Session, owner: str, name: str, own_host: bool) -> Space | None:
    """The space a request names. On a host of its own, the one space that holds that host's label, and
    only for the split of the label that spells its id: `alice-smith-demo` is one space, never two."""
    if not own_host:
        return db.find_space(session, f"{owner}/{name}")
    space = db.find_space_by_host_label(session, f"{owner}-{name}")
    return space if space is not None and address_of(space.space_id) == f"{owner}/{name}" else None


def _still_reads(db: Database, user: User, space: Space) -> bool:
    """Whether the token a ticket was made for may read the space now (not expired, not revoked)."""
    if not space.private:
        return True
    current = user_for_token_id(db, user.token_id)
    return current is not None and current.can_read(space)


def _progress(stage: Stage) -> str:
    """The stage while it says how far the start is; behind a failed push the older revision is the
    one starting, and the failure is the space page's to tell."""
    return f"Stage: {stage}. " if stage.is_transitional else "Its last working revision is starting. "


def _starting_page(space_id: str, stage: Stage) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        title = html.escape(space_id)
        body = (
            f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content={_REFRESH_S}>"
            f"<title>{title} is starting</title>"
            f"<body style='font-family:system-ui,sans-serif;display:grid;place-items:center;height:90vh'>"
            f"<div><h1>{title} is starting…</h1><p>{_progress(stage)}This page reloads itself.</p></div>\n"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(_REFRESH_S).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def _unavailable(space_id: str, stage: Stage, message: str | None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(
            scope,
            receive,
            send,
            503,
            f"{space_id} is not running ({stage})",
            (message or "It has no running revision.") + " See its logs with "
            f"`podium logs {space_id} --build`, fix it and push again, or restart it.",
        )

    return app
