"""Time to a first demo: from a clean clone of this repository to a pushed space answering, step by step.

Does what the README's first lines say, timing each step: `git clone`, `scripts/serve` (its set-up:
Debian packages where missing, a new `.venv` with Podium installed; then Podium starting on its
defaults), the quick start's two-file Gradio space pushed with huggingface_hub, its environment built
(a new data folder, so uv's cache is cold), its app started, and gradio_client's first answer. Prints
each step's seconds and share of the whole, so the next slow step is visible.

    .venv/bin/python -m benchmarks.first_demo        # needs ports 7860 and 7861 free; ~2-5 min
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradio_client import Client
from huggingface_hub import HfApi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.as_written import (  # noqa: E402
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

ECHO_README = "---\ntitle: Echo\nsdk: gradio\n---\n"
ECHO_APP = (
    'import gradio as gr\n\n\ndef echo(text):\n    return text\n\n\ngr.Interface(echo, "text", "text").launch()\n'
)
TIMEOUT_S = 1800


def _wait(condition, what: str, server: ServeAsWritten | None = None) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if server is not None and server.process.poll() is not None:
            sys.exit(f"scripts/serve exited while waiting for {what}:\n{server.output[-3000:]}")
        if time.monotonic() > deadline:
            sys.exit(f"no {what} within {TIMEOUT_S} s")
        time.sleep(0.1)


def _stage_times(api: HfApi, space_id: str) -> dict[str, float]:
    """When the space first reached each stage, until it runs or fails."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        stage = api.get_space_runtime(space_id).stage
        seen.setdefault(stage, time.perf_counter())
        if stage == "RUNNING":
            return seen
        if stage.endswith("ERROR"):
            sys.exit(f"{space_id} ended in {stage}: {api.get_space_runtime(space_id).raw.get('errorMessage')}")
        time.sleep(0.1)
    sys.exit(f"{space_id} did not run within {TIMEOUT_S} s (stages seen: {', '.join(seen)})")


def _print(marks: list[tuple[str, float]]) -> None:
    """Each step's seconds and share of the whole."""
    total = marks[-1][1] - marks[0][1]
    print(f"{'step (clean clone -> first demo answering)':54} {'seconds':>8} {'share':>7}")
    for (_, before), (label, at) in zip(marks, marks[1:], strict=False):
        print(f"{label:54} {at - before:8.1f} {(at - before) / total:7.1%}")
    print(f"{'total':54} {total:8.1f} {1:7.1%}")


def main() -> None:
    for port in (PAGES_PORT, SPACES_PORT):
        if port_taken(port):
            sys.exit(f"port {port} is taken; stop whatever listens there first")
    with tempfile.TemporaryDirectory(prefix="podium-first-demo-") as tmp:
        checkout = Path(tmp) / "podium"
        marks = [("start", time.perf_counter())]
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        marks.append(("git clone", time.perf_counter()))

        server = ServeAsWritten(checkout, start_serve(checkout, [], environment_without_podium_settings()))
        try:
            installed = checkout / ".venv" / ".installed-base"
            _wait(installed.exists, "installed .venv", server)
            marks.append(("scripts/serve set-up (packages, .venv, pip install)", time.perf_counter()))
            _wait(lambda: LISTENING in server.output, "Podium listening", server)
            marks.append(("podium serve starting", time.perf_counter()))

            token = re.search(r"admin token \(shown once, keep it\): (\S+)", server.output).group(1)
            api = HfApi(endpoint=f"http://127.0.0.1:{PAGES_PORT}", token=token)
            space = checkout / "echo"
            space.mkdir()
            (space / "README.md").write_text(ECHO_README)
            (space / "app.py").write_text(ECHO_APP)
            api.create_repo("me/echo", repo_type="space", space_sdk="gradio")
            api.upload_folder(repo_id="me/echo", folder_path=space, repo_type="space")
            marks.append(("push (create_repo + upload_folder)", time.perf_counter()))
            stages = _stage_times(api, "me/echo")
            started_app = stages.get("APP_STARTING", stages["RUNNING"])
            marks.append(("environment build (uv, cold cache)", started_app))
            marks.append(("app start until healthy", stages["RUNNING"]))
            answer = Client(f"http://127.0.0.1:{SPACES_PORT}/apps/me/echo/", verbose=False).predict(
                "hi", api_name="/echo"
            )
            assert answer == "hi", answer
            marks.append(("first gradio_client answer", time.perf_counter()))
            _print(marks)  # before the clean-up, which stops what the clone's Podium left running
        finally:
            server.stop()
            stop_spaces_left_running(checkout)
            shutil.rmtree(checkout, ignore_errors=True)


if __name__ == "__main__":
    main()
