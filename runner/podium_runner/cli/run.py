"""`podium run FOLDER`: build and run one space in the foreground, without the platform (the process
backend; the files backend for a static space).

Each failure ends with the Hugging Face stage it maps to and its own exit code, so scripts can tell a
bad README from a failed build from an app that crashed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from podium_runner.backend import Backend, StartError
from podium_runner.backends import for_every_sdk
from podium_runner.health import wait_until_ready
from podium_runner.plan import BuildPlan, RunContext, make_plan
from podium_runner.process import ProcessBackend, ProcessFolders
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import SpaceFailure, Stage

DEFAULT_HOME = Path.home() / ".cache" / "podium"
EXIT_CODES = {Stage.CONFIG_ERROR: 2, Stage.NO_APP_FILE: 3, Stage.BUILD_ERROR: 4, Stage.RUNTIME_ERROR: 5}


def _fail(stage: Stage, folder: Path, message: str) -> typer.Exit:
    typer.echo(f"{stage}: {folder}: {message}", err=True)
    return typer.Exit(EXIT_CODES[stage])


def _echo(line: str) -> None:
    typer.echo(line)


def _check_port_free(host: str, port: int) -> None:
    # Otherwise a server already there would answer the health checks in the app's place.
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        message = f"{host}:{port} is in use ({exc.strerror}); pick another"
        raise typer.BadParameter(message, param_hint="--port") from None


async def _serve(backend: Backend, plan: BuildPlan, space_id: str, host: str, port: int) -> None:
    """Build, start, wait until healthy, then run until the app exits or the task is cancelled."""
    backend.check(plan)
    typer.echo(f"==> Building {space_id} (environment {plan.build_key})")
    env = await backend.prepare(plan, _echo)
    ctx = RunContext(space_id=space_id, port=port, host=host, title=plan.space_root.name)
    typer.echo(f"==> Starting {space_id} on port {port}")
    instance = await backend.start(plan, env, ctx, _echo)
    try:
        health_path = plan.launch(ctx).health_path
        seconds = await wait_until_ready(backend, instance, health_path, plan.startup_timeout_s)
        typer.echo(f"==> {space_id} is running at {instance.url}/ (ready in {seconds:.1f} s; Ctrl-C stops)")
        while (ended := await backend.poll(instance)) is None:
            await asyncio.sleep(0.5)
        raise StartError(
            f"{space_id}: the app stopped ({ended.reason}). Last log lines:\n" + "\n".join(instance.logs.last())
        )
    finally:
        await backend.stop(instance)
        await backend.close()


def _run_until_signal(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run `coroutine` until SIGINT or SIGTERM cancels it (its `finally` stops the app)."""

    async def main() -> None:
        task = asyncio.ensure_future(coroutine)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def run(
    folder: Annotated[Path, typer.Argument(help="A space folder: README.md with front matter, app.py, ...")],
    port: Annotated[int, typer.Option(help="Port the app listens on")] = 7860,
    host: Annotated[str, typer.Option(help="Address the app listens on")] = "127.0.0.1",
    plan: Annotated[bool, typer.Option("--plan", help="Print the build plan as JSON and exit")] = False,
    home: Annotated[
        Path, typer.Option(envvar="PODIUM_RUN_HOME", help="Folder for environments, the uv cache and /data")
    ] = DEFAULT_HOME,
    sandbox: Annotated[str, typer.Option(help="auto (bubblewrap where available), on or off")] = "auto",
) -> None:
    """Build and run one space folder in the foreground; Ctrl-C stops it."""
    folder, home = folder.resolve(), home.expanduser().resolve()  # builds run in other folders
    space_id = f"local/{folder.name}"
    try:
        space_plan = make_plan(load_spec(folder))
        if plan:
            typer.echo(json.dumps(space_plan.describe(), indent=2, default=str))
            return
        if sandbox not in ("auto", "on", "off"):
            raise SpaceConfigError(f"must be auto, on or off (got {sandbox!r})", file="--sandbox")
        _check_port_free(host, port)
        backend = for_every_sdk(ProcessBackend(ProcessFolders.under(home), sandbox=sandbox))  # type: ignore[arg-type]
        _run_until_signal(_serve(backend, space_plan, space_id, host, port))
    except SpaceFailure as exc:  # a bad README, a failed build, an app that did not start
        raise _fail(exc.stage, folder, str(exc)) from None
    except ValueError as exc:  # a sandbox that cannot be had
        raise _fail(Stage.CONFIG_ERROR, folder, str(exc)) from None
    typer.echo(f"==> Stopped {space_id}", err=True)
