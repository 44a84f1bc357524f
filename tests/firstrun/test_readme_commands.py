"""A newcomer's first run, to the letter: `scripts/serve` with its defaults, then every command the
README's quick start and platform section show, in order, in one shell in the same folder."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from huggingface_hub import HfApi

from tests.support.as_written import PAGES_PORT, ServeAsWritten, readme_blocks

PLACEHOLDER_TOKEN = "hf_xxx"  # the README asks the reader to paste the token scripts/serve printed


def _as_one_script(blocks: list[tuple[str, str]], token: str) -> str:
    lines = ["set -euo pipefail"]
    for language, code in blocks:
        if language == "sh":
            lines.append(code.replace(PLACEHOLDER_TOKEN, token))
        elif language == "python":
            lines += ["python - <<'README_PYTHON'", code, "README_PYTHON"]
        else:
            raise AssertionError(f"the README marks a {language} block to run; only sh and python run here")
    return "\n".join(lines) + "\n"


def _wait_until_running(api: HfApi, space_id: str, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while (stage := api.get_space_runtime(space_id).stage) != "RUNNING" and time.monotonic() < deadline:
        time.sleep(1)
    return stage


def test_the_readme_quick_start_works_as_written(serve_as_written: Callable[..., ServeAsWritten]) -> None:
    server = serve_as_written()
    blocks = readme_blocks()
    assert [language for language, _ in blocks] == ["sh", "python", "sh"], "the README's runnable blocks moved"

    result = subprocess.run(
        ["bash", "-c", _as_one_script(blocks, server.token)],
        cwd=server.folder, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode == 0, f"a README command failed:\n{said[-6000:]}\npodium serve:\n{server.output[-4000:]}"

    # The first push built and ran the space, the second changed nothing, and gradio_client got its echo.
    assert "me/echo is running at" in said
    assert "No changes: me/echo already has these files" in said
    assert "\nhi\n" in result.stdout
    # Everything Podium wrote is in the folder it was started in, not next to its code.
    assert (server.folder / "data" / "podium.db").is_file()
    assert (server.folder / "data" / "repos").is_dir()

    # curl's upload answered with the new revision of the space huggingface_hub made, which runs.
    assert '"commitOid"' in result.stdout
    api = HfApi(endpoint=f"http://127.0.0.1:{PAGES_PORT}", token=server.token)
    assert _wait_until_running(api, "me/echo-hub") == "RUNNING"
    # It started warm: warm starts are on by default.
    run_log = (server.folder / "data" / "logs" / "me" / "echo-hub" / "run.log").read_text()
    assert "warm start from the warm starter of environment" in run_log, run_log[-3000:]
    assert "me/echo" not in {space.id for space in api.list_spaces()}  # `podium delete me/echo --yes`
