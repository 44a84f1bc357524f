"""One call of Podium's API from a CLI command, as any client makes it: the JSON answer, or the error the
API gave, in red, and exit status 1."""

from __future__ import annotations

from typing import Any

import typer
from huggingface_hub.utils import get_session


def call_api(method: str, endpoint: str, path: str, token: str | None, body: dict | None = None) -> Any:
    response = get_session().request(
        method,
        f"{endpoint.rstrip('/')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    if response.status_code != 200:
        try:
            detail = response.json().get("error", response.text)
        except ValueError:
            detail = response.text
        typer.secho(f"error: {detail}", fg="red", err=True)
        raise typer.Exit(1)
    return response.json()
