"""Client commands (`push`, `ls`, `status`, `logs`, `restart`, `pause`, `delete`; `token` is podium.cli.tokens).

They use Podium's public HTTP API through huggingface_hub's `HfApi`, exactly as any Hugging Face
tool would: no private shortcuts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from podium_runner.spec import SpaceConfigError, load_spec
from podium_runner.stages import Stage

from podium.cli import app

Endpoint = Annotated[str, typer.Option(envvar="PODIUM_URL", help="Podium's address")]
Token = Annotated[str | None, typer.Option(envvar=["PODIUM_TOKEN", "HF_TOKEN"], help="API token")]
SpaceId = Annotated[str, typer.Argument(metavar="OWNER/NAME")]
DEFAULT_ENDPOINT = "http://127.0.0.1:7860"


def _api(endpoint: str, token: str | None) -> HfApi:
    return HfApi(endpoint=endpoint.rstrip("/"), token=token or False)


def _fail(exc: HfHubHTTPError) -> typer.Exit:
    detail = exc.server_message or str(exc)
    typer.secho(f"error: {detail}", fg="red", err=True)
    return typer.Exit(1)


def _follow_build(api: HfApi, space_id: str, timeout_s: float) -> Stage:
    """Print build log lines and stage changes until the space settles; return the final stage."""
    done = threading.Event()

    def print_build_log() -> None:
        try:
            for line in api.fetch_space_logs(space_id, build=True, follow=True):
                if done.is_set():
                    return
                typer.echo(f"  | {line.rstrip()}")
        except HfHubHTTPError:
            return

    threading.Thread(target=print_build_log, daemon=True).start()
    last = None
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            runtime = api.get_space_runtime(space_id)
            stage = Stage(runtime.stage)
            if stage != last:
                typer.secho(f"[{time.strftime('%H:%M:%S')}] {space_id}: {stage}", bold=True)
                last = stage
            if not stage.is_transitional:
                if runtime.raw.get("errorMessage"):
                    typer.secho(runtime.raw["errorMessage"], fg="red" if stage != Stage.RUNNING else None)
                return stage
            time.sleep(1)
        return last or Stage.BUILDING
    finally:
        done.set()


@app.command()
def push(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="The space folder")],
    space_id: SpaceId,
    private: Annotated[bool, typer.Option(help="Only its owner (and admins) can see it")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the build until the space runs or fails")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the build")] = 1800,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Upload FOLDER as the space OWNER/NAME (created when new), then follow its build."""
    api = _api(endpoint, token)
    try:
        sdk = load_spec(folder).sdk
    except SpaceConfigError:
        sdk = "gradio"  # the server reports the configuration error as the space's stage
    files = [p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts]
    try:
        api.create_repo(space_id, repo_type="space", space_sdk=sdk, private=private, exist_ok=True)
        head = api.space_info(space_id).sha
        size = sum(p.stat().st_size for p in files)
        typer.echo(f"Uploading {len(files)} files ({size / 1024:.0f} KiB) to {space_id} ...")
        # Like the Hub's client, upload_folder skips files the space already has and makes no empty commit.
        commit = api.upload_folder(
            repo_id=space_id,
            folder_path=folder,
            repo_type="space",
            delete_patterns="*",
            ignore_patterns=[".git/*", "__pycache__/*", "*.pyc"],
        )
        if commit.oid == head:
            typer.echo(f"No changes: {space_id} already has these files (revision {head[:8]}).")
        else:
            typer.echo(f"Revision {commit.oid[:8]} uploaded.")
        if not wait:
            return
        stage = _follow_build(api, space_id, timeout)
        info = api.space_info(space_id)
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    if stage.is_serving:
        typer.secho(f"{space_id} is running at {info.host}", fg="green")
    else:
        raise typer.Exit(1)


@app.command("ls")
def list_spaces(endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """List the spaces you can see, with their stage and address."""
    try:
        spaces = list(_api(endpoint, token).list_spaces())
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    for space in spaces:
        stage = space.runtime.stage if space.runtime else "?"
        typer.echo(f"{space.id:40} {stage:22} {space.sdk or '':10} {space.host}")


@app.command()
def status(space_id: SpaceId, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """Show a space's stage, revision, hardware and address (and why it failed, if it did)."""
    api = _api(endpoint, token)
    try:
        info = api.space_info(space_id)
        runtime = api.get_space_runtime(space_id)
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    fields = {
        "space": space_id,
        "stage": runtime.stage,
        "sdk": info.sdk,
        "revision": info.sha,
        "serving": runtime.raw.get("sha"),
        "hardware": runtime.requested_hardware,
        "sleep": runtime.sleep_time,
        "url": info.host,
        "message": runtime.raw.get("errorMessage"),
    }
    for key, value in fields.items():
        if value is not None:
            typer.echo(f"{key + ':':10}{value}")


@app.command()
def logs(
    space_id: SpaceId,
    build: Annotated[bool, typer.Option("--build", help="The build log instead of the app's")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines")] = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Print a space's run log (or build log), optionally following it."""
    try:
        for line in _api(endpoint, token).fetch_space_logs(space_id, build=build, follow=follow):
            typer.echo(line.rstrip("\n"))
    except HfHubHTTPError as exc:
        raise _fail(exc) from None


@app.command()
def restart(
    space_id: SpaceId,
    factory: Annotated[bool, typer.Option(help="Rebuild the environment from scratch")] = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Build and start the space's latest revision again (also un-pauses it)."""
    try:
        runtime = _api(endpoint, token).restart_space(space_id, factory_reboot=factory)
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    typer.echo(f"{space_id}: {runtime.stage}")


@app.command()
def pause(space_id: SpaceId, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None) -> None:
    """Stop the space until its owner restarts it."""
    try:
        runtime = _api(endpoint, token).pause_space(space_id)
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    typer.echo(f"{space_id}: {runtime.stage}")


@app.command()
def delete(
    space_id: SpaceId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    token: Token = None,
) -> None:
    """Delete the space, its files and its history."""
    if not yes:
        typer.confirm(f"Delete {space_id} and all its revisions?", abort=True)
    try:
        _api(endpoint, token).delete_repo(space_id, repo_type="space")
    except HfHubHTTPError as exc:
        raise _fail(exc) from None
    typer.echo(f"{space_id}: deleted")
