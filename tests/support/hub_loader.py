"""A Gradio app that reads the Hub as a space does, through the HF_ENDPOINT and HF_TOKEN Podium gives it: `fetch`
downloads "repo:file", `reach` answers the status of a path of HF_ENDPOINT with its own token, `variable` reads
one of its variables (tests/models on the process backend, tests/docker on the docker backend)."""

LOADER_APP = """
import os
import urllib.error
import urllib.request

import gradio as gr
from huggingface_hub import hf_hub_download


def fetch(spec: str) -> str:
    repo_id, _, filename = spec.partition(":")
    try:
        with open(hf_hub_download(repo_id, filename), encoding="utf-8") as file:
            return file.read()
    except Exception as error:
        return f"refused: {type(error).__name__}: {error}"


def reach(path: str) -> str:
    # What the door answers this app's own token at `path` of HF_ENDPOINT.
    request = urllib.request.Request(
        os.environ["HF_ENDPOINT"] + path, headers={"Authorization": "Bearer " + os.environ["HF_TOKEN"]}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(answer.status)
    except urllib.error.HTTPError as error:
        return str(error.code)


def variable(name: str) -> str:
    return os.environ.get(name, "<unset>")


with gr.Blocks() as demo:
    text = gr.Textbox()
    out = gr.Textbox()
    gr.Button("Fetch").click(fetch, text, out, api_name="fetch")
    gr.Button("Reach").click(reach, text, out, api_name="reach")
    gr.Button("Variable").click(variable, text, out, api_name="variable")

demo.launch()
"""
