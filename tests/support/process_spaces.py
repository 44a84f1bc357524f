"""Space folders and a shared process-backend cache for tests of every area.

Environments and the uv cache live in one folder per machine (`PODIUM_TEST_CACHE`, default
~/.cache/podium-tests), so each Gradio or Streamlit environment is built once, not once per test or
per test run; per-run things (data, instance logs) go in a session temporary folder.
"""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path

from podium_runner.process import ProcessFolders

TEST_CACHE = Path(os.environ.get("PODIUM_TEST_CACHE", Path.home() / ".cache" / "podium-tests"))


def shared_folders(run_root: Path) -> ProcessFolders:
    """Folders that share environments and the uv cache across runs, with per-run data and logs."""
    return ProcessFolders(
        environments=TEST_CACHE / "environments",
        uv_cache=TEST_CACHE / "uv-cache",
        data=run_root / "data",
        runs=run_root / "runs",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_space(
    folder: Path,
    front_matter: str | None,
    app: str,
    *,
    app_file: str = "app.py",
    requirements: str | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A space folder: README.md with `front_matter` (None for a README without any), the app,
    requirements.txt when given, and any other `files` (relative path: text)."""
    folder.mkdir(parents=True, exist_ok=True)
    card = "" if front_matter is None else f"---\n{textwrap.dedent(front_matter).strip()}\n---\n"
    (folder / "README.md").write_text(card + "# A test space\n")
    (folder / app_file).parent.mkdir(parents=True, exist_ok=True)
    (folder / app_file).write_text(textwrap.dedent(app).lstrip())
    if requirements is not None:
        (folder / "requirements.txt").write_text(textwrap.dedent(requirements).lstrip())
    for name, text in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


GRADIO_HELLO = """
    import gradio as gr

    def greet(name: str) -> str:
        return f"Hello {name}!"

    gr.Interface(greet, "text", "text").launch()
"""

STREAMLIT_HELLO = """
    import streamlit as st

    st.title("Hello from Streamlit")
    name = st.text_input("Your name", "world")
    st.write(f"Hello {name}!")
"""

# A gradio-sdk space whose app is the standard library's HTTP server answering with REPORT as JSON
# (the prelude fills it, or misbehaves, before the server listens): it starts in a fraction of a second
# from the shared Gradio environment, so failure cases cost no build and no Gradio start-up. It listens
# where Gradio would (GRADIO_SERVER_NAME/PORT), so it also runs in containers.
STDLIB_SERVER = """
    import http.server, json, os

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(REPORT).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    REPORT = {}
    @PRELUDE@
    address = (os.environ["GRADIO_SERVER_NAME"], int(os.environ["GRADIO_SERVER_PORT"]) + @PORT_OFFSET@)
    print(f"listening on {address}", flush=True)
    http.server.ThreadingHTTPServer(address, Handler).serve_forever()
"""


def stdlib_app(prelude: str = "", port_offset: int = 0) -> str:
    """STDLIB_SERVER with `prelude` (code run before it listens, unindented) and a port shift."""
    text = textwrap.dedent(STDLIB_SERVER).replace("@PORT_OFFSET@", str(port_offset))
    return text.replace("@PRELUDE@", textwrap.dedent(prelude).strip()).lstrip()
