"""A full disk, told as such: what failed, that the disk is full, and what to do.

Podium's writes (git objects and refs, SQLite, checkouts, logs) each fail their own way when the data
folder's filesystem fills: an OSError with ENOSPC, git's "No space left on device", SQLite's "database
or disk is full". Each is whole or not there (git renames objects and refs into place, SQLite rolls the
transaction back), so the answer is a clear refusal, and the same request works once space is freed.
"""

from __future__ import annotations

import errno

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

_MESSAGES = ("No space left on device", "database or disk is full", "Disk quota exceeded")
INSUFFICIENT_STORAGE = 507


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says the disk is full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(message in str(exc) for message in _MESSAGES):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def disk_full_message(what: str, then: str = "try again") -> str:
    return (
        f"{what} failed: the disk holding Podium's data folder is full; nothing was written. "
        f"Free space there (or ask the operator to), then {then}"
    )


async def disk_full_handler(request: Request, exc: Exception) -> Response:
    """Any request that failed on a full disk: 507 Insufficient Storage, in Hugging Face's error shape;
    anything else stays the plain 500 it is (Starlette logs the exception either way)."""
    if not is_disk_full(exc):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return JSONResponse(
        {"error": disk_full_message(f"{request.method} {request.url.path}")}, status_code=INSUFFICIENT_STORAGE
    )
