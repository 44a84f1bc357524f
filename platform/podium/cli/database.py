"""`podium db upgrade`: bring Podium's database to this release's schema (`podium serve` does it on start)."""

from __future__ import annotations

import typer
from sqlalchemy import create_engine

from podium import migrations
from podium.cli import app
from podium.secret_box import box_for
from podium.settings import Settings

database = typer.Typer(no_args_is_help=True, help="Podium's database: its schema, kept by migrations.")
app.add_typer(database, name="db")


@database.command()
def upgrade(data_dir: str = typer.Option(None, help="Data folder (PODIUM_DATA_DIR, default ./data)")) -> None:
    """Run the migrations this database lacks; a database of a release before migrations is upgraded too."""
    settings = Settings(**({"data_dir": data_dir} if data_dir else {}))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.db_url)
    before, after = migrations.upgrade(engine, settings.logs_dir, box_for(settings, create=True))
    if before == after:
        typer.echo(f"{settings.db_url}: already at {after}, nothing to do")
    else:
        typer.echo(f"{settings.db_url}: upgraded from {before or 'the release before migrations'} to {after}")
