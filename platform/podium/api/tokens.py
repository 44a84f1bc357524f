"""Tokens: `GET/POST /api/tokens`, `DELETE /api/tokens/{id}`; the rules are podium.tokens'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from podium.api.deps import require_user
from podium.context import context_of
from podium.tokens import NewToken, TokenId, issue_token, list_tokens, revoke_token

router = APIRouter()


# `/api/podium/tokens` is where `podium token USER` of earlier releases posts.
@router.post("/api/tokens")
@router.post("/api/podium/tokens", include_in_schema=False)
async def new_token(body: NewToken, request: Request) -> dict[str, Any]:
    return issue_token(context_of(request), require_user(request), body)


@router.get("/api/tokens")
async def tokens(request: Request) -> list[dict[str, Any]]:
    return list_tokens(context_of(request), require_user(request))


@router.delete("/api/tokens/{token_id}")
async def delete_token(token_id: TokenId, request: Request) -> dict[str, Any]:
    return revoke_token(context_of(request), require_user(request), token_id)
