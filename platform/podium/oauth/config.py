"""What a space's README asks of "Sign in with Hugging Face", as the Hub reads it (anchors.md §1.2):
`hf_oauth: true`, `hf_oauth_scopes` (openid and profile are implicit), `hf_oauth_expiration_minutes`
(default 480, at most 43200) and `hf_oauth_authorized_org`.

Podium has users but no organizations: an owner is its own organization, so `hf_oauth_authorized_org`
names the users who may sign in. Scopes the Hub knows are accepted; what they grant beyond the user's
name is the Hub's business, not Podium's: Podium's tokens for apps read `userinfo` and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podium_runner.spec import SpaceConfigError

IMPLICIT_SCOPES = ("openid", "profile")
# The scopes the Hub documents for a Space's OAuth app (hub-docs spaces-oauth.md).
KNOWN_SCOPES = frozenset(
    {*IMPLICIT_SCOPES, "email", "read-repos", "write-repos", "manage-repos", "inference-api", "read-billing", "jobs"}
)
DEFAULT_EXPIRATION_MINUTES = 480
MAX_EXPIRATION_MINUTES = 43200
_MAX_AUTHORIZED = 100


@dataclass(frozen=True)
class OAuthRequest:
    """A space's OAuth app as its README describes it."""

    scopes: tuple[str, ...] = IMPLICIT_SCOPES
    expiration_minutes: int = DEFAULT_EXPIRATION_MINUTES
    authorized: tuple[str, ...] | None = None  # user names; None: every Podium user

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def oauth_request(card: Mapping[str, Any]) -> OAuthRequest | None:
    """The OAuth app the front matter asks for, or None without `hf_oauth: true`; a bad value is a
    SpaceConfigError naming its key."""
    asked = card.get("hf_oauth", False)
    if not isinstance(asked, bool):
        raise SpaceConfigError(f"must be true or false, not {asked!r:.60}", key="hf_oauth")
    if not asked:
        return None
    return OAuthRequest(
        scopes=_scopes(card.get("hf_oauth_scopes")),
        expiration_minutes=_expiration(card.get("hf_oauth_expiration_minutes")),
        authorized=_authorized(card.get("hf_oauth_authorized_org")),
    )


def _scopes(value: Any) -> tuple[str, ...]:
    if value is None:
        return IMPLICIT_SCOPES
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SpaceConfigError("must be a list of scope names", key="hf_oauth_scopes")
    unknown = sorted(set(value) - KNOWN_SCOPES)
    if unknown:
        raise SpaceConfigError(
            f"unknown scope {unknown[0][:60]!r}; the scopes are {', '.join(sorted(KNOWN_SCOPES))}",
            key="hf_oauth_scopes",
        )
    return tuple(dict.fromkeys([*IMPLICIT_SCOPES, *value]))


def _expiration(value: Any) -> int:
    if value is None:
        return DEFAULT_EXPIRATION_MINUTES
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXPIRATION_MINUTES:
        raise SpaceConfigError(
            f"must be a whole number of minutes from 1 to {MAX_EXPIRATION_MINUTES}",
            key="hf_oauth_expiration_minutes",
        )
    return value


def _authorized(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list)
        or not names
        or len(names) > _MAX_AUTHORIZED
        or not all(isinstance(name, str) and 0 < len(name) <= 96 for name in names)
    ):
        raise SpaceConfigError(
            "must be a name or a list of names (Podium has no organizations: each name is a user who may sign in)",
            key="hf_oauth_authorized_org",
        )
    return tuple(names)
