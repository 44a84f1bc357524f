"""Errors in Hugging Face's shape: a status and `{"error": "..."}`, which huggingface_hub shows users."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(space_id: str) -> ApiError:
    return ApiError(
        404,
        f"Repository Not Found: no space {space_id!r} here (or it is private and your "
        f"token cannot read it). Check the name with `podium ls`.",
    )


async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status)
