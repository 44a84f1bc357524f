"""Fixtures that start Podium as the README says (tests/support/as_written.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.as_written import (
    LISTENING,
    PAGES_PORT,
    ROOT,
    SPACES_PORT,
    ServeAsWritten,
    environment_without_podium_settings,
    port_taken,
    start_serve,
    stop_spaces_left_running,
)


@pytest.fixture
def serve_as_written(tmp_path: Path) -> Iterator[Callable[..., ServeAsWritten]]:
    """`serve_as_written("--examples", env={"HF_HUB_OFFLINE": "1"})` starts `scripts/serve --examples`; called
    again (once the first has stopped), it starts it again in the same folder, its output in a log of its own."""
    started: list[ServeAsWritten] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServeAsWritten:
        for port in (PAGES_PORT, SPACES_PORT):
            assert not port_taken(port), f"port {port} is taken: stop whatever listens there (another Podium?)"
        folder = tmp_path / "checkout"
        if not started:
            folder.mkdir()
            for shared in ("scripts", ".venv"):
                (folder / shared).symlink_to(ROOT / shared)
        env_of_serve = environment_without_podium_settings(**(env or {}))
        log_name = f"serve.{len(started)}.log" if started else "serve.log"
        server = ServeAsWritten(folder, start_serve(folder, list(args), env_of_serve, log_name), log_name)
        started.append(server)
        server.wait_for(LISTENING, timeout_s=180)
        return server

    yield start
    for server in started:
        server.stop()
    for folder in dict.fromkeys(server.folder for server in started):
        stop_spaces_left_running(folder)
