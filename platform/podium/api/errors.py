"""Errors in Hugging Face's shape: a status, `{"error": "..."}` and the `X-Error-Code` header that
huggingface_hub turns into its own exceptions (`RepositoryNotFoundError`, `RevisionNotFoundError`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from podium.errors import ApiError


async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    headers = {"X-Error-Code": exc.code} if exc.code else None
    return JSONResponse({**exc.fields, "error": exc.message}, status_code=exc.status, headers=headers)
