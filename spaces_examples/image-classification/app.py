"""Image classification with the image-classification pipeline."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "google/vit-base-patch16-224")
classifier = pipeline("image-classification", model=MODEL_ID)  # loaded once, at start


def classify(image):
    return {p["label"]: p["score"] for p in classifier(image, top_k=5)}


demo = gr.Interface(
    classify, gr.Image(type="pil", label="Image"), gr.Label(num_top_classes=5, label="Classes"),
    examples=[["examples/shapes.png"]], title="🖼️ Image classification", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
