"""`podium token create | list | revoke`: API tokens, through the API (`/api/tokens`) as any client would.

`podium token USER`, the one form earlier releases had, still makes a write token for USER.
"""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from podium.cli import app
from podium.cli.api_call import call_api
from podium.cli.spaces import DEFAULT_ENDPOINT, Endpoint, Token

_FOR_USER = "for-user"


class _TokenCommands(TyperGroup):
    """`podium token alice` reads as `podium token for-user alice`: anything that is not a command is a user."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [_FOR_USER, *args]
        return super().resolve_command(ctx, args)


tokens = typer.Typer(
    cls=_TokenCommands,
    no_args_is_help=True,
    help="Make, list and revoke API tokens (`podium token USER` makes a write token for USER).",
)
app.add_typer(tokens, name="token")


def _scope(record: dict[str, Any]) -> str:
    if record["owner"]:
        return f"{record['owner']}/*"
    return "every space" if record["admin"] else f"{record['user']}/*"


def _day(moment: str | None, empty: str) -> str:
    return moment[:16].replace("T", " ") if moment else empty


@tokens.command()
def create(
    name: Annotated[str, typer.Argument(help="A label to recognise the token by")],
    user: Annotated[str | None, typer.Option(help="Who the token is for (yourself when left out)")] = None,
    write: Annotated[bool, typer.Option("--write/--read", help="May change spaces, or only read them")] = True,
    owner: Annotated[str | None, typer.Option(help="Good only for this owner's spaces")] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime such as 30d, 12h, 2w; never expires without")] = None,
    admin: Annotated[bool, typer.Option(help="The token may change every space and make tokens")] = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Make a new API token; it is printed once (alone on stdout) and cannot be read back."""
    made = call_api(
        "POST",
        endpoint,
        "/api/tokens",
        token,
        {
            "name": name,
            "user": user,
            "role": "write" if write else "read",
            "owner": owner,
            "expires_in": expires,
            "admin": admin,
        },
    )
    expiry = f"expires {_day(made['expiresAt'], '')} UTC" if made["expiresAt"] else "never expires"
    typer.echo(
        f"token {made['id']} {made['name']!r} for {made['user']}: {made['role']}, {_scope(made)}, {expiry} "
        "(shown once, keep it)",
        err=True,
    )
    typer.echo(made["token"])


@tokens.command("list")
def list_tokens(endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """Your tokens (everyone's, with an admin token): never the tokens themselves, only what they may do."""
    rows = [("ID", "USER", "NAME", "ROLE", "SCOPE", "EXPIRES", "LAST USED", "STATE")]
    for record in call_api("GET", endpoint, "/api/tokens", token):
        role = "admin" if record["admin"] else record["role"]
        rows.append(
            (
                str(record["id"]),
                record["user"],
                record["name"],
                role,
                _scope(record),
                _day(record["expiresAt"], "never"),
                _day(record["lastUsedAt"], "never"),
                record["state"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens.command()
def revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id, from `podium token list`")],
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Revoke a token: every request with it, and every page session made with it, is refused from now on."""
    revoked = call_api("DELETE", endpoint, f"/api/tokens/{token_id}", token)
    typer.echo(f"token {revoked['id']} {revoked['name']!r} of {revoked['user']}: revoked")


@tokens.command(_FOR_USER, hidden=True)
def for_user(
    user: Annotated[str, typer.Argument(help="Who the token is for; they may write spaces under this name")],
    name: Annotated[str, typer.Option(help="A label to recognise the token by")] = "made with podium token",
    admin: Annotated[bool, typer.Option(help="The token may write every space and make tokens")] = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    admin_token: Token = None,
) -> None:
    """`podium token USER`: a write token for USER's spaces (needs an admin token), printed once."""
    made = call_api("POST", endpoint, "/api/tokens", admin_token, {"name": name, "user": user, "admin": admin})
    typer.echo(made["token"])
