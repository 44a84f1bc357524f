"""`podium examples ...`: load the example spaces into a running Podium; write and publish their offline
stand-ins."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from podium_runner.stages import Stage

from podium.cli import app
from podium.examples import EXAMPLES_DIR, STANDINS_SCRIPT, example_specs, model_ids
from podium.examples.loader import load_examples, publish_models, wait_until_running

examples_app = typer.Typer(help="Podium's example spaces, one per transformers pipeline task.", no_args_is_help=True)
app.add_typer(examples_app, name="examples")

Folder = Annotated[Path, typer.Option(help="The spaces_examples folder")]


def _publish(api: HfApi, standins: Path, ids: list[str]) -> None:
    if not standins.is_dir():
        raise typer.BadParameter(
            f"{standins} is not a folder; write the stand-ins first: podium examples standins --out {standins} "
            "--python ENV/bin/python",
            param_hint="--standins",
        )
    try:
        publish_models(api, standins, ids)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--standins") from None
    except HfHubHTTPError as exc:
        admin_only = exc.response is not None and exc.response.status_code == 403
        typer.echo(
            f"publishing the stand-ins failed: {exc.server_message or exc}"
            + (
                "\nThey are models under their Hub owners (distilbert, google, ...), which only an admin may "
                "create: pass the admin token (the one `podium serve` printed at its first start, or one made "
                "with `podium token create NAME --admin`)."
                if admin_only
                else ""
            ),
            err=True,
        )
        raise typer.Exit(1) from None


@examples_app.command("load")
def load(
    token: Annotated[
        str,
        typer.Option(
            envvar="PODIUM_TOKEN", help="A token that may create spaces under OWNER (with --standins: an admin's)"
        ),
    ],
    url: Annotated[str, typer.Option(envvar="PODIUM_URL", help="Podium's pages and API")] = "http://127.0.0.1:7860",
    owner: Annotated[str, typer.Option(help="User or organisation to create the spaces under")] = "examples",
    only: Annotated[list[str] | None, typer.Option(help="Load only this task (repeatable)")] = None,
    standins: Annotated[
        Path | None,
        typer.Option(
            help="First publish the stand-ins in this folder (`podium examples standins --out`) as the models the "
            "examples load, under the same ids (needs an admin token, and PODIUM_LIMITS__MAX_FILE_SIZE of 100 MiB: "
            "all-MiniLM-L6-v2's real weights are 87 MiB). Leave out when Podium holds the models or caches them "
            "from PODIUM_HUB_UPSTREAM"
        ),
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for each example to be RUNNING (0: do not wait)")] = 0,
    batch: Annotated[
        int, typer.Option(help="Load this many at a time, each batch RUNNING before the next (needs --wait)")
    ] = 0,
    folder: Folder = EXAMPLES_DIR,
) -> None:
    """Create one space per example (owner/task) and upload it; optionally wait until they run."""
    specs = example_specs(folder)
    unknown = sorted(set(only or ()) - set(specs))
    if unknown:
        raise typer.BadParameter(f"no example for {', '.join(unknown)}; known: {', '.join(specs)}", param_hint="--only")
    if batch and not wait:
        raise typer.BadParameter("batches wait for each other; give --wait SECONDS too", param_hint="--batch")
    tasks = [task for task in specs if not only or task in only]
    api = HfApi(endpoint=url, token=token)
    if standins is not None:
        _publish(api, standins, model_ids({task: specs[task] for task in tasks}))
    size = batch or len(tasks)
    stages: dict[str, str] = {}
    for start in range(0, len(tasks), size):
        group = {task: specs[task] for task in tasks[start : start + size]}
        loaded = load_examples(api, group, owner=owner)
        if wait:
            stages |= wait_until_running(api, [example.space_id for example in loaded], timeout_s=wait)
    if not wait:
        return
    failed = {space_id: stage for space_id, stage in stages.items() if stage != Stage.RUNNING}
    if failed:
        for space_id, stage in failed.items():
            typer.echo(f"{space_id} is {stage}; its build and container logs: {url}/spaces/{space_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"all {len(stages)} examples are RUNNING")


@examples_app.command("standins")
def standins(
    out: Annotated[Path, typer.Option(help="Folder to write one model folder per id into (out/org/name)")],
    python: Annotated[Path, typer.Option(help="Python of an environment with the examples' requirements")],
    folder: Folder = EXAMPLES_DIR,
) -> None:
    """Write tiny random stand-ins for every model the examples name, for `podium examples load --standins`."""
    ids = model_ids(example_specs(folder))
    # The builder imports torch and transformers, which Podium itself does not depend on: it runs as a
    # script in the examples' environment, never imported here.
    result = subprocess.run([str(python), str(STANDINS_SCRIPT), "--out", str(out), *ids])
    if result.returncode:
        raise typer.Exit(result.returncode)
