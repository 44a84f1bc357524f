"""Errors in Hugging Face's shape: a status, `{"error": "..."}` and the `X-Error-Code` header that
huggingface_hub turns into its own exceptions (`RepositoryNotFoundError`, `RevisionNotFoundError`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from podium.errors import ApiError


async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    headers = {"X-Error-Code": exc.code} if exc.code else None
    return JSONResponse({**exc.fields, "error": exc.message}, status_code=exc.status, headers=headers)


# What every refusal looks like: Hugging Face's `error` (podium.errors.ApiError), or FastAPI's `detail`
# where the framework itself answers (an unknown route, a body it could not read).
ERROR_SCHEMA = {
    "title": "Refusal",
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {}},
    "anyOf": [{"required": ["error"]}, {"required": ["detail"]}],
}


def document_refusals(app: FastAPI) -> None:
    """Say in the OpenAPI description that every operation may refuse with a 4xx in that shape: each route
    checks names, paths, rights and limits in code, with a message a person reads (400, 401, 403, 404, 409,
    413), beyond what its parameters' schema spells out."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {})["Refusal"] = ERROR_SCHEMA
            refusal = {
                "description": "Refused: the message says why and what to do",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}},
            }
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.setdefault("responses", {}).setdefault("4XX", refusal)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
