"""`podium models pull | evict | cached`: an admin's hand on the cache of the upstream Hub (podium.upstream),
through the API as any client would."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from podium.cli import app
from podium.cli.api_call import call_api
from podium.cli.spaces import DEFAULT_ENDPOINT, Endpoint, Token

models = typer.Typer(no_args_is_help=True, help="Models and datasets cached from the upstream Hub.")
app.add_typer(models, name="models")

RepoId = Annotated[str, typer.Argument(metavar="OWNER/NAME")]
Dataset = Annotated[bool, typer.Option("--dataset", help="A dataset rather than a model")]


def _path(repo_id: str, dataset: bool) -> str:
    owner, slash, name = repo_id.partition("/")
    if not slash or not owner or not name:
        typer.secho(f"error: {repo_id!r} is not OWNER/NAME", fg="red", err=True)
        raise typer.Exit(2)
    return f"/api/upstream-cache/{'datasets' if dataset else 'models'}/{owner}/{name}"


@models.command()
def pull(
    repo_id: RepoId,
    revision: Annotated[str, typer.Option(help="A branch, tag or sha of the upstream")] = "main",
    dataset: Dataset = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Fetch a revision of an upstream repository whole into Podium's cache (an admin token)."""
    done = call_api("POST", endpoint, f"{_path(repo_id, dataset)}/pull?revision={quote(revision, safe='')}", token)
    typer.echo(f"{done['id']} at {done['sha']}: {done['files']} files cached")


@models.command()
def evict(
    repo_id: RepoId, dataset: Dataset = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None
) -> None:
    """Remove a cached upstream repository (its files too, unless another cached repository has them)."""
    done = call_api("DELETE", endpoint, _path(repo_id, dataset), token)
    typer.echo(f"{done['id']} evicted, {done['freedBytes']} bytes freed")


@models.command()
def cached(endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """The repositories cached from the upstream Hub."""
    for record in call_api("GET", endpoint, "/api/upstream-cache", token):
        typer.echo(f"{record['repo_type']}\t{record['id']}")
