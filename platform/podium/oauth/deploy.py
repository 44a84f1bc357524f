"""What a deploy does for "Sign in with Hugging Face": registers the space's client as its README now asks
and gives its app the variables the Hub injects (podium.lifecycle.deploys calls this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from podium_runner.plan import PlatformAddress
from sqlalchemy.orm import Session

from podium.db import Space
from podium.oauth.clients import app_variables, register
from podium.oauth.config import OAuthRequest
from podium.settings import Settings
from podium.signing import signer_for

DOOR_FOLDER = "door"
DOOR_SOCKET = "door.sock"
# The variables an OAuth app reads Podium's address from (anchors.md §1.4).
ADDRESS_VARIABLES = ("OPENID_PROVIDER_URL",)


def door_socket(settings: Settings) -> Path:
    return settings.data_dir / DOOR_FOLDER / DOOR_SOCKET


def platform_address(settings: Settings) -> PlatformAddress:
    """Where an OAuth app finds the provider: the pages, or the door from inside a sandbox."""
    return PlatformAddress(url=settings.pages_url, socket=str(door_socket(settings)), variables=ADDRESS_VARIABLES)


@dataclass(frozen=True)
class AppOAuth:
    """OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_SCOPES, and where the app finds the provider (which
    becomes OPENID_PROVIDER_URL); nothing for a space that does not ask."""

    variables: dict[str, str] = field(default_factory=dict)
    platform: PlatformAddress | None = None


def app_oauth(settings: Settings, session: Session, space: Space, asked: OAuthRequest | None) -> AppOAuth:
    client = register(session, space, asked)
    if client is None:
        return AppOAuth()
    session.flush()  # a new client's row exists before its app starts
    return AppOAuth(app_variables(signer_for(settings.data_dir), client), platform_address(settings))
