"""How a space reads models and datasets from Podium, as a space on the Hub reads them from the Hub: its app
gets `HF_ENDPOINT` (Podium, as the app reaches it) and `HF_TOKEN`, so `from_pretrained("me/tiny-bert")` and
`hf_hub_download` just work, public or private.

The token is minted by each deploy for the space's owner, read-only and scoped to the owner's repositories
(`auth.User.acts_for`): it reads public repositories and the owner's private ones, never another owner's
private ones, and writes nothing (nor makes tokens: that needs a write token). It is kept nowhere but in the
app's environment (the database holds its hash, as for every token); once a new revision serves, the tokens
earlier deploys gave the space are revoked, and deleting the space revokes them all. It shows in the owner's
`podium token list` under its space's name, so the owner can revoke it too.

A space that sets `HF_ENDPOINT` or `HF_TOKEN` itself (a variable or a secret: another Hub, its own token)
keeps its own. An app in a sandbox with a network of its own reaches Podium through the door (podium.oauth.door
serves the Hub's read routes of models and datasets there); a docker backend's container reaches the same
door through a relay on its network (podium_runner.docker.platform_door).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from podium_runner.plan import PlatformAddress
from sqlalchemy import update

from podium.auth import READ, create_token
from podium.db import Database, Token, now
from podium.oauth.deploy import door_socket
from podium.settings import Settings

ENDPOINT_VARIABLE = "HF_ENDPOINT"
TOKEN_VARIABLE = "HF_TOKEN"


def token_name(space_id: str) -> str:
    """The name of the tokens deploys make for `space_id`, by which they are found again to revoke."""
    return f"{space_id}: its app reads the Hub (made by its deploy)"


@dataclass(frozen=True)
class SpaceHub:
    """What one deploy gives its app: the token's variable and id, and the variables naming Podium's address."""

    token_id: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    address_variables: tuple[str, ...] = ()


def grant(db: Database, space_id: str, own: Mapping[str, str], runs_code: bool = True) -> SpaceHub:
    """A new read token for the app of `space_id`, unless the space's own variables `own` set theirs or it runs
    no code (a static space: files served as they are)."""
    if not runs_code:
        return SpaceHub()
    owner = space_id.partition("/")[0]
    address_variables = () if ENDPOINT_VARIABLE in own else (ENDPOINT_VARIABLE,)
    if TOKEN_VARIABLE in own:
        return SpaceHub(address_variables=address_variables)
    token_id, token = create_token(db, owner, token_name(space_id), role=READ, owner_scope=owner)
    return SpaceHub(token_id, {TOKEN_VARIABLE: token}, address_variables)


def platform_for(settings: Settings, oauth: PlatformAddress | None, hub: SpaceHub) -> PlatformAddress:
    """Where the app reaches Podium (the pages, or the door from inside a sandbox), with the variables that
    name it: OAuth's, when the space asks for it, and HF_ENDPOINT."""
    variables = (oauth.variables if oauth else ()) + hub.address_variables
    return PlatformAddress(url=settings.pages_url, socket=str(door_socket(settings)), variables=variables)


def retire(db: Database, space_id: str, keep: int | None = None) -> None:
    """Revoke the tokens deploys gave `space_id`'s apps, but `keep` (the serving instance's)."""
    condition = [Token.display_name == token_name(space_id), Token.revoked_at.is_(None)]
    if keep is not None:
        condition.append(Token.id != keep)
    with db.session() as session:
        session.execute(update(Token).where(*condition).values(revoked_at=now()))
