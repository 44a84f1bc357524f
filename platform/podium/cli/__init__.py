"""The `podium` command. Each module of this package adds its own commands to `app`."""

import typer
from podium_runner.cli.images import images_app
from podium_runner.cli.run import run

app = typer.Typer(
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
