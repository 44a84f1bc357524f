"""What of the Hub the door (podium.oauth.door) lets an app in its sandbox reach: the read routes of models
and datasets (a file, a repository's info at a revision, its tree, paths-info), and nothing else of
Podium: no space's files, no write, no listing, no page.

The gate asks the door's own routes which one a request would reach, with which repo type, rather than
matching paths itself: a path the router reads as a space's (`/spaces/o/resolve/resolve/f`) is refused as
a space's, whatever it looks like.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.hub import resolve, tree
from podium.models import api as models_api

# The routers that hold the read routes, and those routes' endpoints.
READ_ROUTERS = (resolve.router, tree.router, models_api.router)
READ_ENDPOINTS = frozenset({resolve.resolve, tree.tree, tree.paths_info, models_api.repo_info, models_api.repo_info_at})
READ_TYPES = frozenset({"model", "dataset"})


class DoorGate:
    """404 for every request but those to `open_routes` (served whole: the OAuth provider's) and to the
    READ_ENDPOINTS of READ_TYPES among `read_routes`, in the order the door includes them (the first route
    that matches a request is the one the door's router picks)."""

    def __init__(self, app: ASGIApp, open_routes: Sequence[BaseRoute], read_routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = [(route, True) for route in open_routes] + [(route, False) for route in read_routes]

    def _allowed(self, scope: Scope) -> bool:
        for route, open_route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                if open_route:
                    return True
                repo_type = child.get("path_params", {}).get("repo_type")
                return getattr(route, "endpoint", None) in READ_ENDPOINTS and repo_type in READ_TYPES
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            refusal = JSONResponse(
                {"error": "the door serves only the Hub's read routes of models and datasets (and OAuth)"},
                status_code=404,
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
