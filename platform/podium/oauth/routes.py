"""The provider's endpoints. `provider_router` holds what an app's server calls (discovery, token, userinfo,
JWKS): Podium's pages serve it, and so does the door an app in its sandbox reaches (`podium.oauth.door`).
`consent_router` is the browser's part, on the pages only: the authorize endpoint and its consent page.

Discovery names the server-side endpoints at the address it was asked at (the door inside a sandbox, the
pages elsewhere), the authorize endpoint always on the pages, and the pages as the issuer of ID tokens.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from podium.auth import bearer_token
from podium.browser_session import identify
from podium.context import context_of
from podium.oauth.clients import TOKEN_ENDPOINT_AUTH_METHODS, RegisteredClient
from podium.oauth.config import KNOWN_SCOPES
from podium.oauth.keys import ALGORITHM, public_jwks
from podium.oauth.provider import Provider, SignedInUser, StarletteRequest
from podium.web.access import PageError, require_change_allowed
from podium.web.routing import PageRoute
from podium.web.security_headers import content_security_policy
from podium.web.templating import render

DISCOVERY = "/.well-known/openid-configuration"
AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
USERINFO = "/oauth/userinfo"
JWKS = "/oauth/jwks"
# What an authorization request may carry through the consent form; anything else is dropped.
_AUTHORIZE_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "code_challenge",
    "code_challenge_method",
)
SCOPE_WORDS = {
    "openid": "that you signed in, and your Podium user name",
    "profile": "your user name and the address of your spaces",
    "email": "your e-mail address (Podium keeps none, so it learns nothing)",
}

provider_router = APIRouter(include_in_schema=False)
consent_router = APIRouter(include_in_schema=False, route_class=PageRoute)


def provider(request: Request) -> Provider:
    """The provider of the app serving this request (one per app, made on first use)."""
    state = request.app.state
    if getattr(state, "oauth_provider", None) is None:
        ctx = context_of(request)
        state.oauth_provider = Provider(ctx.settings, ctx.db, ctx.signer)
    return state.oauth_provider


@provider_router.get(DISCOVERY)
def discovery(request: Request) -> dict:
    settings = context_of(request).settings
    here = str(request.base_url).rstrip("/")
    return {
        "issuer": provider(request).issuer,
        "authorization_endpoint": settings.pages_url + AUTHORIZE,
        "token_endpoint": here + TOKEN,
        "userinfo_endpoint": here + USERINFO,
        "jwks_uri": here + JWKS,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": sorted(KNOWN_SCOPES),
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256", "plain"],
        "claims_supported": ["sub", "name", "preferred_username", "profile", "picture"],
    }


@provider_router.get(JWKS)
def jwks(request: Request) -> dict:
    return public_jwks(context_of(request).settings.data_dir)


@provider_router.post(TOKEN)
async def token(request: Request) -> Response:
    form = await request.form()
    oauth_request = StarletteRequest(
        "POST", str(request.url), request.headers, list(request.query_params.multi_items()), list(form.multi_items())
    )
    return await asyncio.to_thread(provider(request).create_token_response, oauth_request)


@provider_router.api_route(USERINFO, methods=["GET", "POST"])
def userinfo(request: Request) -> Response:
    found = provider(request).token_user(bearer_token(request.headers.get("authorization")))
    if found is None:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "No live access token of Podium's was sent."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    user, scope = found
    return JSONResponse(dict(provider(request).user_info(user, scope)))


def _consent_grant(
    request: Request, pairs: list[tuple[str, str]], user: str
) -> tuple[StarletteRequest, AuthorizationCodeGrant, RegisteredClient]:
    """Authlib's checks of an authorization request (client, redirect_uri, scope, PKCE, nonce); a
    request that fails them is a page saying why, never a redirect to an address not yet checked."""
    query, form = (pairs, []) if request.method == "GET" else ([], pairs)
    oauth_request = StarletteRequest(request.method, str(request.url), request.headers, query, form)
    try:
        grant = provider(request).get_consent_grant(oauth_request, end_user=SignedInUser(user))
    except OAuth2Error as error:
        raise PageError(
            400, "This sign-in request is not valid", f"{error.error}: {error.description or 'refused'}"
        ) from None
    client: RegisteredClient = grant.request.client
    visitor = request.state.visitor
    if client.private and not visitor.user.acts_for(client.owner):
        raise PageError(404, "Space not found", f"There is no space {client.space_id} you may sign in to.")
    if not client.may_sign_in(user):
        raise PageError(
            403,
            "Not allowed to sign in here",
            f"{client.space_id} lets only {', '.join(client.row.authorized or [])} sign in (hf_oauth_authorized_org).",
        )
    return oauth_request, grant, client


@consent_router.get(AUTHORIZE)
def consent_page(request: Request) -> Response:
    visitor = identify(request)
    if visitor is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/signin?" + urlencode({"next": here}), status_code=303)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k in _AUTHORIZE_PARAMETERS]
    _, grant, client = _consent_grant(request, pairs, visitor.user.name)
    scopes = grant.request.scope.split()
    response = render(
        request,
        "oauth_consent.html",
        space_id=client.space_id,
        delivered_to=client.address.origin,
        scopes=[(scope, SCOPE_WORDS.get(scope, "nothing Podium gives apps yet")) for scope in scopes],
        parameters=pairs,
    )
    # The answer to the form is a redirect to the space's origin: allowed as a form's target on this page only.
    policy = content_security_policy(context_of(request).settings, "'none'")
    response.headers["Content-Security-Policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {client.address.origin}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@consent_router.post(AUTHORIZE)
async def decide(request: Request) -> Response:
    form = await request.form()
    csrf = form.get("csrf_token")
    visitor = require_change_allowed(request, csrf if isinstance(csrf, str) else None)
    pairs = [(k, v) for k, v in form.multi_items() if k in _AUTHORIZE_PARAMETERS and isinstance(v, str)]
    oauth_request, grant, _ = _consent_grant(request, pairs, visitor.user.name)
    user = SignedInUser(visitor.user.name) if form.get("decision") == "allow" else None
    return await asyncio.to_thread(
        provider(request).create_authorization_response, oauth_request, grant_user=user, grant=grant
    )
