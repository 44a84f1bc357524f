"""Open-vocabulary detection with the zero-shot-object-detection pipeline (OWL-ViT)."""

import os

import gradio as gr
from transformers import pipeline

MODEL_ID = os.environ.get("MODEL_ID", "google/owlvit-base-patch32")
detector = pipeline("zero-shot-object-detection", model=MODEL_ID)  # loaded once, at start


def detect(image, labels, threshold):
    candidates = [label.strip() for label in labels.split(",") if label.strip()]
    if not candidates:
        raise gr.Error("Type at least one thing to look for, such as: a red square, a circle")
    found = detector(image, candidate_labels=candidates, threshold=threshold)
    boxes = [((d["box"]["xmin"], d["box"]["ymin"], d["box"]["xmax"], d["box"]["ymax"]),
              f"{d['label']} {d['score']:.2f}") for d in found]
    return image, boxes


demo = gr.Interface(
    detect,
    [gr.Image(type="pil", label="Image"), gr.Textbox("a red square, a blue circle", label="Look for"),
     gr.Slider(0.0, 1.0, value=0.1, step=0.01, label="Score threshold")],
    gr.AnnotatedImage(label="Detections"),
    examples=[["examples/shapes.png", "a red square, a blue circle", 0.1]],
    title="🎯 Zero-shot object detection", description=f"Model: `{MODEL_ID}`", api_name="predict",
)
demo.launch()
