"""`podium serve`: run Podium (pages, API and spaces) in the foreground."""

from __future__ import annotations

import asyncio
import logging

import typer

from podium.cli import app
from podium.examples.bundled import ExamplesProgress, offline_reason, upstream_for
from podium.secret_box import SecretsKeyError
from podium.server import serve as serve_podium
from podium.settings import Settings


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (PODIUM_HOST, default 127.0.0.1)"),
    port: int = typer.Option(None, help="Port of the pages and API (PODIUM_PORT, default 7860)"),
    spaces_port: int = typer.Option(None, help="Port of the spaces origin (PODIUM_SPACES_PORT, default 7861)"),
    data_dir: str = typer.Option(None, help="Data folder (PODIUM_DATA_DIR, default ./data)"),
    examples: bool = typer.Option(
        False, "--examples", help="Load the bundled example spaces (one per transformers pipeline task)"
    ),
    offline: bool = typer.Option(
        False, "--offline", help="With --examples: tiny offline stand-ins of their models, not the Hub's"
    ),
) -> None:
    """Start Podium; settings come from PODIUM_* variables, these options override them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if offline and not examples:
        raise typer.BadParameter("--offline only applies to the example spaces; add --examples", param_hint="--offline")
    given = {"host": host, "port": port, "spaces_port": spaces_port, "data_dir": data_dir}
    settings = Settings(**{key: value for key, value in given.items() if value is not None})
    progress = None
    if examples:
        progress = ExamplesProgress(offline_reason=offline_reason(forced=offline, upstream=settings.hub_upstream))
        settings.hub_upstream = upstream_for(settings.hub_upstream, offline_examples=bool(progress.offline_reason))
    try:
        asyncio.run(serve_podium(settings, examples=progress))
    except SecretsKeyError as exc:
        typer.echo(f"podium serve: {exc}", err=True)
        raise typer.Exit(2) from None
