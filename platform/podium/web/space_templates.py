"""The hello-world spaces offered on /new: one small, working folder per SDK."""

from __future__ import annotations

from podium.repos import Change

_README = """---
title: {title}
emoji: {emoji}
colorFrom: {color_from}
colorTo: {color_to}
sdk: {sdk}
app_file: {app_file}
short_description: {description}
---

# {title}

Started from Podium's {sdk} template. Edit `{app_file}` and upload again.
"""

_GRADIO = """import gradio as gr


def greet(name: str) -> str:
    return f"Hello, {name}!"


demo = gr.Interface(fn=greet, inputs=gr.Textbox(label="Name"), outputs=gr.Textbox(label="Greeting"))

if __name__ == "__main__":
    demo.launch()
"""

_STREAMLIT = """import streamlit as st

st.title("Hello from Streamlit")
name = st.text_input("Name", "world")
st.write(f"Hello, {name}!")
"""

_STATIC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hello</title></head>
<body><h1>Hello from a static space</h1><p>Edit index.html and upload again.</p></body></html>
"""

_TEMPLATES = {
    "gradio": ("app.py", _GRADIO, "👋", "indigo", "purple", "A text box that greets you"),
    "streamlit": ("app.py", _STREAMLIT, "🎈", "red", "pink", "A Streamlit page that greets you"),
    "static": ("index.html", _STATIC, "📄", "green", "blue", "A static HTML page"),
}


def template_files(sdk: str, name: str) -> list[Change]:
    """The files of a new space started from `sdk`'s template, or a ValueError naming what exists."""
    if sdk not in _TEMPLATES:
        raise ValueError(f"there is no template for sdk {sdk!r}; templates exist for {', '.join(_TEMPLATES)}")
    app_file, source, emoji, color_from, color_to, description = _TEMPLATES[sdk]
    readme = _README.format(
        title=name,
        emoji=emoji,
        color_from=color_from,
        color_to=color_to,
        sdk=sdk,
        app_file=app_file,
        description=description,
    )
    return [Change("README.md", readme.encode()), Change(app_file, source.encode())]


TEMPLATE_SDKS = tuple(_TEMPLATES)
