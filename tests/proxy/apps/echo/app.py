import tempfile
import time
from pathlib import Path

import gradio as gr


def echo(text: str) -> str:
    return f"echo: {text}"


def count(n: str):
    for i in range(int(n)):
        yield f"tick {i}"
        time.sleep(0.3)


def shout(path: str) -> str:
    out = Path(tempfile.mkdtemp()) / "shout.txt"
    out.write_text(Path(path).read_text().upper())
    return str(out)


with gr.Blocks() as demo:
    text, result = gr.Textbox(), gr.Textbox()
    gr.Button("Echo").click(echo, text, result, api_name="echo")
    gr.Button("Count").click(count, text, result, api_name="count")
    upload, download = gr.File(), gr.File()
    gr.Button("Shout").click(shout, upload, download, api_name="shout")

demo.launch()
