"""`git http-backend`, git's own smart HTTP server, run as a CGI for one request and streamed both ways.

Nothing a tenant can write reaches its configuration: the system and global git config are off, HOME
is an empty folder, the repositories' own hooks are replaced by Podium's (`core.hooksPath`, given in
the environment, which outranks the repository's config file), and receive-pack is enabled only for
a caller whose token may push. Pushed objects are checked by git (`receive.fsckObjects`) and by
Podium's pre-receive hook (podium.git_http.pre_receive), and a pack larger than an upload may be is
refused by receive-pack itself (`receive.maxInputSize`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from podium.settings import Settings
from podium.whole_files import write_whole

log = logging.getLogger("podium.git_http")

# The CGI's own headers ("Status: 200 OK", content type) are a few hundred bytes.
MAX_CGI_HEADER = 64 * 1024
READ_BYTES = 64 * 1024
STDERR_KEPT = 16 * 1024

HOOK_SCRIPT = """#!/bin/sh
# Podium's pre-receive hook, the only hook git runs for a push (core.hooksPath): written by Podium.
exec {python} -m podium.git_http.pre_receive
"""


def hooks_dir(settings: Settings) -> Path:
    """Podium's hooks folder, outside every repository, (re)written when its script differs."""
    folder = settings.data_dir / "git-hooks"
    hook = folder / "pre-receive"
    script = HOOK_SCRIPT.format(python=sys.executable)
    if not hook.is_file() or hook.read_text() != script:
        write_whole(hook, script.encode(), mode=0o755)
    return folder


def _empty_home(settings: Settings) -> Path:
    home = settings.data_dir / "git-home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def _config(pairs: dict[str, str]) -> dict[str, str]:
    """git configuration given in the environment (GIT_CONFIG_COUNT), which no repository file overrides."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for index, (key, value) in enumerate(pairs.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


@dataclass(frozen=True)
class CgiRequest:
    """What http-backend reads of one HTTP request."""

    method: str
    path_info: str  # /owner/name.git/info/refs, relative to the repositories folder
    query: str
    content_type: str | None
    content_encoding: str | None
    git_protocol: str | None
    remote_user: str | None  # set only for a caller who may push
    remote_addr: str


def environment(settings: Settings, request: CgiRequest) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(_empty_home(settings)),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_PROJECT_ROOT": str(settings.repos_dir),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path_info,
        "QUERY_STRING": request.query,
        "REMOTE_ADDR": request.remote_addr,
        # Read by the pre-receive hook: where the LFS objects are and how large a file may be.
        "PODIUM_HOOK_DATA_DIR": str(settings.data_dir),
        "PODIUM_HOOK_MAX_FILE_SIZE": str(settings.limits.max_file_size),
        **_config(
            {
                "core.hooksPath": str(hooks_dir(settings)),
                "http.receivepack": "true" if request.remote_user else "false",
                "http.getanyfile": "false",
                "receive.fsckObjects": "true",
                # Paths with `.`, `..` or `.git` are refused by the hook, in Podium's words and with
                # the rule an upload follows (podium.uploads.safe_path), rather than by fsck's codes.
                "receive.fsck.hasDot": "ignore",
                "receive.fsck.hasDotdot": "ignore",
                "receive.fsck.hasDotgit": "ignore",
                "receive.maxInputSize": str(settings.limits.max_upload_size),
                "receive.denyDeleteCurrent": "true",
                "uploadpack.allowFilter": "true",
            }
        ),
    }
    optional = {
        "CONTENT_TYPE": request.content_type,
        "HTTP_CONTENT_ENCODING": request.content_encoding,
        "HTTP_GIT_PROTOCOL": request.git_protocol,
        "REMOTE_USER": request.remote_user,
    }
    env.update({key: value for key, value in optional.items() if value})
    return env


@dataclass
class CgiResponse:
    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]


class BackendFailed(Exception):
    pass


async def run(settings: Settings, request: CgiRequest, body: AsyncIterable[bytes]) -> CgiResponse:
    """Start http-backend for `request`, feed it `body` and answer with its status, headers and a
    body that streams its output; the process is gone once the body is consumed or closed."""
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(settings, request),
    )
    assert process.stdin and process.stdout and process.stderr
    feeding = asyncio.create_task(_feed(process.stdin, body))
    stderr = asyncio.create_task(process.stderr.read(STDERR_KEPT))
    try:
        status, headers, rest = await _read_headers(process.stdout)
    except BaseException:
        await _end(process, feeding, stderr, request)
        raise

    async def output() -> AsyncIterator[bytes]:
        try:
            if rest:
                yield rest
            while chunk := await process.stdout.read(READ_BYTES):
                yield chunk
            await feeding  # a body that failed to arrive (too large, cut off) fails the response
        finally:
            await _end(process, feeding, stderr, request)

    return CgiResponse(status, headers, output())


async def _feed(stdin: asyncio.StreamWriter, body: AsyncIterable[bytes]) -> None:
    try:
        async for chunk in body:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return  # http-backend stopped reading: it answers on its own
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()


async def _end(
    process: asyncio.subprocess.Process, feeding: asyncio.Task, stderr: asyncio.Task, request: CgiRequest
) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()
    feeding.cancel()
    with contextlib.suppress(BaseException):
        await feeding
    errors = (await stderr).decode(errors="replace").strip()
    if errors:
        log.info("git http-backend %s %s: %s", request.method, request.path_info, errors)


async def _read_headers(stdout: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]], bytes]:
    """The CGI status and headers, and the body bytes read past them."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:  # git ends each header line with CRLF
        chunk = await stdout.read(READ_BYTES)
        if not chunk:
            raise BackendFailed("git http-backend ended before it answered")
        buffer += chunk
        if len(buffer) > MAX_CGI_HEADER:
            raise BackendFailed("git http-backend answered with headers too large to be real")
    head, rest = buffer.split(b"\r\n\r\n", 1)
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, rest
