"""Hugging Face's rule for the names of owners, spaces and users."""

from __future__ import annotations

import re

from podium.errors import ApiError

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")


def check_name(value: str, what: str) -> str:
    if not _NAME.match(value) or "--" in value or ".." in value:
        raise ApiError(
            400,
            f"{value!r} is not a valid {what}: use letters, digits, '-', '_' and '.', "
            f"start and end with a letter or digit, at most 96 characters, no spaces or '/'",
        )
    return value


def split_repo_id(repo_id: str, field: str, repo_type: str) -> tuple[str, str]:
    """(owner, name) of an id a request names in `field` (`toRepo`, `repository`); a 400 unless it is
    `owner/name`. The names themselves are `check_name`'s to judge."""
    owner, slash, name = repo_id.partition("/")
    if not slash or "/" in name:
        raise ApiError(400, f"{field} {repo_id!r} is not a {repo_type} id: write it as owner/name")
    return owner, name
