"""Object detection with the object-detection pipeline; boxes above the chosen threshold are drawn."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "hustvl/yolos-tiny")
detector = pipeline("object-detection", model=MODEL_ID)  # loaded once, at start


def detect(image, threshold):
    found = detector(image, threshold=threshold)
    boxes = [((d["box"]["xmin"], d["box"]["ymin"], d["box"]["xmax"], d["box"]["ymax"]),
              f"{d['label']} {d['score']:.2f}") for d in found]
    return image, boxes


demo = gr.Interface(
    detect,
    [gr.Image(type="pil", label="Image"), gr.Slider(0.0, 1.0, value=0.5, step=0.01, label="Score threshold")],
    gr.AnnotatedImage(label="Detections"),
    examples=[["examples/shapes.png", 0.5]], title="📦 Object detection", description=f"Model: `{MODEL_ID}`",
    api_name="predict",
)
demo.launch()
