"""`podium backup DEST` and `podium restore SRC`: a consistent snapshot of a running Podium's data, and a
fresh data folder made from one (podium.backup says what a backup holds and what it leaves out)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podium.backup import BackupError, backup, read_manifest, restore, schema_note
from podium.cli import app
from podium.settings import Settings

_DATA_DIR = typer.Option(None, help="Data folder (PODIUM_DATA_DIR, default ./data)")


def _settings(data_dir: str | None) -> Settings:
    return Settings(**({"data_dir": data_dir} if data_dir else {}))


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


@app.command("backup")
def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup, outside the data folder")],
    data_dir: str = _DATA_DIR,
) -> None:
    """Back up the repositories, the database and the settings, while Podium runs. Secrets stay encrypted:
    keep the secrets key (PODIUM_SECRETS_KEY_FILE) apart from the backup, restore needs it."""
    try:
        summary = backup(_settings(data_dir), dest)
    except BackupError as exc:
        typer.echo(f"podium backup: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backed up {summary.spaces} space(s), {summary.repositories} model or dataset repositories and "
        f"{summary.lfs_objects} LFS object(s) into {dest} "
        f"({_mib(summary.size_bytes)}, {summary.seconds:.1f} s)"
    )


@app.command("restore")
def restore_command(
    src: Annotated[Path, typer.Argument(help="A folder `podium backup` wrote")],
    data_dir: str = _DATA_DIR,
) -> None:
    """Make a new data folder from a backup; `podium serve` on it then builds and starts its spaces."""
    settings = _settings(data_dir)
    try:
        summary = restore(settings, src)
        note = schema_note(read_manifest(src))
    except BackupError as exc:
        typer.echo(f"podium restore: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored {summary.spaces} space(s), {summary.repositories} model or dataset repositories and "
        f"{summary.lfs_objects} LFS object(s) into {settings.data_dir} "
        f"({_mib(summary.size_bytes)}, {summary.seconds:.1f} s); {note}. The settings it ran with are in "
        f"{src / 'settings.json'}; start it with `podium serve`, its spaces build and start"
    )
