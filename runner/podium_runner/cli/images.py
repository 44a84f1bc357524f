"""`podium images bootstrap`: local base images for hosts without a registry (CI uses it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uv

from podium_runner.backend import RunnerError
from podium_runner.docker import bases
from podium_runner.docker.bootstrap import bootstrap_base, bootstrap_ml_base
from podium_runner.docker.engine import Engine

_WHEELS = Path("/opt/wheels")
images_app = typer.Typer(help="Base images for the docker backend.", no_args_is_help=True)


@images_app.command()
def bootstrap(
    ml: Annotated[bool, typer.Option(help="Also build the ml base (torch CPU, transformers, ...).")] = False,
    force: Annotated[bool, typer.Option(help="Build again even when the image exists.")] = False,
    wheels: Annotated[Path, typer.Option(help="Folder with the CPU torch wheel (--ml).")] = _WHEELS,
    docker_host: Annotated[
        str | None,
        typer.Option(envvar="PODIUM_DOCKER_HOST", help="The Docker engine (default: DOCKER_HOST or the socket)."),
    ] = None,
) -> None:
    """Build the base image from Debian packages (debootstrap), once; later calls only check it."""
    engine = Engine(docker_host)
    try:
        bootstrap_base(engine, typer.echo, tag=bases.BOOTSTRAP_BASE, force=force)
        if ml:
            bootstrap_ml_base(
                engine,
                typer.echo,
                base=bases.BOOTSTRAP_BASE,
                tag=bases.ML_BASE,
                wheels=wheels,
                uv_bin=Path(uv.find_uv_bin()),
                force=force,
            )
    except RunnerError as exc:
        typer.echo(f"podium images bootstrap: {exc}", err=True)
        if exc.tail:
            typer.echo("\n".join(exc.tail), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.close()
    typer.echo(f"base image ready: {bases.BOOTSTRAP_BASE}" + (f", {bases.ML_BASE}" if ml else ""))
