"""`podium serve`: the pages+API server and the spaces origin, two uvicorn servers in one event loop.

No server writes access lines: uvicorn's loggers are process-wide, so the last server's "warning" level
hid them for all three anyway, while uvicorn still formatted each line's fields per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import sys
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from podium.app import create_app
from podium.auth import ensure_admin_token
from podium.backends import make_backend
from podium.context import Context
from podium.db import Database
from podium.examples.bundled import ExamplesProgress, load_bundled_examples
from podium.http_date import AccurateDate
from podium.lifecycle.supervisor import Supervisor
from podium.oauth.door import bind_door, create_door_app
from podium.proxy import ProxyApp
from podium.secret_box import box_for
from podium.settings import Settings
from podium.signing import signer_for
from podium.spaces_origin import SpaceResolver
from podium.xet.xorbs import XorbStore

log = logging.getLogger("podium")

# Young objects are collected after this many allocations instead of Python's 700: the proxy allocates
# hundreds per request, and at the default the collector took about 10% of its CPU per proxied request
# (benchmarks/proxy.py). The older generations keep their default ratios to the young one.
_YOUNG_GC_THRESHOLD = 10_000


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve`, which stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the new soft limit. Each proxied
    connection holds two sockets (the visitor's and the app's) and each live-log follower one, so a shell's
    usual 1024 would turn visitors away at a few hundred; the hard limit stays the operator's to set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return max(soft, hard)


def spaces_origin_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """How the spaces origin is served; benchmarks/proxy.py serves ProxyApp through this too. httptools is
    named because "auto" would fall back to h11, several times slower, without a word."""
    return uvicorn.Config(
        app, host=host, port=port, http="httptools", log_level="warning", access_log=False, proxy_headers=True
    )


def tune_garbage_collection() -> None:
    """Collect young objects less often, for the proxy's sake (see _YOUNG_GC_THRESHOLD)."""
    gc.set_threshold(_YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def open_context(settings: Settings) -> Context:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url, settings.logs_dir, box_for(settings, create=True))
    return Context(
        settings=settings,
        db=db,
        supervisor=Supervisor(settings, db, make_backend(settings)),
        signer=signer_for(settings.data_dir),
    )


def _say(line: str) -> None:
    print(line, flush=True)


def announce_admin_token(db: Database) -> None:
    token = ensure_admin_token(db)
    if token is not None:
        # Printed once on stdout; only its hash is stored.
        print(f"Podium admin token (shown once, keep it): {token}", flush=True)


async def _sweep_xet_uploads(settings: Settings) -> None:
    """What uploads through Xet that were cut short left behind (podium.xet.xorbs), once at start."""
    removed = await asyncio.to_thread(XorbStore(settings.data_dir).sweep, time.time())
    if removed:
        log.info("removed %d file(s) of Xet uploads that were cut short", removed)


async def serve(settings: Settings, examples: ExamplesProgress | None = None) -> None:
    """Run Podium until SIGINT or SIGTERM; with `examples`, load the bundled examples meanwhile."""
    settings.warn_about_origins()
    raise_open_files_limit()
    tune_garbage_collection()
    ctx = open_context(settings)
    announce_admin_token(ctx.db)
    await ctx.supervisor.recover()
    ctx.supervisor.start_watching()
    ctx.examples = examples

    pages = create_app(ctx)
    allowed = [settings.pages_url, *settings.frame_ancestors]
    proxy = ProxyApp(
        SpaceResolver(ctx),
        domain=settings.domain,
        allowed_origins=allowed,
        fallback=pages if settings.spaces_on_pages_origin else None,
    )
    servers = [
        _Server(
            uvicorn.Config(
                AccurateDate(proxy if settings.spaces_on_pages_origin else pages),
                host=settings.host,
                port=settings.port,
                log_level="info",
                access_log=False,
                proxy_headers=True,
                date_header=False,
            )
        )
    ]
    if not settings.spaces_on_pages_origin:
        servers.append(_Server(spaces_origin_config(proxy, settings.host, settings.spaces_port)))

    # Apps reach the OpenID Connect provider here from inside their sandbox (podium.oauth.door).
    door_socket = bind_door(settings)
    door = _Server(uvicorn.Config(create_door_app(ctx), log_level="warning", access_log=False, proxy_headers=False))

    def stop() -> None:
        for server in (*servers, door):
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    spaces_at = settings.space_url("{owner}/{name}") if settings.domain else settings.spaces_url
    print(f"Podium pages and API at {settings.pages_url}; spaces at {spaces_at}", flush=True)
    background = [asyncio.create_task(_sweep_xet_uploads(settings))]
    if examples is not None:
        background.append(asyncio.create_task(load_bundled_examples(ctx, examples, _say)))
    try:
        await asyncio.gather(*(server.serve() for server in servers), door.serve(sockets=[door_socket]))
    finally:
        for task in background:
            task.cancel()
        await ctx.supervisor.close()
        if not all(server.started for server in servers):
            sys.exit(f"podium serve: could not listen on {settings.host}:{settings.port}/{settings.spaces_port}")
