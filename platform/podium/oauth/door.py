"""The door apps reach Podium through from inside their sandbox: a Unix socket in the data folder
(`door/door.sock`) serving the provider's server-side endpoints (discovery, token, userinfo, JWKS) and the
Hub's read routes of models and datasets, nothing else; no page, no space, no write. The process backend
relays every sandboxed app's `127.0.0.1:7850` to it (podium_runner.process.platform_door); the docker backend,
a port on Podium's address on the spaces network (podium_runner.docker.platform_door).

The folder is 0711 and the socket 0666: the relay runs as `nobody` and enters the folder before it
drops root, so the modes above it (a private data folder) do not matter; any local user who can reach the
folder's path may use the door, which answers what Podium's public pages answer anyway. A socket path has
at most 107 bytes, which a data folder's may exceed, so it is bound through the folder's descriptor.

Every app also reads models and datasets here (`HF_ENDPOINT`, podium.space_hub): the Hub's read routes of
those two repo types alone (podium.hub.door_gate), with the upstream cache in front (podium.upstream).
"""

from __future__ import annotations

import contextlib
import os
import socket

from fastapi import FastAPI

from podium.api.errors import api_error_handler
from podium.api.renamed import RenamedRepos
from podium.body_limits import RequestBodyLimit
from podium.context import Context
from podium.errors import ApiError
from podium.hub.door_gate import READ_ROUTERS, DoorGate
from podium.oauth.deploy import DOOR_SOCKET, door_socket
from podium.oauth.routes import provider_router
from podium.settings import Settings
from podium.upstream.middleware import UpstreamCache


def create_door_app(ctx: Context) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.podium = ctx
    app.add_exception_handler(ApiError, api_error_handler)  # the Hub's refusals, as the API answers them
    app.add_middleware(RequestBodyLimit, limits=ctx.settings.limits)
    app.include_router(provider_router)
    for read_router in READ_ROUTERS:  # spaces' HF_ENDPOINT (podium.space_hub): DoorGate lets the reads through
        app.include_router(read_router)
    app.add_middleware(UpstreamCache)
    app.add_middleware(RenamedRepos)  # a moved model's old name leads to it, as on the pages' origin
    read_routes = [route for read_router in READ_ROUTERS for route in read_router.routes]
    app.add_middleware(DoorGate, open_routes=provider_router.routes, read_routes=read_routes)
    return app


def bind_door(settings: Settings) -> socket.socket:
    """The door's listening socket, made afresh (one a Podium before left behind is replaced)."""
    folder = door_socket(settings).parent
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o711)
    folder_fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        short = f"/proc/self/fd/{folder_fd}/{DOOR_SOCKET}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(short)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(short)
        os.chmod(short, 0o666)
    finally:
        os.close(folder_fd)
    sock.listen(128)
    return sock
