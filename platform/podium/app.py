"""The FastAPI app of Podium's pages and API (the spaces origin is the proxy, see `podium.server`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from podium import __version__
from podium.api import cluster, commits, logs, repos, settings_kv, spaces, tokens
from podium.api.errors import api_error_handler, document_refusals
from podium.api.renamed import RenamedRepos
from podium.body_limits import RequestBodyLimit
from podium.context import Context
from podium.disk_full import disk_full_handler
from podium.errors import ApiError
from podium.git_http import lfs_api
from podium.git_http import routes as git_routes
from podium.hub import ROUTERS as HUB_ROUTERS
from podium.models import api as models_api
from podium.oauth.routes import consent_router, provider_router
from podium.settings import PATH_PREFIX
from podium.upstream import routes as upstream_routes
from podium.upstream.middleware import UpstreamCache
from podium.web.model_pages import router as model_pages_router
from podium.web.routes import router as pages_router
from podium.web.security_headers import SecurityHeaders
from podium.xet import api as xet_api


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Podium",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.podium = ctx
    document_refusals(app)
    app.add_middleware(SecurityHeaders, settings=ctx.settings)
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(Exception, disk_full_handler)  # a full disk is a 507 that says so
    app.add_middleware(RequestBodyLimit, limits=ctx.settings.limits)
    app.add_middleware(UpstreamCache)  # models and datasets Podium does not hold, from PODIUM_HUB_UPSTREAM
    app.add_middleware(RenamedRepos)  # outside the cache: a moved model's old name is never fetched upstream
    for module in (repos, commits, spaces, settings_kv, logs, tokens, cluster):
        app.include_router(module.router)
    for hub_router in HUB_ROUTERS:  # huggingface_hub's file and ref calls (podium.hub)
        app.include_router(hub_router)
    app.include_router(models_api.router)
    app.include_router(git_routes.router)
    app.include_router(upstream_routes.router)
    app.include_router(lfs_api.router)
    app.include_router(xet_api.router)
    app.include_router(pages_router)
    app.include_router(provider_router)
    app.include_router(consent_router)
    if not ctx.settings.spaces_on_pages_origin:
        spaces_url = ctx.settings.spaces_url

        @app.api_route(PATH_PREFIX + "/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
        async def to_spaces_origin(rest: str, request: Request) -> RedirectResponse:
            """Spaces live on their own origin; old links to the pages' origin land there."""
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{spaces_url}{PATH_PREFIX}/{rest}{query}", status_code=307)

    # Last: a model's page is /{owner}/{name}, which any other two-part address Podium has comes before.
    app.include_router(model_pages_router)
    return app
