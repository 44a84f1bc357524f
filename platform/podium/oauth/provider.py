"""Authlib's authorization server on Podium's database: the authorization code grant (with PKCE when the
client sends a challenge), OpenID Connect's ID token, and bearer access tokens for `userinfo`.

Authlib is framework-neutral: this module turns a Starlette request into its `OAuth2Request` and its
answers back into Starlette responses, and stores codes and tokens by their SHA-256 only. A code is
claimed in one UPDATE, so two redemptions at once cannot both succeed; redeeming a used code again revokes
the tokens the first redemption gave (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import Response

from podium.db import Database, OAuthClient, OAuthCode, OAuthToken, now
from podium.oauth.clients import TOKEN_ENDPOINT_AUTH_METHODS, RegisteredClient, find_client
from podium.oauth.config import KNOWN_SCOPES, MAX_EXPIRATION_MINUTES
from podium.oauth.keys import ALGORITHM, signing_key
from podium.settings import Settings
from podium.signing import Signer

CODE_LIFETIME_S = 120
ACCESS_TOKEN_PREFIX = "hf_oauth_"  # as the Hub's, so tools that tell tokens apart by prefix keep working


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def forget_expired(session: Session) -> None:
    """Drop expired tokens, and codes no token can still come from: a code's row is what recognises its
    reuse, and its tokens go with it, so it stays as long as the longest token could live."""
    session.execute(delete(OAuthToken).where(OAuthToken.expires_at < now()))
    oldest = now() - dt.timedelta(minutes=MAX_EXPIRATION_MINUTES, seconds=CODE_LIFETIME_S)
    session.execute(delete(OAuthCode).where(OAuthCode.expires_at < oldest))


@dataclass(frozen=True)
class SignedInUser:
    """The Podium user an app's visitor signed in as."""

    name: str


class _Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]):
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class StarletteRequest(OAuth2Request):
    """One request to the provider, its query and form already read (Authlib's code is synchronous)."""

    def __init__(self, method: str, url: str, headers: Headers, query: list[tuple[str, str]], form: list[tuple]):
        super().__init__(method, url, headers=headers)
        self._args = dict(query)
        self._form = {key: value for key, value in form if isinstance(value, str)}
        self.payload = _Payload(query + [(key, value) for key, value in form if isinstance(value, str)])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True)
