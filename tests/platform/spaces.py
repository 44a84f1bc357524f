"""The test spaces the platform stories upload, written fresh into a folder so each story can change them."""

from __future__ import annotations

from pathlib import Path

from tests.support.process_spaces import write_space

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
    return write_space(
        folder, "title: Plain\nsdk: static", "<h1>A static space</h1>\n", app_file="index.html"
    )
