"""The `podium` command. Each module of this package adds its own commands to `app`."""

import contextlib
from typing import Any

import httpx
import typer
from podium_runner.cli.images import images_app
from podium_runner.cli.run import run

# huggingface_hub 1 calls through httpx, huggingface_hub 2 through its fork httpx2: either says it so.
_UNREACHABLE: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout)
with contextlib.suppress(ImportError):
    import httpx2

    _UNREACHABLE += (httpx2.ConnectError, httpx2.ConnectTimeout)


class _PodiumCli(typer.Typer):
    """The command line, where a Podium that does not answer is one line saying what to check, not a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except _UNREACHABLE as exc:
            where = ""
            with contextlib.suppress(RuntimeError):  # raised when the error carries no request
                where = f" at {exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
            typer.secho(
                f"error: cannot reach Podium{where} ({exc}). Is `podium serve` running there? "
                f"Point the command at it with --endpoint or PODIUM_URL.",
                fg="red",
                err=True,
            )
            raise SystemExit(1) from None


app = _PodiumCli(
    help="Podium: run Gradio and Streamlit spaces on your own machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Podium: run Gradio and Streamlit spaces on your own machines."""
    # A callback keeps `podium run ...` a subcommand even while it is the only command registered.


# The runner's own commands: they drive a backend without the platform, so they live with it.
app.command()(run)
app.add_typer(images_app, name="images")

# Imported for their side effect of registering commands on `app`.
from podium.cli import backup, cluster, database, examples, models, serve, spaces, tokens  # noqa: E402,F401
