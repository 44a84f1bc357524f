"""The test spaces the platform stories upload, written fresh into a folder so each story can change them,
and how a story reads back what Podium made of them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.process_spaces import stdlib_app, write_space

# A requirement no index has: a push that names it fails to build.
MISSING = "podium-no-such-package-xyz"

ECHO_APP = """
import os
import time

import gradio as gr

VERSION = "{version}"


def echo(text: str) -> str:
    return f"echo: {{text}}"


def count(n: str):
    for i in range(int(n)):
        yield f"tick {{i}}"
        time.sleep(0.2)


def about() -> str:
    # The secret's value stays in the app; the test only learns whether it arrived.
    return f"{{VERSION}} greeting={{os.environ.get('GREETING')}} secret={{'TOKEN_WORD' in os.environ}}"


def crash() -> str:
    print("crashing on request", flush=True)
    os._exit(3)


with gr.Blocks() as demo:
    text, result = gr.Textbox(), gr.Textbox()
    gr.Button("Echo").click(echo, text, result, api_name="echo")
    gr.Button("Count").click(count, text, result, api_name="count")
    gr.Button("About").click(about, None, result, api_name="about")
    gr.Button("Crash").click(crash, None, result, api_name="crash")

demo.launch()
"""


def echo_space(folder: Path, version: str = "v1", requirements: str | None = None) -> Path:
    """A Gradio space with a function, a streaming generator and one that reports its version."""
    return write_space(
        folder,
        "title: Echo\nsdk: gradio\nemoji: 🔁\ntags: [test]",
        ECHO_APP.format(version=version),
        requirements=requirements,
    )


def hello_space(folder: Path) -> Path:
    """A Streamlit space that greets whoever the query string names."""
    return write_space(
        folder,
        "title: Hello\nsdk: streamlit",
        """
        import streamlit as st

        st.title("Streamlit demo space")
        st.write(f"Hello, {st.query_params.get('name', 'world')}!")
    """,
    )


def static_space(folder: Path) -> Path:
    return write_space(folder, "title: Plain\nsdk: static", "<h1>A static space</h1>\n", app_file="index.html")


def version_space(folder: Path, version: str, requirements: str | None = None) -> Path:
    """A Gradio-sdk space whose app (the standard library's server, up in a moment from the shared Gradio
    environment) answers every GET with its version."""
    return write_space(folder, "sdk: gradio", stdlib_app(f'REPORT["version"] = "{version}"'), requirements=requirements)


def build_events(server, space_id: str) -> list[dict]:
    """A finished build's log as the SSE endpoint sends it: every event, with its timestamp."""
    text = server.http().get(f"/api/spaces/{space_id}/logs/build").text
    return [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith("data: ")]


def stage_story(runtime: dict) -> dict:
    """A space's runtime without its live figures: what it says of its stage, revision and hardware
    (`memoryBytes` changes from one read to the next)."""
    return {key: value for key, value in runtime.items() if key != "memoryBytes"}
