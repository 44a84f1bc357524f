"""The error a change refuses with, in words: a status, a message and, where a Hugging Face client reads
one, the `X-Error-Code` it turns into its own exception (`RepositoryNotFoundError`,
`RevisionNotFoundError`). The API answers one in Hugging Face's JSON shape (podium.api.errors); the
pages show its message."""

from __future__ import annotations


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
