"""Classify an image into labels chosen at run time with the zero-shot-image-classification pipeline."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "openai/clip-vit-base-patch32")
classifier = pipeline("zero-shot-image-classification", model=MODEL_ID)  # loaded once, at start


def classify(image, labels):
    candidates = [label.strip() for label in labels.split(",") if label.strip()]
    if not candidates:
        raise gr.Error("Type at least one label, such as: shapes, a cat, a landscape")
    return {p["label"]: p["score"] for p in classifier(image, candidate_labels=candidates)}


demo = gr.Interface(
    classify,
    [gr.Image(type="pil", label="Image"), gr.Textbox("shapes, a cat, a landscape", label="Labels, comma separated")],
    gr.Label(label="Scores"),
    examples=[["examples/shapes.png", "shapes, a cat, a landscape"]],
    title="🔍 Zero-shot image classification", description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
