"""The spaces the cluster tests run: an inspector (Gradio) that tells what its app sees from inside its
sandbox on a Ray node, and a Streamlit space for the WebSocket path."""

from __future__ import annotations

from pathlib import Path

from tests.support.process_spaces import write_space

OWNER = "clu"
STREAMLIT_APP = Path(__file__).parents[1] / "proxy" / "apps" / "hello" / "app.py"

INSPECTOR = """
import json
import os
import socket
from pathlib import Path

import gradio as gr


def inspect(targets: str) -> str:
    \"\"\"Its pid, its whole environment, and whether each host:port in `targets` (comma-separated) connects.\"\"\"
    reach = {}
    for target in filter(None, targets.split(",")):
        host, port = target.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                reach[target] = "connected"
        except OSError as exc:
            reach[target] = f"{type(exc).__name__}: {exc}"
    return json.dumps({"pid": os.getpid(), "environ": dict(os.environ), "reach": reach})


def keep(text: str) -> str:
    \"\"\"Appends `text` to /data/notes (when given) and returns the notes.\"\"\"
    notes = Path("/data/notes")
    if text:
        with notes.open("a") as out:
            out.write(text + "\\n")
    return notes.read_text() if notes.exists() else ""


def count(n: str):
    for i in range(int(n)):
        yield f"tick {i}"


with gr.Blocks() as demo:
    text, result = gr.Textbox(), gr.Textbox()
    gr.Button("Inspect").click(inspect, text, result, api_name="inspect")
    gr.Button("Count").click(count, text, result, api_name="count")
    gr.Button("Keep").click(keep, text, result, api_name="keep")

demo.launch()
"""


def inspector_space(folder: Path, hardware: str | None = None) -> Path:
    hardware_line = f"suggested_hardware: {hardware}\n" if hardware else ""
    return write_space(folder, f"title: Inspector\nsdk: gradio\n{hardware_line}", INSPECTOR)


def streamlit_space(folder: Path) -> Path:
    return write_space(folder, "title: Hello\nsdk: streamlit\napp_file: app.py", STREAMLIT_APP.read_text())
