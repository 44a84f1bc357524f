"""`podium run FOLDER`: build and run one space in the foreground, without the platform."""

from podium.cli import app


@app.command()
def run(folder: str) -> None:
    """Build and run one space folder in the foreground; Ctrl-C stops it."""
    raise NotImplementedError
