"""Who may clone, fetch or push a space over HTTP, decided as the Hub decides it.

git sends a token as the basic-auth password (`https://user:TOKEN@host/spaces/owner/name`, any user
name); git-lfs and huggingface_hub may send it as a bearer token. Anyone may read a public space.
A space that is missing or private answers exactly the same, so nobody learns it exists: 401 to an
anonymous caller (git then asks for credentials, or fails without a terminal), 404 to a token that
cannot read it. Pushing needs a write token whose rights reach the space's owner (podium.auth).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from podium.auth import TokenRefused, User, bearer_token, user_for_token
from podium.context import context_of
from podium.hub.repo_types import SPACE, RepoType

REALM = 'Basic realm="Podium", charset="UTF-8"'


class GitAccessRefused(Exception):
    """A refusal in git's terms: a status and a plain-text message git shows as `remote: ...`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": REALM} if self.status == 401 else {}


def token_of(authorization: str | None) -> str | None:
    """The token in a basic-auth password (any user name) or a bearer header; None without one."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return bearer_token(authorization)


def caller(connection: HTTPConnection) -> User | None:
    """Who calls, or None when anonymous; GitAccessRefused(401) for a token that is unknown, expired or revoked."""
    token = token_of(connection.headers.get("authorization"))
    if token is None:
        return None
    try:
        user = user_for_token(context_of(connection).db, token)
    except TokenRefused as exc:
        raise GitAccessRefused(401, str(exc)) from None
    if user is None:
        raise GitAccessRefused(
            401, "Invalid credentials: this token is unknown here. Use a Podium token as the password."
        )
    return user


@dataclass(frozen=True)
class Access:
    space_id: str  # the repository's id (a space's, or a model's or dataset's: `repo_type`)
    owner: str
    user: User | None
    repo_type: RepoType = SPACE


def _hidden(repo_type: RepoType, repo_id: str, user: User | None) -> GitAccessRefused:
    """The one answer for a repository that is missing or that the caller may not read."""
    what = repo_type.name
    if user is None:
        return GitAccessRefused(
            401,
            f"Repository not found: no public {what} {repo_id} here. If it is private, use a token that can "
            f"read it as the password (https://user:TOKEN@host/{repo_type.files_prefix}owner/name).",
        )
    return GitAccessRefused(404, f"Repository not found: no {what} {repo_id} here (or this token cannot read it).")


def check_access(
    connection: HTTPConnection, owner: str, name: str, *, write: bool, repo_type: RepoType = SPACE
) -> Access:
    """The caller's access to `owner/name` for reading or, with `write`, pushing; GitAccessRefused otherwise."""
    ctx = context_of(connection)
    repo_id = f"{owner}/{name}"
    user = caller(connection)
    with ctx.db.session() as session:
        record = repo_type.find(ctx, session, repo_id)
        if record is None or (record.private and not (user and user.acts_for(record.owner))):
            raise _hidden(repo_type, repo_id, user)
        repo_id, owner = f"{record.owner}/{record.name}", record.owner
    if write:
        if user is None:
            raise GitAccessRefused(401, f"Pushing to {repo_id} needs a write token as the password.")
        if (refusal := user.write_refusal(owner, f"push to {repo_id}")) is not None:
            raise GitAccessRefused(403, refusal)
    return Access(space_id=repo_id, owner=owner, user=user, repo_type=repo_type)