class IssuedCode:
    """An authorization code as Authlib's grant reads it (its AuthorizationCodeMixin)."""

    id: int
    user: str
    redirect_uri: str
    scope: str
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH_METHODS)
    server: Provider

    def create_authorization_response(self, redirect_uri: str, grant_user: SignedInUser | None):
        # The code goes where the space really is (`SpaceAddress.delivery`); the code keeps the
        # redirect_uri as the app spelled it, which its token request repeats.
        client: RegisteredClient = self.request.client
        return super().create_authorization_response(client.address.delivery(redirect_uri) or "", grant_user)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        with self.server.db.session() as session:
            forget_expired(session)
            session.add(
                OAuthCode(
                    code_hash=digest(code),
                    client_id=request.client.row.id,
                    user=request.user.name,
                    redirect_uri=request.payload.redirect_uri or "",
                    scope=request.scope,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    auth_time=int(time.time()),
                    expires_at=now() + dt.timedelta(seconds=CODE_LIFETIME_S),
                )
            )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> IssuedCode | None:
        with self.server.db.session() as session:
            row = session.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code)))
            if row is None or row.client_id != client.row.id:
                return None  # not this client's: refused without spending the code
            if row.used_at is not None:
                revoked = update(OAuthToken).where(OAuthToken.code_id == row.id, OAuthToken.revoked_at.is_(None))
                session.execute(revoked.values(revoked_at=now()))
                return None
            claimed = session.execute(
                update(OAuthCode).where(OAuthCode.id == row.id, OAuthCode.used_at.is_(None)).values(used_at=now())
            )
            if claimed.rowcount != 1 or row.expires_at < now():
                return None
            return IssuedCode(
                row.id,
                row.user,
                row.redirect_uri,
                row.scope,
                row.nonce,
                row.auth_time,
                row.code_challenge,
                row.code_challenge_method,
            )

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing left to do: `query_authorization_code` spent it, and keeps it to recognise a reuse."""

    def authenticate_user(self, authorization_code: IssuedCode) -> SignedInUser:
        return SignedInUser(authorization_code.user)


class _IdToken(OpenIDCode):
    def __init__(self, provider: Provider):
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        with self.provider.db.session() as session:
            used = select(OAuthCode.id).where(OAuthCode.client_id == request.client.row.id, OAuthCode.nonce == nonce)
            return session.scalar(used) is not None

    def resolve_client_private_key(self, client: RegisteredClient):
        return signing_key(self.provider.settings.data_dir)

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return ALGORITHM

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": signing_key(self.provider.settings.data_dir).kid}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        return {
            "iss": self.provider.issuer,
            "aud": [client.get_client_id()],
            "exp": int(time.time()) + client.row.expiration_minutes * 60,
        }

    def generate_user_info(self, user: SignedInUser, scope: str) -> UserInfo:
        return self.provider.user_info(user.name, scope)


class Provider(AuthorizationServer):
    def __init__(self, settings: Settings, db: Database, signer: Signer):
        super().__init__(scopes_supported=sorted(KNOWN_SCOPES))
        if urlsplit(settings.pages_url).scheme == "http":
            # Authlib refuses every plain-http request but loopback ones, `podium.localhost` included, and
            # has only this switch. Whether Podium is served over https is the operator's choice (the
            # README's security model asks for it in production), as it is for Podium's own sign-in.
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        self.settings, self.db, self.signer = settings, db, signer
        self.register_grant(_CodeGrant, [CodeChallenge(required=False), _IdToken(self)])
        self.register_token_generator("default", self._bearer_token)

    @property
    def issuer(self) -> str:
        return self.settings.pages_url

    def user_info(self, name: str, scope: str) -> UserInfo:
        """The claims of a user: the Podium user's name is their subject, username and name (Podium keeps
        no other profile), shaped as the Hub's so `gr.OAuthProfile` reads them."""
        claims = {"sub": name}
        if "profile" in scope.split():
            claims |= {
                "preferred_username": name,
                "name": name,
                "profile": f"{self.settings.pages_url}/?q={name}",
                "picture": f"{self.settings.pages_url}/static/logo.svg",
            }
        return UserInfo(claims)

    def query_client(self, client_id: str | None) -> RegisteredClient | None:
        with self.db.session() as session:
            return find_client(session, self.settings, self.signer, client_id)

    def _bearer_token(self, grant_type, client: RegisteredClient, user=None, scope=None, expires_in=None, **_):
        return {
            "token_type": "Bearer",
            "access_token": ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32),
            "expires_in": client.row.expiration_minutes * 60,
            "scope": scope,
        }

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        with self.db.session() as session:
            session.add(
                OAuthToken(
                    token_hash=digest(token["access_token"]),
                    client_id=request.client.row.id,
                    code_id=request.authorization_code.id,
                    user=request.user.name,
                    scope=token["scope"],
                    expires_at=now() + dt.timedelta(seconds=token["expires_in"]),
                )
            )

    def token_user(self, access_token: str | None) -> tuple[str, str] | None:
        """(user, scope) of a live access token of a space that still asks for OAuth, or None."""
        if not access_token:
            return None
        with self.db.session() as session:
            found = session.execute(
                select(OAuthToken, OAuthClient.enabled)
                .join(OAuthClient, OAuthClient.id == OAuthToken.client_id)
                .where(OAuthToken.token_hash == digest(access_token))
            ).first()
            if found is None or not found[1] or found[0].revoked_at is not None or found[0].expires_at < now():
                return None
            return found[0].user, found[0].scope

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # the routes build it (`StarletteRequest`) from the request they read

    def create_json_request(self, request):
        raise NotImplementedError("Podium's provider takes no JSON requests")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook for signals (Flask's blinker); Podium listens to none."""
