"""Errors in Hugging Face's shape: a status, `{"error": "..."}` and the `X-Error-Code` header that
huggingface_hub turns into its own exceptions (`RepositoryNotFoundError`, `RevisionNotFoundError`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **fields: str):
        """`fields` go into the JSON answer next to `error`, where a client reads more than the message
        (the Hub's 409 for an existing repository carries its `url`)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.fields = fields


def not_found(space_id: str) -> ApiError:
    return ApiError(
        404,
        f"Repository Not Found: no space {space_id!r} here (or it is private and your "
        f"token cannot read it). Check the name with `podium ls`.",
        code="RepoNotFound",
    )


def revision_not_found(space_id: str, revision: str) -> ApiError:
    return ApiError(404, f"{space_id}: revision {revision!r} does not exist", code="RevisionNotFound")


async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    headers = {"X-Error-Code": exc.code} if exc.code else None
    return JSONResponse({**exc.fields, "error": exc.message}, status_code=exc.status, headers=headers)
