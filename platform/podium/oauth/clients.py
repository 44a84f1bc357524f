"""One OAuth client per space whose README says `hf_oauth: true`, registered when it deploys.

The client's id is random; its secret is stored nowhere: it is an HMAC of the id under the data folder's
secret (`podium.signing`), so Podium can hand it to the app at every start and check it at the token
endpoint without keeping it. A space that stops asking (`hf_oauth: false`) keeps its client disabled, so
turning OAuth on again gives the app the same id.

Codes are delivered only to the space's own address: its host in host mode, its `/apps/{owner}/{name}/`
in path mode (where every space shares one origin). Apps written for the Hub spell their address
`https://{SPACE_HOST}/...` (Gradio's `/login/callback` does); that spelling is read as the space's own
address, so over plain http, or in path mode, the browser is sent where the space really is.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.db import OAuthClient, Space
from podium.oauth.config import OAuthRequest
from podium.settings import Settings
from podium.signing import Signer

_SECRET_PURPOSE = "oauth-client-secret"
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def client_secret(signer: Signer, client_id: str, generation: int) -> str:
    return signer.mac(_SECRET_PURPOSE, f"{client_id}:{generation}")


def register(session: Session, space: Space, asked: OAuthRequest | None) -> OAuthClient | None:
    """Make, update or disable the space's client as its README now asks; the client, or None."""
    row = session.scalar(select(OAuthClient).where(OAuthClient.space_id == space.id))
    if asked is None:
        if row is not None:
            row.enabled = False
        return None
    if row is None:
        row = OAuthClient(space_id=space.id, client_id=str(uuid.uuid4()))
        session.add(row)
    row.enabled = True
    row.scopes = asked.scope
    row.expiration_minutes = asked.expiration_minutes
    row.authorized = list(asked.authorized) if asked.authorized is not None else None
    return row


def app_variables(signer: Signer, row: OAuthClient) -> dict[str, str]:
    """What the Hub injects into an OAuth space's app (OPENID_PROVIDER_URL is the runner's: it depends on
    where the app runs, `podium.oauth.door`)."""
    return {
        "OAUTH_CLIENT_ID": row.client_id,
        "OAUTH_CLIENT_SECRET": client_secret(signer, row.client_id, row.secret_generation),
        "OAUTH_SCOPES": row.scopes,
    }


def _dot_segment(segment: str) -> bool:
    """`.` and `..`, spelled plainly or percent-encoded: browsers resolve both, which would lead a path
    under `/apps/alice/app/` out of it."""
    return unquote(segment).replace("\\", "/") in {".", ".."} or "\\" in unquote(segment)


@dataclass(frozen=True)
class SpaceAddress:
    """Where a space is served (`Settings.space_url`), and the host its app is told (SPACE_HOST)."""

    url: str  # ends with "/"

    @classmethod
    def of(cls, settings: Settings, space_id: str) -> SpaceAddress:
        return cls(settings.space_url(space_id).rstrip("/") + "/")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def delivery(self, redirect_uri: str) -> str | None:
        """Where the browser takes a code sent to `redirect_uri`, or None when that is not this space's."""
        try:
            parts = urlsplit(redirect_uri)
        except ValueError:
            return None
        if parts.fragment or "@" in parts.netloc or parts.scheme not in {"http", "https"}:
            return None
        if any(_dot_segment(segment) for segment in parts.path.split("/")):
            return None
        base = urlsplit(self.url)
        same_origin = (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())
        if same_origin and (parts.path + "/").startswith(base.path):
            return redirect_uri
        if (parts.scheme, parts.netloc.lower()) == ("https", base.netloc.lower()):
            # The Hub's spelling of this space's address: https, and its host without Podium's path.
            path = base.path.rstrip("/") + "/" + parts.path.lstrip("/")
            return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))
        return None


@dataclass
class RegisteredClient:
    """A space's client as Authlib's authorization server sees it (authlib's ClientMixin)."""

    row: OAuthClient
    space_id: str
    private: bool
    owner: str
    address: SpaceAddress
    secret: str

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str:
        return self.address.url + "login/callback"

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.row.scopes.split()
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return self.address.delivery(redirect_uri) is not None

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in TOKEN_ENDPOINT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"

    def may_sign_in(self, user: str) -> bool:
        return self.row.authorized is None or user in self.row.authorized


def find_client(session: Session, settings: Settings, signer: Signer, client_id: str | None) -> RegisteredClient | None:
    """The enabled client with this id, detached from `session`, or None."""
    if not client_id or len(client_id) > 64:
        return None
    query = select(OAuthClient, Space).join(Space, Space.id == OAuthClient.space_id)
    found = session.execute(query.where(OAuthClient.client_id == client_id)).first()
    if found is None or not found[0].enabled:
        return None
    row, space = found
    session.expunge(row)
    return RegisteredClient(
        row=row,
        space_id=space.space_id,
        private=space.private,
        owner=space.owner,
        address=SpaceAddress.of(settings, space.space_id),
        secret=client_secret(signer, row.client_id, row.secret_generation),
    )
